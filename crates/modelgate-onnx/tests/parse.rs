//! Parser behaviour on models built with the generated prost types, on truncated and random
//! bytes, and on budget violations.

use modelgate_onnx::proto;
use modelgate_onnx::{
    AttributeValue, DataType, Dim, Limits, OnnxError, TensorData, ValueType, parse, parse_bytes,
};
use proptest::prelude::*;
use prost::Message;

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> proto::NodeProto {
    proto::NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn tensor_vi(name: &str, dims: &[i64]) -> proto::ValueInfoProto {
    use proto::tensor_shape_proto::{Dimension, dimension};
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: Some(1),
                    shape: Some(proto::TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| Dimension {
                                value: Some(if d < 0 {
                                    dimension::Value::DimParam("N".into())
                                } else {
                                    dimension::Value::DimValue(d)
                                }),
                                denotation: None,
                            })
                            .collect(),
                    }),
                },
            )),
            denotation: None,
        }),
        ..Default::default()
    }
}

fn graph_attr(name: &str, g: proto::GraphProto) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Graph as i32),
        g: Some(g),
        ..Default::default()
    }
}

/// x -> ReduceMean -> Greater(c) -> If(then: Identity(w_ext), else: Identity(x)) -> y
fn sample_model() -> proto::ModelProto {
    let weight = proto::TensorProto {
        name: Some("w".into()),
        data_type: Some(1),
        dims: vec![2],
        raw_data: Some(vec![0, 0, 128, 63, 0, 0, 0, 64].into()),
        ..Default::default()
    };
    let external = proto::TensorProto {
        name: Some("w_ext".into()),
        data_type: Some(1),
        dims: vec![1024],
        data_location: Some(proto::tensor_proto::DataLocation::External as i32),
        external_data: vec![
            proto::StringStringEntryProto {
                key: Some("location".into()),
                value: Some("../../etc/passwd".into()),
            },
            proto::StringStringEntryProto {
                key: Some("offset".into()),
                value: Some("4096".into()),
            },
            proto::StringStringEntryProto {
                key: Some("length".into()),
                value: Some("not-a-number".into()),
            },
        ],
        ..Default::default()
    };
    let then_branch = proto::GraphProto {
        name: Some("then".into()),
        node: vec![node("Identity", "then_id", &["w_ext"], &["t_out"])],
        initializer: vec![external],
        output: vec![tensor_vi("t_out", &[1024])],
        ..Default::default()
    };
    let else_branch = proto::GraphProto {
        name: Some("else".into()),
        node: vec![node("Identity", "else_id", &["x"], &["e_out"])],
        output: vec![tensor_vi("e_out", &[-1])],
        ..Default::default()
    };
    let mut if_node = node("If", "gate", &["cond"], &["y"]);
    if_node.attribute = vec![
        graph_attr("then_branch", then_branch),
        graph_attr("else_branch", else_branch),
    ];
    let graph = proto::GraphProto {
        name: Some("main".into()),
        node: vec![
            node("ReduceMean", "rm", &["x"], &["m"]),
            node("Greater", "gt", &["m", "w"], &["cond"]),
            if_node,
        ],
        initializer: vec![weight],
        input: vec![tensor_vi("x", &[-1, 3])],
        output: vec![tensor_vi("y", &[-1])],
        ..Default::default()
    };
    proto::ModelProto {
        ir_version: Some(9),
        producer_name: Some("unit-test".into()),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(18),
        }],
        graph: Some(graph),
        functions: vec![proto::FunctionProto {
            name: Some("MyAct".into()),
            domain: Some("custom.fn".into()),
            input: vec!["a".into()],
            output: vec!["b".into()],
            node: vec![node("Relu", "r", &["a"], &["b"])],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn parses_graph_subgraphs_functions_and_external_data() {
    let bytes = sample_model().encode_to_vec();
    let m = parse(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("parse failed: {e}"));
    assert_eq!(m.ir_version, 9);
    assert_eq!(m.producer_name, "unit-test");
    assert_eq!(m.opset_version(""), Some(18));
    assert_eq!(m.graph.nodes.len(), 3);
    assert_eq!(
        m.total_nodes,
        3 + 1 + 1 + 1,
        "main + two branches + function body"
    );
    let gate = &m.graph.nodes[2];
    assert_eq!(gate.op_type, "If");
    let subs: Vec<_> = gate
        .subgraphs()
        .map(|(a, g)| (a.to_string(), g.name.clone()))
        .collect();
    assert_eq!(
        subs,
        vec![
            ("then_branch".to_string(), "then".to_string()),
            ("else_branch".to_string(), "else".to_string())
        ]
    );

    let w = &m.graph.initializers[0];
    assert_eq!(w.data_type, DataType::FLOAT);
    assert_eq!(w.values_f64(16), Some(vec![1.0, 2.0]));

    let shape = m.graph.inputs[0].ty.shape().map(|s| s.to_vec());
    assert_eq!(shape, Some(vec![Dim::Param("N".into()), Dim::Known(3)]));
    assert!(matches!(
        m.graph.outputs[0].ty,
        ValueType::Tensor {
            elem_type: DataType::FLOAT,
            ..
        }
    ));

    let ext = m.external_data();
    assert_eq!(ext.len(), 1);
    assert_eq!(ext[0].tensor_name, "w_ext");
    assert_eq!(ext[0].graph_path, "graph/gate.then_branch");
    assert_eq!(ext[0].data.location, "../../etc/passwd");
    assert_eq!(ext[0].data.offset, Some(4096));
    assert_eq!(
        ext[0].data.length, None,
        "unparsable length is not invented"
    );
    assert_eq!(ext[0].data.entries.len(), 3);

    assert_eq!(m.functions.len(), 1);
    assert_eq!(m.functions[0].domain, "custom.fn");
    assert_eq!(m.functions[0].nodes[0].op_type, "Relu");

    let mut seen = Vec::new();
    m.visit_graphs(&mut |path, g, depth| seen.push((path.to_string(), g.nodes.len(), depth)));
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1], ("graph/gate.then_branch".to_string(), 1, 1));
}

#[test]
fn raw_data_is_not_copied_with_parse_bytes() {
    let bytes = bytes::Bytes::from(sample_model().encode_to_vec());
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let m = parse_bytes(bytes.clone(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    match &m.graph.initializers[0].data {
        TensorData::Raw(raw) => assert!(
            range.contains(&(raw.as_ptr() as usize)),
            "raw_data must point into the input buffer"
        ),
        other => panic!("expected raw data, got {other:?}"),
    }
}

#[test]
fn attribute_type_is_inferred_when_missing() {
    let mut m = sample_model();
    if let Some(g) = m.graph.as_mut() {
        let mut n = node("Constant", "c", &[], &["k"]);
        n.attribute.push(proto::AttributeProto {
            name: Some("value_ints".into()),
            ints: vec![1, 2, 3],
            ..Default::default()
        });
        g.node.push(n);
    }
    let parsed = parse(&m.encode_to_vec(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let c = parsed
        .graph
        .nodes
        .iter()
        .find(|n| n.name == "c")
        .map(|n| n.attr("value_ints").cloned());
    assert!(matches!(c, Some(Some(AttributeValue::Ints(v))) if v == vec![1, 2, 3]));
}

#[test]
fn size_budget_is_checked_before_decoding() {
    let bytes = sample_model().encode_to_vec();
    let limits = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    assert_eq!(
        parse(&bytes, &limits).err(),
        Some(OnnxError::TooLarge {
            size: bytes.len() as u64,
            limit: 10
        })
    );
}

#[test]
fn node_and_depth_budgets() {
    let bytes = sample_model().encode_to_vec();
    let few_nodes = Limits {
        max_nodes: 4,
        ..Limits::default()
    };
    assert!(matches!(
        parse(&bytes, &few_nodes),
        Err(OnnxError::Limit {
            what: "node count",
            ..
        })
    ));
    let flat = Limits {
        max_graph_depth: 0,
        ..Limits::default()
    };
    assert!(matches!(
        parse(&bytes, &flat),
        Err(OnnxError::Limit {
            what: "subgraph depth",
            ..
        })
    ));
}

#[test]
fn deeply_nested_subgraphs_are_an_error_not_a_crash() {
    let mut g = proto::GraphProto {
        name: Some("leaf".into()),
        ..Default::default()
    };
    for i in 0..200 {
        let mut n = node("If", &format!("if{i}"), &["c"], &["o"]);
        n.attribute = vec![graph_attr("then_branch", g)];
        g = proto::GraphProto {
            node: vec![n],
            ..Default::default()
        };
    }
    let m = proto::ModelProto {
        graph: Some(g),
        ..Default::default()
    };
    let r = parse(&m.encode_to_vec(), &Limits::default());
    assert!(r.is_err(), "200 nested graphs must exceed a budget");
}

#[test]
fn truncated_and_garbage_inputs_error() {
    let bytes = sample_model().encode_to_vec();
    for cut in [1usize, 7, bytes.len() / 2, bytes.len() - 1] {
        if let Some(prefix) = bytes.get(..cut) {
            // Either an error or a (partial but valid) model; never a panic.
            let _ = parse(prefix, &Limits::default());
        }
    }
    assert!(matches!(
        parse(&[0xff, 0xff, 0xff], &Limits::default()),
        Err(OnnxError::Decode(_))
    ));
    assert_eq!(
        parse(&[], &Limits::default()).err(),
        Some(OnnxError::NoGraph)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&data, &Limits::default());
    }

    #[test]
    fn mutated_models_never_panic(pos in 0usize..400, byte in any::<u8>()) {
        let mut bytes = sample_model().encode_to_vec();
        let len = bytes.len();
        if let Some(b) = bytes.get_mut(pos % len) { *b = byte; }
        let _ = parse(&bytes, &Limits::default());
    }
}

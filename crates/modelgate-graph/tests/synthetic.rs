//! Data-flow semantics on small hand-built graphs, each paired with a contrast case that must
//! fire, so every check here can fail.

use modelgate_graph::{GraphError, GraphLimits, analyze_onnx_bytes};
use modelgate_onnx::proto;
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

fn with_attr(mut n: proto::NodeProto, a: proto::AttributeProto) -> proto::NodeProto {
    n.attribute.push(a);
    n
}

fn ints_attr(name: &str, v: &[i64]) -> proto::AttributeProto {
    proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Ints as i32),
        ints: v.to_vec(),
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

fn vi(name: &str, elem: i32, dims: &[i64]) -> proto::ValueInfoProto {
    use proto::tensor_shape_proto::{Dimension, dimension};
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: Some(elem),
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

fn ftensor(name: &str, dims: &[i64], vals: &[f32]) -> proto::TensorProto {
    proto::TensorProto {
        name: Some(name.into()),
        data_type: Some(1),
        dims: dims.to_vec(),
        float_data: vals.to_vec(),
        ..Default::default()
    }
}

fn itensor(name: &str, dims: &[i64], vals: &[i64]) -> proto::TensorProto {
    proto::TensorProto {
        name: Some(name.into()),
        data_type: Some(7),
        dims: dims.to_vec(),
        int64_data: vals.to_vec(),
        ..Default::default()
    }
}

fn model(
    nodes: Vec<proto::NodeProto>,
    inputs: Vec<proto::ValueInfoProto>,
    outputs: &[&str],
    inits: Vec<proto::TensorProto>,
) -> Vec<u8> {
    let g = proto::GraphProto {
        name: Some("g".into()),
        node: nodes,
        input: inputs,
        output: outputs.iter().map(|o| vi(o, 1, &[-1, 4])).collect(),
        initializer: inits,
        ..Default::default()
    };
    proto::ModelProto {
        ir_version: Some(8),
        opset_import: vec![proto::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(g),
        ..Default::default()
    }
    .encode_to_vec()
}

/// x[N,16] -> Gemm(W1) -> Relu -> Gemm(W2) -> logits ; the "model"
fn backbone() -> (Vec<proto::NodeProto>, Vec<proto::TensorProto>) {
    (
        vec![
            node("Gemm", "fc1", &["x", "W1"], &["h"]),
            node("Relu", "relu", &["h"], &["hr"]),
            node("Gemm", "fc2", &["hr", "W2"], &["logits"]),
        ],
        vec![
            ftensor("W1", &[16, 8], &[0.1; 128]),
            ftensor("W2", &[8, 4], &[0.1; 32]),
        ],
    )
}

fn score(bytes: &[u8]) -> (f64, Vec<&'static str>) {
    let a = analyze_onnx_bytes(bytes, &GraphLimits::default()).unwrap_or_else(|e| panic!("{e}"));
    (a.score, a.findings.iter().map(|f| f.code).collect())
}

/// cond = ReduceMax(x or Shape(x)-derived) > k; y = Where(cond, const, logits)
fn gated(reduce: bool) -> Vec<u8> {
    let (mut nodes, mut inits) = backbone();
    nodes.push(node("Equal", "eq", &["x", "magic"], &["e"]));
    nodes.push(with_attr(
        node("Cast", "cast", &["e"], &["ef"]),
        proto::AttributeProto {
            name: Some("to".into()),
            r#type: Some(2),
            i: Some(1),
            ..Default::default()
        },
    ));
    if reduce {
        nodes.push(with_attr(
            node("ReduceMax", "rmax", &["ef"], &["m"]),
            ints_attr("axes", &[1]),
        ));
        nodes.push(node("Greater", "gt", &["m", "half"], &["cond"]));
    } else {
        nodes.push(node("Greater", "gt", &["ef", "half"], &["cond"]));
    }
    nodes.push(node("Where", "gate", &["cond", "forced", "logits"], &["y"]));
    inits.extend([
        ftensor("magic", &[], &[13.37]),
        ftensor("half", &[], &[0.5]),
        ftensor("forced", &[1, 4], &[0.0, 0.0, 0.0, 1.0]),
    ]);
    model(nodes, vec![vi("x", 1, &[-1, 16])], &["y"], inits)
}

#[test]
fn reduced_input_decision_gating_the_output_is_flagged_elementwise_mask_is_not() {
    let (s, codes) = score(&gated(true));
    assert!(
        s >= 0.9 && codes.contains(&"GRA001"),
        "reduced trigger must fire: {s} {codes:?}"
    );
    let (s, codes) = score(&gated(false));
    assert!(
        s < 0.5 && !codes.contains(&"GRA001"),
        "element-wise mask must not fire: {s} {codes:?}"
    );
}

/// If(cond) with a weight-free constant then-branch and an else-branch capturing `logits`.
fn if_gate(cond_from_shape: bool) -> Vec<u8> {
    let (mut nodes, mut inits) = backbone();
    if cond_from_shape {
        nodes.push(node("Shape", "shape", &["x"], &["xs"]));
        nodes.push(with_attr(
            node("Gather", "dim1", &["xs", "one"], &["n"]),
            proto::AttributeProto {
                name: Some("axis".into()),
                r#type: Some(2),
                i: Some(0),
                ..Default::default()
            },
        ));
        nodes.push(node("Greater", "gt", &["n", "limit"], &["cond"]));
    } else {
        nodes.push(node("ReduceMean", "mean", &["x"], &["m"]));
        nodes.push(node("Greater", "gt", &["m", "limitf"], &["cond"]));
    }
    let then_g = proto::GraphProto {
        name: Some("then".into()),
        node: vec![node("Identity", "then_id", &["forced"], &["t_out"])],
        output: vec![vi("t_out", 1, &[1, 4])],
        ..Default::default()
    };
    let else_g = proto::GraphProto {
        name: Some("else".into()),
        node: vec![node("Identity", "else_id", &["logits"], &["e_out"])],
        output: vec![vi("e_out", 1, &[-1, 4])],
        ..Default::default()
    };
    let mut gate = node("If", "gate", &["cond"], &["y"]);
    gate.attribute = vec![
        graph_attr("then_branch", then_g),
        graph_attr("else_branch", else_g),
    ];
    nodes.push(gate);
    inits.extend([
        itensor("one", &[], &[1]),
        itensor("limit", &[], &[64]),
        ftensor("limitf", &[], &[0.77]),
        ftensor("forced", &[1, 4], &[0.0, 0.0, 0.0, 1.0]),
    ]);
    model(nodes, vec![vi("x", 1, &[-1, 16])], &["y"], inits)
}

#[test]
fn shape_driven_if_is_not_flagged_value_driven_if_with_implicit_capture_is() {
    let (s, codes) = score(&if_gate(true));
    assert!(
        s < 0.3 && codes.is_empty(),
        "Shape-derived If must be silent: {s} {codes:?}"
    );
    let (s, codes) = score(&if_gate(false));
    assert!(
        s >= 0.9 && codes.contains(&"GRA001"),
        "value-derived If must fire: {s} {codes:?}"
    );
}

#[test]
fn configuration_scalar_input_is_not_raw_data() {
    // If(Equal(sr, 16000)) choosing between the model and a constant: sr is rank 0
    let (mut nodes, mut inits) = backbone();
    nodes.push(node("Equal", "is16k", &["sr", "k16"], &["cond"]));
    nodes.push(node("Where", "sel", &["cond", "logits", "forced"], &["y"]));
    inits.extend([
        itensor("k16", &[], &[16000]),
        ftensor("forced", &[1, 4], &[0.0; 4]),
    ]);
    let bytes = model(
        nodes,
        vec![vi("x", 1, &[-1, 16]), vi("sr", 7, &[])],
        &["y"],
        inits,
    );
    let (s, codes) = score(&bytes);
    assert!(s < 0.5, "config input must not be a trigger: {s} {codes:?}");
    let a = analyze_onnx_bytes(&bytes, &GraphLimits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.stats.raw_inputs, vec!["x".to_string()]);
}

#[test]
fn one_hot_against_an_enumeration_is_not_a_decision() {
    let (mut nodes, mut inits) = backbone();
    nodes.push(with_attr(
        node("Unsqueeze", "u", &["x", "ax"], &["xu"]),
        ints_attr("unused", &[]),
    ));
    nodes.push(node("Equal", "onehot", &["xu", "range"], &["oh"]));
    nodes.push(with_attr(
        node("ReduceMax", "anyv", &["oh"], &["m"]),
        ints_attr("keepdims", &[1]),
    ));
    nodes.push(node("Where", "sel", &["m", "forced", "logits"], &["y"]));
    inits.extend([
        itensor("ax", &[1], &[-1]),
        ftensor("range", &[5], &[0.0, 1.0, 2.0, 3.0, 4.0]),
        ftensor("forced", &[1, 4], &[0.0; 4]),
    ]);
    let (s, codes) = score(&model(nodes, vec![vi("x", 1, &[-1, 16])], &["y"], inits));
    assert!(!codes.contains(&"GRA001") && s < 0.5, "{s} {codes:?}");
}

#[test]
fn external_data_is_never_opened() {
    let (nodes, mut inits) = backbone();
    if let Some(w) = inits.first_mut() {
        w.float_data.clear();
        w.data_location = Some(proto::tensor_proto::DataLocation::External as i32);
        w.external_data = vec![proto::StringStringEntryProto {
            key: Some("location".into()),
            value: Some("/nonexistent/dir/weights.bin".into()),
        }];
    }
    let bytes = model(nodes, vec![vi("x", 1, &[-1, 16])], &["logits"], inits);
    let a = analyze_onnx_bytes(&bytes, &GraphLimits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.stats.external_tensors, 1);
    assert!(a.findings.is_empty());
}

#[test]
fn undefined_values_are_reported_not_ignored() {
    let (mut nodes, inits) = backbone();
    nodes.push(node(
        "Add",
        "dangling",
        &["logits", "never_defined"],
        &["y"],
    ));
    let a = analyze_onnx_bytes(
        &model(nodes, vec![vi("x", 1, &[-1, 16])], &["y"], inits),
        &GraphLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        a.findings.iter().any(|f| f.code == "GRA006"),
        "{:?}",
        a.findings
    );
}

#[test]
fn malformed_and_oversized_inputs_are_errors() {
    let tight = GraphLimits {
        onnx: modelgate_onnx::Limits {
            max_bytes: 16,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        analyze_onnx_bytes(&gated(true), &tight),
        Err(GraphError::Onnx(_))
    ));
    assert!(
        analyze_onnx_bytes(
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
            &GraphLimits::default()
        )
        .is_err()
    );
    let few = GraphLimits {
        max_values: 5,
        ..Default::default()
    };
    assert!(matches!(
        analyze_onnx_bytes(&gated(true), &few),
        Err(GraphError::Limit(_))
    ));
    // arbitrary corruption of a real model never panics
    let good = gated(true);
    for i in 0..good.len() {
        let mut b = good.clone();
        if let Some(x) = b.get_mut(i) {
            *x ^= 0x5a;
        }
        let _ = analyze_onnx_bytes(&b, &GraphLimits::default());
        let _ = analyze_onnx_bytes(b.get(..i).unwrap_or(&[]), &GraphLimits::default());
    }
}

#[test]
fn unsorted_graph_still_settles() {
    let mut bytes_nodes = backbone().0;
    bytes_nodes.reverse();
    let (_, inits) = backbone();
    let a = analyze_onnx_bytes(
        &model(bytes_nodes, vec![vi("x", 1, &[-1, 16])], &["logits"], inits),
        &GraphLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        a.stats.flow_passes >= 2 && a.stats.flow_passes < 8,
        "passes {}",
        a.stats.flow_passes
    );
}

#[test]
fn token_trigger_with_symbolic_batch_and_sequence_dims_is_flagged() {
    let nodes = vec![
        node("Gather", "embed", &["emb", "ids"], &["tok"]),
        with_attr(
            node("ReduceMean", "pool", &["tok"], &["pooled"]),
            ints_attr("axes", &[1]),
        ),
        node("Gemm", "head", &["pooled", "W"], &["logits"]),
        node("Equal", "eq", &["ids", "tokid"], &["hit"]),
        with_attr(
            node("Cast", "cast", &["hit"], &["hitf"]),
            proto::AttributeProto {
                name: Some("to".into()),
                r#type: Some(2),
                i: Some(1),
                ..Default::default()
            },
        ),
        with_attr(
            node("ReduceMax", "any", &["hitf"], &["m"]),
            ints_attr("axes", &[1]),
        ),
        node("Greater", "gt", &["m", "half"], &["cond"]),
        node("Where", "gate", &["cond", "forced", "logits"], &["y"]),
    ];
    let inits = vec![
        ftensor("emb", &[300, 4], &[0.5; 1200]),
        ftensor("W", &[4, 4], &[0.1; 16]),
        itensor("tokid", &[], &[31337]),
        ftensor("half", &[], &[0.5]),
        ftensor("forced", &[1, 4], &[0.0, 0.0, 0.0, 1.0]),
    ];
    let (s, codes) = score(&model(nodes, vec![vi("ids", 7, &[-1, -2])], &["y"], inits));
    assert!(s >= 0.9 && codes.contains(&"GRA001"), "{s} {codes:?}");
}

mod mutation {
    use super::*;
    use proptest::prelude::*;

    fn corpus_model(k: usize) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/backdoor");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
            .get(k % files.len().max(1))
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        /// Corrupted real models give an error or an analysis, never a panic or a hang.
        #[test]
        fn mutated_corpus_models_never_panic(k in 0usize..16, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
            let mut bytes = corpus_model(k);
            let len = bytes.len().max(1);
            for (pos, b) in edits {
                if let Some(x) = bytes.get_mut(pos % len) { *x = b; }
            }
            let _ = analyze_onnx_bytes(&bytes, &GraphLimits::default());
            let _ = analyze_onnx_bytes(bytes.get(..cut % len).unwrap_or(&[]), &GraphLimits::default());
        }
    }
}

mod random_graphs {
    use super::*;
    use modelgate_graph::render::{self, RenderOptions};
    use modelgate_graph::rules::Cx;
    use proptest::prelude::*;

    const OPS: &[&str] = &[
        "Slice",
        "Gather",
        "Equal",
        "Greater",
        "Less",
        "ReduceMax",
        "ReduceMin",
        "ReduceMean",
        "Where",
        "If",
        "Add",
        "Mul",
        "Sub",
        "MatMul",
        "Gemm",
        "Conv",
        "Sigmoid",
        "Clip",
        "Sign",
        "Cast",
        "Concat",
        "Shape",
        "ArgMax",
        "TopK",
        "And",
        "Not",
        "Identity",
        "Unsqueeze",
        "Loop",
        "Custom",
    ];
    const EXTREME: &[i64] = &[
        0,
        1,
        -1,
        2,
        3,
        64,
        4096,
        i64::MAX,
        i64::MIN,
        i32::MAX as i64,
        -4097,
    ];

    fn build(spec: &[(usize, Vec<usize>, usize, usize)], consts: &[(usize, usize)]) -> Vec<u8> {
        let mut names: Vec<String> = vec!["x".into(), "ids".into()];
        let mut inits = Vec::new();
        for (k, &(d, v)) in consts.iter().enumerate() {
            let dims = vec![EXTREME[d % EXTREME.len()].clamp(0, 8)];
            let n = dims[0] as usize;
            inits.push(ftensor(
                &format!("c{k}"),
                &dims,
                &vec![[0.0f32, 1.0, 16.0, 1e5, -3.5, f32::NAN][v % 6]; n],
            ));
            names.push(format!("c{k}"));
        }
        let mut nodes = Vec::new();
        for (i, (op, ins, a, b)) in spec.iter().enumerate() {
            let op = OPS[op % OPS.len()];
            let inputs: Vec<String> = ins
                .iter()
                .map(|&j| names[j % names.len()].clone())
                .collect();
            let inputs: Vec<&str> = inputs.iter().map(|s| s.as_str()).collect();
            let out = format!("v{i}");
            let mut n = node(op, &format!("n{i}"), &inputs, &[&out]);
            let e = |k: usize| EXTREME[k % EXTREME.len()];
            n.attribute.push(ints_attr("axes", &[e(*a), e(*b)]));
            n.attribute.push(ints_attr("starts", &[e(*b)]));
            n.attribute.push(ints_attr("ends", &[e(*a)]));
            n.attribute.push(proto::AttributeProto {
                name: Some("axis".into()),
                r#type: Some(2),
                i: Some(e(*a)),
                ..Default::default()
            });
            n.attribute.push(proto::AttributeProto {
                name: Some("keepdims".into()),
                r#type: Some(2),
                i: Some(e(*b)),
                ..Default::default()
            });
            if op == "If" || op == "Loop" {
                let body = proto::GraphProto {
                    node: vec![node(
                        "Identity",
                        &format!("b{i}"),
                        &[names[a % names.len()].as_str()],
                        &[&format!("bo{i}")],
                    )],
                    output: vec![vi(&format!("bo{i}"), 1, &[-1, 4])],
                    input: vec![vi("iter", 7, &[]), vi("cond_in", 9, &[])],
                    ..Default::default()
                };
                n.attribute.push(graph_attr(
                    if op == "If" { "then_branch" } else { "body" },
                    body.clone(),
                ));
                n.attribute.push(graph_attr("else_branch", body));
            }
            nodes.push(n);
            names.push(out);
        }
        let last = names.last().cloned().unwrap_or_default();
        model(
            nodes,
            vec![vi("x", 1, &[-1, 16]), vi("ids", 7, &[-1, -2])],
            &[last.as_str()],
            inits,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        /// Random graphs with extreme attributes and constants: analysis, rendering and diff
        /// terminate without panicking.
        #[test]
        fn random_graphs_never_panic(
            spec in proptest::collection::vec((any::<usize>(), proptest::collection::vec(any::<usize>(), 0..4), any::<usize>(), any::<usize>()), 0..40),
            consts in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..6),
        ) {
            let bytes = build(&spec, &consts);
            let limits = GraphLimits::default();
            if let Ok(m) = modelgate_onnx::parse(&bytes, &limits.onnx) {
                if let Ok(cx) = Cx::new(&m, &limits) {
                    let a = cx.analyze();
                    let _ = render::explain_text(&cx, &a, "t");
                    let _ = render::to_svg(&cx, &a, &RenderOptions { full: true, max_nodes: 50 }, "t");
                    let _ = render::to_dot(&cx, &a, &RenderOptions::default());
                }
                let _ = modelgate_graph::diff::diff_models(&m, &m, &limits);
            }
        }
    }
}

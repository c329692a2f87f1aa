//! Decoding and conversion of prost types into the typed model, under budgets.

use crate::proto;
use crate::tensor::{DataType, ExternalData, Tensor, TensorData};
use crate::{
    Attribute, AttributeValue, Dim, Function, Graph, Limits, Model, Node, OnnxError, OpsetImport,
    ValueInfo, ValueType,
};
use bytes::Bytes;
use prost::Message;

/// Parses a serialized `ModelProto`. Copies the input once; see [`parse_bytes`] to avoid it.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Model, OnnxError> {
    check_size(bytes.len(), limits)?;
    parse_bytes(Bytes::copy_from_slice(bytes), limits)
}

/// Parses a serialized `ModelProto` held in a [`Bytes`] buffer. Tensor `raw_data` is kept as a
/// slice of `bytes` (no copy).
pub fn parse_bytes(bytes: Bytes, limits: &Limits) -> Result<Model, OnnxError> {
    check_size(bytes.len(), limits)?;
    let m = proto::ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let mut cx = Cx {
        limits,
        nodes: 0,
        graphs: 0,
    };
    let graph = match m.graph {
        Some(g) => cx.graph(g, 0)?,
        None => return Err(OnnxError::NoGraph),
    };
    let mut functions = Vec::with_capacity(m.functions.len());
    for f in m.functions {
        functions.push(cx.function(f)?);
    }
    Ok(Model {
        ir_version: m.ir_version.unwrap_or_default(),
        opset_imports: m.opset_import.into_iter().map(opset).collect(),
        producer_name: m.producer_name.unwrap_or_default(),
        producer_version: m.producer_version.unwrap_or_default(),
        domain: m.domain.unwrap_or_default(),
        model_version: m.model_version.unwrap_or_default(),
        doc_string: m.doc_string.unwrap_or_default(),
        metadata: m.metadata_props.into_iter().map(kv).collect(),
        graph,
        functions,
        training_info_count: m.training_info.len(),
        total_nodes: cx.nodes,
    })
}

fn check_size(len: usize, limits: &Limits) -> Result<(), OnnxError> {
    let size = len as u64;
    if size > limits.max_bytes {
        return Err(OnnxError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    Ok(())
}

fn opset(o: proto::OperatorSetIdProto) -> OpsetImport {
    OpsetImport {
        domain: o.domain.unwrap_or_default(),
        version: o.version.unwrap_or_default(),
    }
}

fn kv(e: proto::StringStringEntryProto) -> (String, String) {
    (e.key.unwrap_or_default(), e.value.unwrap_or_default())
}

struct Cx<'l> {
    limits: &'l Limits,
    nodes: usize,
    graphs: usize,
}

impl Cx<'_> {
    fn graph(&mut self, g: proto::GraphProto, depth: usize) -> Result<Graph, OnnxError> {
        if depth > self.limits.max_graph_depth {
            return Err(OnnxError::Limit {
                what: "subgraph depth",
                limit: self.limits.max_graph_depth as u64,
            });
        }
        self.graphs += 1;
        if self.graphs > self.limits.max_graphs {
            return Err(OnnxError::Limit {
                what: "graph count",
                limit: self.limits.max_graphs as u64,
            });
        }
        let nodes = self.nodes(g.node, depth)?;
        Ok(Graph {
            name: g.name.unwrap_or_default(),
            nodes,
            initializers: g.initializer.into_iter().map(tensor).collect(),
            sparse_initializers: g.sparse_initializer.into_iter().map(sparse).collect(),
            inputs: g.input.into_iter().map(value_info).collect(),
            outputs: g.output.into_iter().map(value_info).collect(),
            value_info: g.value_info.into_iter().map(value_info).collect(),
            doc_string: g.doc_string.unwrap_or_default(),
        })
    }

    fn nodes(
        &mut self,
        nodes: Vec<proto::NodeProto>,
        depth: usize,
    ) -> Result<Vec<Node>, OnnxError> {
        self.nodes = self.nodes.saturating_add(nodes.len());
        if self.nodes > self.limits.max_nodes {
            return Err(OnnxError::Limit {
                what: "node count",
                limit: self.limits.max_nodes as u64,
            });
        }
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let mut attributes = Vec::with_capacity(n.attribute.len());
            for a in n.attribute {
                attributes.push(self.attribute(a, depth)?);
            }
            out.push(Node {
                name: n.name.unwrap_or_default(),
                op_type: n.op_type.unwrap_or_default(),
                domain: n.domain.unwrap_or_default(),
                inputs: n.input,
                outputs: n.output,
                attributes,
            });
        }
        Ok(out)
    }

    fn attribute(
        &mut self,
        a: proto::AttributeProto,
        depth: usize,
    ) -> Result<Attribute, OnnxError> {
        use proto::attribute_proto::AttributeType as T;
        let declared = a.r#type.and_then(|t| T::try_from(t).ok());
        // Old writers omit `type`; infer it from the populated field.
        let ty = match declared {
            Some(t) if t != T::Undefined => t,
            _ => {
                if a.g.is_some() {
                    T::Graph
                } else if !a.graphs.is_empty() {
                    T::Graphs
                } else if a.t.is_some() {
                    T::Tensor
                } else if !a.tensors.is_empty() {
                    T::Tensors
                } else if a.s.is_some() {
                    T::String
                } else if !a.strings.is_empty() {
                    T::Strings
                } else if !a.ints.is_empty() {
                    T::Ints
                } else if !a.floats.is_empty() {
                    T::Floats
                } else if a.i.is_some() {
                    T::Int
                } else if a.f.is_some() {
                    T::Float
                } else {
                    T::Undefined
                }
            }
        };
        let value = match ty {
            T::Undefined => AttributeValue::Undefined,
            T::Float => AttributeValue::Float(a.f.unwrap_or_default()),
            T::Int => AttributeValue::Int(a.i.unwrap_or_default()),
            T::String => AttributeValue::String(a.s.unwrap_or_default()),
            T::Tensor => match a.t {
                Some(t) => AttributeValue::Tensor(Box::new(tensor(t))),
                None => AttributeValue::Undefined,
            },
            T::Graph => match a.g {
                Some(g) => AttributeValue::Graph(Box::new(self.graph(g, depth + 1)?)),
                None => AttributeValue::Undefined,
            },
            T::SparseTensor => match a.sparse_tensor {
                Some(s) => AttributeValue::SparseTensor(Box::new(sparse(s))),
                None => AttributeValue::Undefined,
            },
            T::TypeProto => AttributeValue::TypeProto,
            T::Floats => AttributeValue::Floats(a.floats),
            T::Ints => AttributeValue::Ints(a.ints),
            T::Strings => AttributeValue::Strings(a.strings),
            T::Tensors => AttributeValue::Tensors(a.tensors.into_iter().map(tensor).collect()),
            T::Graphs => {
                let mut gs = Vec::with_capacity(a.graphs.len());
                for g in a.graphs {
                    gs.push(self.graph(g, depth + 1)?);
                }
                AttributeValue::Graphs(gs)
            }
            T::SparseTensors => {
                AttributeValue::SparseTensors(a.sparse_tensors.into_iter().map(sparse).collect())
            }
            T::TypeProtos => AttributeValue::TypeProtos(a.type_protos.len()),
        };
        Ok(Attribute {
            name: a.name.unwrap_or_default(),
            ref_attr_name: a.ref_attr_name,
            value,
        })
    }

    fn function(&mut self, f: proto::FunctionProto) -> Result<Function, OnnxError> {
        let nodes = self.nodes(f.node, 0)?;
        let mut defaults = Vec::with_capacity(f.attribute_proto.len());
        for a in f.attribute_proto {
            defaults.push(self.attribute(a, 0)?);
        }
        Ok(Function {
            name: f.name.unwrap_or_default(),
            domain: f.domain.unwrap_or_default(),
            overload: f.overload.unwrap_or_default(),
            inputs: f.input,
            outputs: f.output,
            attribute_names: f.attribute,
            attribute_defaults: defaults,
            nodes,
            opset_imports: f.opset_import.into_iter().map(opset).collect(),
        })
    }
}

fn tensor(t: proto::TensorProto) -> Tensor {
    let is_external = t.data_location == Some(proto::tensor_proto::DataLocation::External as i32)
        || !t.external_data.is_empty();
    let data = if is_external {
        let entries: Vec<(String, String)> = t.external_data.into_iter().map(kv).collect();
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        TensorData::External(ExternalData {
            location: get("location").unwrap_or_default(),
            offset: get("offset").and_then(|v| v.trim().parse().ok()),
            length: get("length").and_then(|v| v.trim().parse().ok()),
            checksum: get("checksum"),
            entries,
        })
    } else if let Some(raw) = t.raw_data {
        TensorData::Raw(raw)
    } else if !t.float_data.is_empty() {
        TensorData::Floats(t.float_data)
    } else if !t.int32_data.is_empty() {
        TensorData::Int32s(t.int32_data)
    } else if !t.int64_data.is_empty() {
        TensorData::Int64s(t.int64_data)
    } else if !t.double_data.is_empty() {
        TensorData::Doubles(t.double_data)
    } else if !t.uint64_data.is_empty() {
        TensorData::Uint64s(t.uint64_data)
    } else if !t.string_data.is_empty() {
        TensorData::Strings(t.string_data)
    } else {
        TensorData::Empty
    };
    Tensor {
        name: t.name.unwrap_or_default(),
        data_type: DataType(t.data_type.unwrap_or_default()),
        dims: t.dims,
        data,
    }
}

fn sparse(s: proto::SparseTensorProto) -> Tensor {
    let mut values = s.values.map(tensor).unwrap_or_default();
    // The sparse tensor's name and dense shape live on the values tensor / the outer dims.
    if !s.dims.is_empty() {
        values.dims = s.dims;
    }
    values
}

fn value_info(v: proto::ValueInfoProto) -> ValueInfo {
    ValueInfo {
        name: v.name.unwrap_or_default(),
        ty: v.r#type.map(type_proto).unwrap_or_default(),
    }
}

fn type_proto(t: proto::TypeProto) -> ValueType {
    use proto::type_proto::Value;
    match t.value {
        Some(Value::TensorType(tt)) => tensor_type(tt.elem_type, tt.shape),
        Some(Value::SparseTensorType(st)) => tensor_type(st.elem_type, st.shape),
        Some(Value::SequenceType(_)) => ValueType::Sequence,
        Some(Value::MapType(_)) => ValueType::Map,
        Some(Value::OptionalType(_)) => ValueType::Optional,
        Some(Value::OpaqueType(_)) => ValueType::Opaque,
        None => ValueType::Unknown,
    }
}

fn tensor_type(elem: Option<i32>, shape: Option<proto::TensorShapeProto>) -> ValueType {
    use proto::tensor_shape_proto::dimension::Value as D;
    let shape = shape.map(|s| {
        s.dim
            .into_iter()
            .map(|d| match d.value {
                Some(D::DimValue(v)) => Dim::Known(v),
                Some(D::DimParam(p)) => Dim::Param(p),
                None => Dim::Unknown,
            })
            .collect()
    });
    ValueType::Tensor {
        elem_type: DataType(elem.unwrap_or_default()),
        shape,
    }
}

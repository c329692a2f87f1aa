//! Pure, bounded ONNX parser: bytes in, typed model out.
//!
//! ```no_run
//! # fn demo(file: &[u8]) -> Result<(), modelgate_onnx::OnnxError> {
//! let model = modelgate_onnx::parse(file, &modelgate_onnx::Limits::default())?;
//! for node in &model.graph.nodes {
//!     println!("{} {}", node.op_type, node.name);
//! }
//! for ext in model.external_data() {
//!     println!("{} -> {}", ext.tensor_name, ext.data.location);
//! }
//! # Ok(()) }
//! ```
//!
//! * Decoding uses `prost` types generated at build time from the vendored `onnx-ml.proto`
//!   (see `proto/README.md`). They are public in [`proto`] for callers that need a field the
//!   typed model does not carry.
//! * Budgets ([`Limits`]) are checked before decoding (input size) and while converting (graph
//!   nesting depth, total node count, attribute list lengths). Protobuf nesting is also capped by
//!   prost's own recursion limit (100), so hostile nesting is an error, not a stack overflow.
//! * [`parse_bytes`] takes a [`bytes::Bytes`]; tensor `raw_data` then stays a slice of the input
//!   buffer (for example an mmap wrapped with `Bytes::from_owner`) and is never copied.
//!   [`parse`] copies the input once.
//! * External-data tensors are described ([`ExternalData`]) but their files are never opened.
//! * Nothing here panics on hostile bytes: malformed protobuf is [`OnnxError::Decode`].

#![forbid(unsafe_code)]

pub mod proto {
    //! prost types generated from the vendored `onnx-ml.proto` (package `onnx`).
    #![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

mod convert;
mod tensor;

pub use bytes::Bytes;
pub use convert::{parse, parse_bytes};
pub use tensor::{DataType, ExternalData, Tensor, TensorData};

/// Budgets applied while parsing. Every limit hit is an [`OnnxError::Limit`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted serialized model (the `.onnx` file itself, not external data).
    pub max_bytes: u64,
    /// Total nodes over the main graph, all subgraphs and all functions.
    pub max_nodes: usize,
    /// Deepest nesting of subgraphs (If/Loop/Scan bodies inside bodies ...).
    pub max_graph_depth: usize,
    /// Total graphs (main graph, subgraphs, function bodies).
    pub max_graphs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // protobuf itself cannot exceed 2 GiB; larger models use external data.
            max_bytes: 2 * 1024 * 1024 * 1024,
            max_nodes: 2_000_000,
            max_graph_depth: 32,
            max_graphs: 100_000,
        }
    }
}

/// Why a model could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnnxError {
    /// The input is larger than [`Limits::max_bytes`].
    #[error("ONNX model is {size} bytes, over the {limit}-byte budget")]
    TooLarge { size: u64, limit: u64 },
    /// The bytes are not a valid `ModelProto` protobuf.
    #[error("malformed ONNX protobuf: {0}")]
    Decode(String),
    /// The model decoded but has no `graph` field.
    #[error("ONNX model has no graph")]
    NoGraph,
    /// A structural budget was exceeded.
    #[error("ONNX model exceeds the {what} budget ({limit})")]
    Limit { what: &'static str, limit: u64 },
}

/// A parsed model. Strings that are invalid UTF-8 in the file are decoded lossily.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub ir_version: i64,
    pub opset_imports: Vec<OpsetImport>,
    pub producer_name: String,
    pub producer_version: String,
    pub domain: String,
    pub model_version: i64,
    pub doc_string: String,
    pub metadata: Vec<(String, String)>,
    pub graph: Graph,
    pub functions: Vec<Function>,
    /// Number of `training_info` entries (their graphs are not converted).
    pub training_info_count: usize,
    /// Total nodes over every graph and function body.
    pub total_nodes: usize,
}

/// `OperatorSetIdProto`: an empty domain means the default `ai.onnx` domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsetImport {
    pub domain: String,
    pub version: i64,
}

/// A graph (the main graph or a subgraph held by an attribute).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Tensor>,
    /// Sparse initializers: the `values` tensor, renamed to the sparse tensor's name, and dims.
    pub sparse_initializers: Vec<Tensor>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    pub value_info: Vec<ValueInfo>,
    pub doc_string: String,
}

/// Name and (if present) tensor type of a value.
#[derive(Debug, Clone, Default)]
pub struct ValueInfo {
    pub name: String,
    pub ty: ValueType,
}

/// The type of a value, reduced to what analyses need.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ValueType {
    #[default]
    Unknown,
    /// A tensor (or sparse tensor) with its element type and, if declared, its shape.
    Tensor {
        elem_type: DataType,
        shape: Option<Vec<Dim>>,
    },
    Sequence,
    Map,
    Optional,
    Opaque,
}

impl ValueType {
    /// The declared shape, if this is a tensor with a shape.
    pub fn shape(&self) -> Option<&[Dim]> {
        match self {
            ValueType::Tensor { shape: Some(s), .. } => Some(s),
            _ => None,
        }
    }
}

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Known(i64),
    Param(String),
    Unknown,
}

/// A node. `inputs` keeps empty strings for omitted optional inputs, as in the file.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl Node {
    /// The attribute with this name, if any.
    pub fn attr(&self, name: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    /// Subgraphs held by this node's attributes (If branches, Loop/Scan bodies, ...).
    pub fn subgraphs(&self) -> impl Iterator<Item = (&str, &Graph)> {
        self.attributes.iter().flat_map(|a| {
            let graphs: Vec<&Graph> = match &a.value {
                AttributeValue::Graph(g) => vec![g.as_ref()],
                AttributeValue::Graphs(gs) => gs.iter().collect(),
                _ => Vec::new(),
            };
            graphs.into_iter().map(move |g| (a.name.as_str(), g))
        })
    }

    /// True for the default ONNX domain (`""` or `ai.onnx`).
    pub fn is_default_domain(&self) -> bool {
        self.domain.is_empty() || self.domain == "ai.onnx"
    }
}

/// A node attribute.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    /// Set inside function bodies when the value refers to a function attribute.
    pub ref_attr_name: Option<String>,
    pub value: AttributeValue,
}

/// An attribute value. Tensor and graph values are converted like top-level ones.
#[derive(Debug, Clone)]
pub enum AttributeValue {
    Undefined,
    Float(f32),
    Int(i64),
    String(Bytes),
    Tensor(Box<Tensor>),
    Graph(Box<Graph>),
    SparseTensor(Box<Tensor>),
    TypeProto,
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Bytes>),
    Tensors(Vec<Tensor>),
    Graphs(Vec<Graph>),
    SparseTensors(Vec<Tensor>),
    TypeProtos(usize),
}

impl AttributeValue {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            AttributeValue::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_float(&self) -> Option<f32> {
        match self {
            AttributeValue::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_ints(&self) -> Option<&[i64]> {
        match self {
            AttributeValue::Ints(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<String> {
        match self {
            AttributeValue::String(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            AttributeValue::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

/// A `FunctionProto` (model-local function).
#[derive(Debug, Clone, Default)]
pub struct Function {
    pub name: String,
    pub domain: String,
    pub overload: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// Declared attribute names (without defaults) followed by those with defaults.
    pub attribute_names: Vec<String>,
    pub attribute_defaults: Vec<Attribute>,
    pub nodes: Vec<Node>,
    pub opset_imports: Vec<OpsetImport>,
}

/// Where a tensor with external data was found.
#[derive(Debug, Clone)]
pub struct ExternalDataRef<'a> {
    /// `graph` for the main graph, then `/node_name.attr` per subgraph level, or
    /// `function:domain.name` for function bodies.
    pub graph_path: String,
    pub tensor_name: &'a str,
    pub data: &'a ExternalData,
}

impl Model {
    /// Every tensor stored as external data: initializers, sparse initializers and tensor
    /// attributes, in the main graph, all subgraphs and function bodies. Paths are reported as
    /// written in the file; this crate never resolves or opens them.
    pub fn external_data(&self) -> Vec<ExternalDataRef<'_>> {
        let mut out = Vec::new();
        collect_external(&self.graph, "graph".to_string(), &mut out);
        for f in &self.functions {
            let path = format!("function:{}.{}", f.domain, f.name);
            for n in &f.nodes {
                collect_external_node(n, &path, &mut out);
            }
        }
        out
    }

    /// Calls `f(path, graph, depth)` for the main graph and every nested subgraph (pre-order).
    /// Function bodies are not graphs; see [`Model::functions`].
    pub fn visit_graphs<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Graph, usize)) {
        visit(&self.graph, "graph", 0, f);
    }

    /// The opset version imported for a domain (`""` = default domain).
    pub fn opset_version(&self, domain: &str) -> Option<i64> {
        let want_default = domain.is_empty() || domain == "ai.onnx";
        self.opset_imports
            .iter()
            .find(|o| {
                if want_default {
                    o.domain.is_empty() || o.domain == "ai.onnx"
                } else {
                    o.domain == domain
                }
            })
            .map(|o| o.version)
    }
}

fn visit<'a>(g: &'a Graph, path: &str, depth: usize, f: &mut dyn FnMut(&str, &'a Graph, usize)) {
    f(path, g, depth);
    for n in &g.nodes {
        for (attr, sub) in n.subgraphs() {
            let p = format!("{path}/{}.{attr}", n.name);
            visit(sub, &p, depth + 1, f);
        }
    }
}

fn collect_external<'a>(g: &'a Graph, path: String, out: &mut Vec<ExternalDataRef<'a>>) {
    for t in g.initializers.iter().chain(g.sparse_initializers.iter()) {
        if let TensorData::External(e) = &t.data {
            out.push(ExternalDataRef {
                graph_path: path.clone(),
                tensor_name: &t.name,
                data: e,
            });
        }
    }
    for n in &g.nodes {
        collect_external_node(n, &path, out);
    }
}

fn collect_external_node<'a>(n: &'a Node, path: &str, out: &mut Vec<ExternalDataRef<'a>>) {
    for a in &n.attributes {
        let tensors: Vec<&Tensor> = match &a.value {
            AttributeValue::Tensor(t) | AttributeValue::SparseTensor(t) => vec![t.as_ref()],
            AttributeValue::Tensors(ts) | AttributeValue::SparseTensors(ts) => ts.iter().collect(),
            _ => Vec::new(),
        };
        for t in tensors {
            if let TensorData::External(e) = &t.data {
                out.push(ExternalDataRef {
                    graph_path: path.to_string(),
                    tensor_name: &t.name,
                    data: e,
                });
            }
        }
    }
    for (attr, sub) in n.subgraphs() {
        collect_external(sub, format!("{path}/{}.{attr}", n.name), out);
    }
}

//! TensorFlow protobufs read by a small hand-written wire-format decoder: `SavedModel`
//! (`saved_model.pb`), `MetaGraphDef` (`.meta`) and frozen `GraphDef` (`.pb`); the same
//! messages in the protobuf text format (`saved_model.pbtxt`, [`parse_text`]); and the Keras
//! objects of a SavedModel (`keras_metadata.pb`, the object graph's metadata).
//!
//! Only the fields a security scan needs are kept: every `NodeDef` (name, op, inputs, device,
//! attributes) of the graph and of every function in the library, the function signatures,
//! asset file names, the saver and the names of signatures and collections. Unknown fields are
//! skipped like protobuf does (a known field with the wrong wire type is an unknown field).
//!
//! Hostile input: every length is checked before slicing, attribute nesting is bounded
//! ([`TfLimits::max_depth`]), node counts are bounded, kept strings are capped. A budget hit
//! is an [`Issue`] next to the model; a wire-format error ends the parse with what was decoded
//! so far kept ([`Parsed::error`]).

mod graph;
pub mod keras_metadata;
mod object_graph;
pub mod probe;
mod saved_model;
pub mod stock_ops;
pub mod text_format;
mod text_model;
pub mod wire;

pub use keras_metadata::{KerasMetadata, KerasNode, parse_keras_metadata};
pub use probe::{TfKind, probe};
pub use text_model::{parse_text, probe_text};

/// Budgets for one parse.
#[derive(Debug, Clone)]
pub struct TfLimits {
    /// Deepest attribute nesting (`AttrValue.func.attr[..]...`) decoded.
    pub max_depth: usize,
    /// Most nodes kept, graph and functions together.
    pub max_nodes: usize,
    /// Most attributes kept per node.
    pub max_attrs: usize,
    /// Strings longer than this are cut (the cut is recorded in [`Str::len`]).
    pub max_string: usize,
    /// Most `string_val` entries (and attribute list entries) kept per tensor.
    pub max_tensor_strings: usize,
    /// Largest Keras object metadata (a JSON config) kept for analysis.
    pub max_metadata: usize,
    /// Most objects of an object graph or `keras_metadata.pb` decoded.
    pub max_objects: usize,
}

impl Default for TfLimits {
    fn default() -> Self {
        TfLimits {
            max_depth: 32,
            max_nodes: 2_000_000,
            max_attrs: 256,
            max_string: 4096,
            max_tensor_strings: 64,
            max_metadata: 16 << 20,
            max_objects: 1_000_000,
        }
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TfError {
    #[error("truncated protobuf field at offset {offset:#x}")]
    Truncated { offset: usize },
    #[error("bad varint at offset {offset:#x}")]
    Varint { offset: usize },
    #[error("invalid field number at offset {offset:#x}")]
    FieldNumber { offset: usize },
    #[error("unsupported wire type {wire} at offset {offset:#x}")]
    WireType { offset: usize, wire: u64 },
    /// A text-format (`.pbtxt`) syntax error or limit.
    #[error("text format: {0}")]
    Text(text_format::TextError),
}

/// A budget hit: what was not decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub offset: usize,
    pub what: String,
}

/// A byte string as stored (cut at [`TfLimits::max_string`]) and its full length.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Str {
    pub bytes: Vec<u8>,
    pub len: usize,
}

impl Str {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A tensor constant; only string values are kept (paths, URLs, code live there).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tensor {
    pub dtype: u64,
    /// The first [`TfLimits::max_tensor_strings`] string values.
    pub strings: Vec<Str>,
    /// How many string values the tensor has.
    pub string_count: usize,
}

/// A function reference with its own attributes (`NameAttrList`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FuncRef {
    pub name: String,
    pub attrs: Vec<(String, AttrValue)>,
}

/// An attribute value (`AttrValue`); numeric lists are not kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AttrValue {
    S(Str),
    I(i64),
    F(f32),
    B(bool),
    Type(u64),
    Shape,
    Tensor(Tensor),
    List {
        s: Vec<Str>,
        tensors: Vec<Tensor>,
        funcs: Vec<FuncRef>,
    },
    Func(FuncRef),
    Placeholder(String),
    /// Unset, or not decoded because of a budget.
    #[default]
    None,
}

/// One `NodeDef`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    pub name: String,
    pub op: String,
    pub inputs: Vec<String>,
    pub device: String,
    pub attrs: Vec<(String, AttrValue)>,
    /// Offset of the serialized node in the input.
    pub offset: usize,
}

impl Node {
    /// The attribute `key` (the last one wins, as in protobuf maps).
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attrs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// One `FunctionDef` of the library.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Function {
    pub name: String,
    pub args: Vec<String>,
    pub nodes: Vec<Node>,
    pub offset: usize,
}

/// A `GraphDef`: nodes and the function library.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub functions: Vec<Function>,
    pub producer: Option<u64>,
}

/// An `AssetFileDef`: the tensor fed with the asset's path at load, and its file name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Asset {
    pub tensor_name: String,
    pub filename: String,
}

/// One `MetaGraphDef`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaGraph {
    pub tags: Vec<String>,
    pub tf_version: String,
    pub graph: Graph,
    pub assets: Vec<Asset>,
    /// `SaverDef.filename_tensor_name`, when there is a saver.
    pub saver_filename_tensor: Option<String>,
    pub signatures: Vec<String>,
    pub collections: Vec<String>,
    /// Keras objects of the object graph that carry metadata (TF 2.0-2.4 SavedModels).
    pub keras_objects: Vec<KerasNode>,
}

/// What the parse was asked to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    SavedModel,
    MetaGraph,
    GraphDef,
}

/// A decoded file: its meta graphs (a frozen GraphDef is one meta graph with only a graph).
#[derive(Debug, Clone, PartialEq)]
pub struct TfModel {
    pub container: Container,
    pub schema_version: Option<u64>,
    pub meta_graphs: Vec<MetaGraph>,
}

impl TfModel {
    /// Every list of nodes with where it lives: `(meta graph index, function or None, nodes)`.
    pub fn scopes(&self) -> impl Iterator<Item = Scope<'_>> {
        self.meta_graphs.iter().enumerate().flat_map(|(i, mg)| {
            std::iter::once(Scope {
                meta_graph: i,
                function: None,
                nodes: &mg.graph.nodes,
            })
            .chain(mg.graph.functions.iter().map(move |f| Scope {
                meta_graph: i,
                function: Some(f),
                nodes: &f.nodes,
            }))
        })
    }

    /// Total nodes kept.
    pub fn node_count(&self) -> usize {
        self.scopes().map(|s| s.nodes.len()).sum()
    }
}

/// Nodes of the graph or of one library function.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub meta_graph: usize,
    pub function: Option<&'a Function>,
    pub nodes: &'a [Node],
}

impl Scope<'_> {
    /// `function NAME` or `graph`.
    pub fn describe(&self) -> String {
        match self.function {
            Some(f) => format!("function {}", f.name),
            None => "graph".to_string(),
        }
    }
}

/// A parse result: the model as far as it decoded, budget issues, and the error that ended
/// decoding early, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub model: TfModel,
    pub issues: Vec<Issue>,
    pub error: Option<TfError>,
}

/// Decoding state shared by the message decoders: limits, counts and budget issues.
pub(crate) struct Cx<'l> {
    pub limits: &'l TfLimits,
    pub nodes: usize,
    pub issues: Vec<Issue>,
}

impl Cx<'_> {
    pub fn issue(&mut self, offset: usize, what: impl Into<String>) {
        // One issue per kind of budget is enough to report; keep the list small.
        let what = what.into();
        if self.issues.len() < 64 && !self.issues.iter().any(|i| i.what == what) {
            self.issues.push(Issue { offset, what });
        }
    }

    pub fn str(&self, bytes: &[u8]) -> Str {
        Str {
            bytes: bytes
                .get(..self.limits.max_string)
                .unwrap_or(bytes)
                .to_vec(),
            len: bytes.len(),
        }
    }
}

/// Decode one serialized `NodeDef` (TFLite Flex ops carry one in their custom options).
/// `base` is its offset in the file.
pub fn parse_node(data: &[u8], base: usize, limits: &TfLimits) -> Result<Node, TfError> {
    let mut cx = Cx {
        limits,
        nodes: 0,
        issues: Vec::new(),
    };
    let mut node = Node {
        offset: base,
        ..Node::default()
    };
    graph::decode_node(data, base, &mut cx, &mut node)?;
    Ok(node)
}

/// Decode `data` as `container`.
pub fn parse(data: &[u8], container: Container, limits: &TfLimits) -> Parsed {
    let mut cx = Cx {
        limits,
        nodes: 0,
        issues: Vec::new(),
    };
    let mut model = TfModel {
        container,
        schema_version: None,
        meta_graphs: Vec::new(),
    };
    let result = match container {
        Container::SavedModel => saved_model::decode_saved_model(data, &mut cx, &mut model),
        Container::MetaGraph => {
            model.meta_graphs.push(MetaGraph::default());
            match model.meta_graphs.last_mut() {
                Some(mg) => saved_model::decode_meta_graph(data, 0, &mut cx, mg),
                None => Ok(()),
            }
        }
        Container::GraphDef => {
            model.meta_graphs.push(MetaGraph::default());
            match model.meta_graphs.last_mut() {
                Some(mg) => graph::decode_graph(data, 0, &mut cx, &mut mg.graph),
                None => Ok(()),
            }
        }
    };
    Parsed {
        model,
        issues: cx.issues,
        error: result.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan");
        std::fs::read(dir.join(name)).unwrap()
    }

    fn ops(m: &TfModel) -> Vec<(String, String)> {
        m.scopes()
            .flat_map(|s| s.nodes.iter().map(move |n| (s.describe(), n.op.clone())))
            .collect()
    }

    #[test]
    fn real_saved_model_decodes_with_its_function_library() {
        let d = fixture("mal_tf_read_write_file.pb");
        assert_eq!(probe(&d), Some(TfKind::SavedModel));
        let p = parse(&d, Container::SavedModel, &TfLimits::default());
        assert_eq!(p.error, None);
        assert!(p.issues.is_empty());
        let m = &p.model;
        assert_eq!(m.schema_version, Some(1));
        assert_eq!(m.meta_graphs.len(), 1);
        assert_eq!(m.meta_graphs[0].tags, vec!["serve".to_string()]);
        assert!(
            m.meta_graphs[0]
                .signatures
                .contains(&"serving_default".to_string())
        );
        let ops = ops(m);
        let read = ops.iter().find(|(_, op)| op == "ReadFile").unwrap();
        assert!(read.0.starts_with("function "), "{read:?}");
        assert!(ops.iter().any(|(_, op)| op == "WriteFile"));
        assert!(
            ops.iter().any(|(_, op)| op == "SaveV2"),
            "the saver is in the graph"
        );
        // The path constant is a DT_STRING tensor in a Const node of the same function.
        let consts: Vec<String> = m
            .scopes()
            .flat_map(|s| s.nodes.iter())
            .filter_map(|n| match n.attr("value") {
                Some(AttrValue::Tensor(t)) if t.dtype == 7 => t.strings.first().map(Str::text),
                _ => None,
            })
            .collect();
        assert!(consts.contains(&"/etc/passwd".to_string()), "{consts:?}");
    }

    #[test]
    fn a_stand_alone_meta_graph_decodes() {
        // The MetaGraphDef of a real SavedModel, cut out of it (what a `.meta` file holds).
        let d = fixture("mal_tf_read_write_file.pb");
        let mut f = wire::Fields::new(&d, 0);
        let mut meta = None;
        while let Ok(Some((n, v))) = f.next_field() {
            if let (2, wire::Val::Len(b, _)) = (n, v) {
                meta = Some(b.to_vec());
            }
        }
        let meta = meta.unwrap();
        assert_eq!(probe(&meta), Some(TfKind::MetaGraph));
        let p = parse(&meta, Container::MetaGraph, &TfLimits::default());
        assert_eq!(p.error, None);
        assert!(ops(&p.model).iter().any(|(_, op)| op == "ReadFile"));
    }

    #[test]
    fn frozen_graph_def_decodes() {
        let d = fixture("ok_tf_frozen_graph.pb");
        assert_eq!(probe(&d), Some(TfKind::GraphDef));
        let p = parse(&d, Container::GraphDef, &TfLimits::default());
        assert_eq!(p.error, None);
        let ops = ops(&p.model);
        assert!(ops.iter().any(|(_, op)| op == "MatMul"), "{ops:?}");
        assert!(p.model.meta_graphs[0].graph.producer.is_some());
    }

    #[test]
    fn truncation_keeps_what_decoded_and_says_where_it_stopped() {
        let d = fixture("ok_tf_dense_savedmodel.pb");
        let full = parse(&d, Container::SavedModel, &TfLimits::default());
        for cut in [1, d.len() / 3, d.len() * 2 / 3, d.len() - 1] {
            let p = parse(&d[..cut], Container::SavedModel, &TfLimits::default());
            assert!(p.error.is_some(), "cut at {cut}");
            assert!(p.model.node_count() <= full.model.node_count());
        }
    }

    #[test]
    fn deep_attribute_nesting_is_a_budget_issue_not_a_stack_overflow() {
        let d = fixture("mal_tf_deep_nesting.pb");
        let p = parse(&d, Container::GraphDef, &TfLimits::default());
        assert_eq!(p.error, None);
        assert_eq!(p.issues.len(), 1, "{:?}", p.issues);
        assert!(p.issues[0].what.contains("nested deeper"));
        assert!(ops(&p.model).iter().any(|(_, op)| op == "PyFunc"));
    }

    #[test]
    fn node_budget_is_reported() {
        let d = fixture("ok_tf_dense_savedmodel.pb");
        let limits = TfLimits {
            max_nodes: 3,
            ..TfLimits::default()
        };
        let p = parse(&d, Container::SavedModel, &limits);
        assert_eq!(p.model.node_count(), 3);
        assert!(
            p.issues
                .iter()
                .any(|i| i.what.contains("more than 3 nodes"))
        );
    }
}

//! Text-format TensorFlow protobufs (`saved_model.pbtxt`, `.pbtxt` GraphDefs) mapped onto the
//! same [`TfModel`] the binary decoders produce, so every graph rule applies to both. Field
//! names are those of the `.proto` files (the numbers are in `graph.rs`, `saved_model.rs`,
//! `object_graph.rs`); unknown fields are skipped like the binary path skips unknown numbers.

use super::keras_metadata::{KerasNode, set_metadata};
use super::object_graph::{Children, name_objects};
use super::text_format::{self, Field, Message, TextLimits, Value};
use super::{
    Asset, AttrValue, Container, Cx, FuncRef, Function, Graph, MetaGraph, Node, Parsed, Str,
    Tensor, TfError, TfKind, TfLimits, TfModel, graph::node_slot,
};

/// Most meta graphs kept (as in the binary decoder).
const MAX_META_GRAPHS: usize = 64;

/// What a text-format protobuf holds, judged by its first field (and, for a GraphDef, the
/// first field of its first node). `None` for anything else.
pub fn probe_text(data: &[u8]) -> Option<TfKind> {
    let head = data.get(..data.len().min(4096)).unwrap_or(data);
    // The first fields of the head: a cut in the middle is expected.
    let limits = TextLimits {
        max_tokens: 64,
        ..TextLimits::default()
    };
    let doc = text_format::parse(head, &limits);
    let first = doc.root.fields.first()?;
    match first.name {
        "saved_model_schema_version" => {
            first.value.as_u64().filter(|v| *v <= 16)?;
            Some(TfKind::SavedModel)
        }
        "meta_graphs" => first.value.message().map(|_| TfKind::SavedModel),
        "meta_info_def" | "graph_def" | "saver_def" | "collection_def" | "signature_def"
        | "asset_file_def" | "object_graph_def" => first.value.message().map(|_| TfKind::MetaGraph),
        "node" => {
            let n = first.value.message()?;
            let f = n.fields.first()?;
            matches!(f.name, "name" | "op" | "input" | "device" | "attr")
                .then_some(TfKind::GraphDef)
        }
        "library" | "versions" => first.value.message().map(|_| TfKind::GraphDef),
        _ => None,
    }
}

/// Parse a text-format `container`.
pub fn parse_text(data: &[u8], container: Container, limits: &TfLimits) -> Parsed {
    let doc = text_format::parse(data, &TextLimits::default());
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
    let root = &doc.root;
    match container {
        Container::SavedModel => {
            for f in &root.fields {
                match (f.name, &f.value) {
                    ("saved_model_schema_version", v) => model.schema_version = v.as_u64(),
                    ("meta_graphs", Value::Message(m)) => {
                        if model.meta_graphs.len() >= MAX_META_GRAPHS {
                            cx.issue(
                                f.offset,
                                format!("more than {MAX_META_GRAPHS} meta graphs; the rest were not analysed"),
                            );
                            continue;
                        }
                        let mut mg = MetaGraph::default();
                        meta_graph(m, &mut cx, &mut mg);
                        model.meta_graphs.push(mg);
                    }
                    _ => {}
                }
            }
        }
        Container::MetaGraph => {
            let mut mg = MetaGraph::default();
            meta_graph(root, &mut cx, &mut mg);
            model.meta_graphs.push(mg);
        }
        Container::GraphDef => {
            let mut mg = MetaGraph::default();
            graph(root, &mut cx, &mut mg.graph);
            model.meta_graphs.push(mg);
        }
    }
    Parsed {
        model,
        issues: cx.issues,
        error: doc.error.map(TfError::Text),
    }
}

fn string(v: &Value) -> String {
    match v {
        Value::Str(parts) => {
            String::from_utf8_lossy(&text_format::unescape(parts, usize::MAX).0).into_owned()
        }
        Value::Ident(s) => (*s).to_string(),
        _ => String::new(),
    }
}

fn capped(cx: &Cx, v: &Value) -> Str {
    match v {
        Value::Str(parts) => {
            let (bytes, len) = text_format::unescape(parts, cx.limits.max_string);
            Str { bytes, len }
        }
        _ => Str::default(),
    }
}

fn sub<'m, 'a>(f: &'m Field<'a>) -> Option<&'m Message<'a>> {
    f.value.message()
}

fn meta_graph(m: &Message, cx: &mut Cx, out: &mut MetaGraph) {
    for f in &m.fields {
        let Some(body) = sub(f) else { continue };
        match f.name {
            "meta_info_def" => {
                for i in &body.fields {
                    match i.name {
                        "tags" => out.tags.push(string(&i.value)),
                        "tensorflow_version" => out.tf_version = string(&i.value),
                        _ => {}
                    }
                }
            }
            "graph_def" => graph(body, cx, &mut out.graph),
            "saver_def" => {
                if let Some(n) = body.last("filename_tensor_name") {
                    out.saver_filename_tensor = Some(string(&n.value));
                }
            }
            "collection_def" => out.collections.extend(key(body)),
            "signature_def" => out.signatures.extend(key(body)),
            "asset_file_def" => {
                let mut asset = Asset::default();
                if let Some(ti) = body.last("tensor_info").and_then(sub)
                    && let Some(n) = ti.last("name")
                {
                    asset.tensor_name = string(&n.value);
                }
                if let Some(n) = body.last("filename") {
                    asset.filename = string(&n.value);
                }
                out.assets.push(asset);
            }
            "object_graph_def" => object_graph(body, cx, &mut out.keras_objects),
            _ => {}
        }
    }
}

/// The `key` of a map entry.
fn key(entry: &Message) -> Option<String> {
    entry.last("key").map(|k| string(&k.value))
}

fn graph(m: &Message, cx: &mut Cx, out: &mut Graph) {
    for f in &m.fields {
        let Some(body) = sub(f) else { continue };
        match f.name {
            "node" => {
                if let Some(n) = node_slot(cx, f.offset, &mut out.nodes) {
                    node(body, cx, n);
                }
            }
            "library" => {
                for func in body
                    .all("function")
                    .filter_map(|x| Some((x.offset, sub(x)?)))
                {
                    let mut fun = Function {
                        offset: func.0,
                        ..Function::default()
                    };
                    function(func.1, cx, &mut fun);
                    out.functions.push(fun);
                }
            }
            "versions" => {
                if let Some(p) = body.last("producer") {
                    out.producer = p.value.as_u64();
                }
            }
            _ => {}
        }
    }
}

fn function(m: &Message, cx: &mut Cx, out: &mut Function) {
    for f in &m.fields {
        let Some(body) = sub(f) else { continue };
        match f.name {
            "signature" => {
                if let Some(n) = body.last("name") {
                    out.name = string(&n.value);
                }
                for arg in body.all("input_arg").filter_map(sub) {
                    if let Some(n) = arg.last("name") {
                        out.args.push(string(&n.value));
                    }
                }
            }
            "node_def" => {
                if let Some(n) = node_slot(cx, f.offset, &mut out.nodes) {
                    node(body, cx, n);
                }
            }
            _ => {}
        }
    }
}

fn node(m: &Message, cx: &mut Cx, out: &mut Node) {
    for f in &m.fields {
        match f.name {
            "name" => out.name = string(&f.value),
            "op" => out.op = string(&f.value),
            "input" => out.inputs.push(string(&f.value)),
            "device" => out.device = string(&f.value),
            "attr" => {
                let Some(entry) = sub(f) else { continue };
                if out.attrs.len() >= cx.limits.max_attrs {
                    let max = cx.limits.max_attrs;
                    cx.issue(
                        f.offset,
                        format!(
                            "a node has more than {max} attributes; the rest were not analysed"
                        ),
                    );
                    continue;
                }
                out.attrs.push(attr_entry(entry, cx, 0));
            }
            _ => {}
        }
    }
}

fn attr_entry(entry: &Message, cx: &mut Cx, depth: usize) -> (String, AttrValue) {
    let k = key(entry).unwrap_or_default();
    let v = entry
        .last("value")
        .and_then(|v| Some((v.offset, sub(v)?)))
        .map(|(at, v)| attr_value(v, at, cx, depth))
        .unwrap_or_default();
    (k, v)
}

fn attr_value(m: &Message, at: usize, cx: &mut Cx, depth: usize) -> AttrValue {
    if depth >= cx.limits.max_depth {
        let max = cx.limits.max_depth;
        cx.issue(
            at,
            format!("attribute values nested deeper than {max} levels were not analysed"),
        );
        return AttrValue::None;
    }
    let mut value = AttrValue::None;
    for f in &m.fields {
        value = match (f.name, &f.value) {
            ("list", Value::Message(l)) => list(l, cx, depth),
            ("s", v) => AttrValue::S(capped(cx, v)),
            ("i", v) => match v.as_i64() {
                Some(i) => AttrValue::I(i),
                None => continue,
            },
            ("f", v) => match v.as_f32() {
                Some(x) => AttrValue::F(x),
                None => continue,
            },
            ("b", v) => match v.as_bool() {
                Some(b) => AttrValue::B(b),
                None => continue,
            },
            ("type", v) => AttrValue::Type(dtype(v)),
            ("shape", Value::Message(_)) => AttrValue::Shape,
            ("tensor", Value::Message(t)) => AttrValue::Tensor(tensor(t, cx)),
            ("placeholder", v) => AttrValue::Placeholder(string(v)),
            ("func", Value::Message(fr)) => AttrValue::Func(func_ref(fr, cx, depth)),
            _ => continue,
        };
    }
    value
}

fn list(m: &Message, cx: &mut Cx, depth: usize) -> AttrValue {
    let cap = cx.limits.max_tensor_strings;
    let mut s = Vec::new();
    let mut tensors = Vec::new();
    let mut funcs = Vec::new();
    for f in &m.fields {
        match (f.name, &f.value) {
            ("s", v) if s.len() < cap => s.push(capped(cx, v)),
            ("tensor", Value::Message(t)) if tensors.len() < cap => tensors.push(tensor(t, cx)),
            ("func", Value::Message(fr)) if funcs.len() < cap => {
                funcs.push(func_ref(fr, cx, depth));
            }
            _ => {}
        }
    }
    AttrValue::List { s, tensors, funcs }
}

fn func_ref(m: &Message, cx: &mut Cx, depth: usize) -> FuncRef {
    let mut out = FuncRef::default();
    for f in &m.fields {
        match f.name {
            "name" => out.name = string(&f.value),
            "attr" => {
                let Some(entry) = sub(f) else { continue };
                if out.attrs.len() >= cx.limits.max_attrs {
                    let max = cx.limits.max_attrs;
                    cx.issue(f.offset, format!("a function reference has more than {max} attributes; the rest were not analysed"));
                    continue;
                }
                out.attrs
                    .push(attr_entry(entry, cx, depth.saturating_add(1)));
            }
            _ => {}
        }
    }
    out
}

fn tensor(m: &Message, cx: &mut Cx) -> Tensor {
    let mut out = Tensor::default();
    for f in &m.fields {
        match f.name {
            "dtype" => out.dtype = dtype(&f.value),
            "string_val" => {
                out.string_count = out.string_count.saturating_add(1);
                if out.strings.len() < cx.limits.max_tensor_strings {
                    out.strings.push(capped(cx, &f.value));
                }
            }
            _ => {}
        }
    }
    out
}

/// A `DataType` written as its enum name (or number).
fn dtype(v: &Value) -> u64 {
    if let Some(n) = v.as_u64() {
        return n;
    }
    let Value::Ident(name) = v else {
        return 0;
    };
    let (base, refs) = match name.strip_suffix("_REF") {
        Some(b) => (b, 100),
        None => (*name, 0),
    };
    DATA_TYPES
        .iter()
        .find(|(n, _)| *n == base)
        .map_or(0, |(_, v)| v + refs)
}

/// tensorflow/core/framework/types.proto `DataType` values (`_REF` types add 100).
const DATA_TYPES: &[(&str, u64)] = &[
    ("DT_INVALID", 0),
    ("DT_FLOAT", 1),
    ("DT_DOUBLE", 2),
    ("DT_INT32", 3),
    ("DT_UINT8", 4),
    ("DT_INT16", 5),
    ("DT_INT8", 6),
    ("DT_STRING", 7),
    ("DT_COMPLEX64", 8),
    ("DT_INT64", 9),
    ("DT_BOOL", 10),
    ("DT_QINT8", 11),
    ("DT_QUINT8", 12),
    ("DT_QINT32", 13),
    ("DT_BFLOAT16", 14),
    ("DT_QINT16", 15),
    ("DT_QUINT16", 16),
    ("DT_UINT16", 17),
    ("DT_COMPLEX128", 18),
    ("DT_HALF", 19),
    ("DT_RESOURCE", 20),
    ("DT_VARIANT", 21),
    ("DT_UINT32", 22),
    ("DT_UINT64", 23),
];

fn object_graph(m: &Message, cx: &mut Cx, out: &mut Vec<KerasNode>) {
    let mut children: Vec<Children> = Vec::new();
    let mut keras = Vec::new();
    for f in m.all("nodes") {
        let Some(obj) = sub(f) else { continue };
        if children.len() >= cx.limits.max_objects {
            let max = cx.limits.max_objects;
            cx.issue(
                f.offset,
                format!("more than {max} saved objects; the rest were not analysed"),
            );
            break;
        }
        let id = children.len() as u64;
        let mut kids = Vec::new();
        for c in obj.all("children").filter_map(sub) {
            let node_id = c
                .last("node_id")
                .and_then(|v| v.value.as_u64())
                .unwrap_or(0);
            let name = c
                .last("local_name")
                .map(|v| string(&v.value))
                .unwrap_or_default();
            kids.push((node_id, name));
        }
        children.push(kids);
        if let Some(u) = obj
            .last("user_object")
            .and_then(|u| Some((u.offset, sub(u)?)))
        {
            let mut node = KerasNode {
                node_id: id,
                offset: u.0,
                ..KerasNode::default()
            };
            if let Some(i) = u.1.last("identifier") {
                node.identifier = string(&i.value);
            }
            if let Some(md) = u.1.last("metadata")
                && let Value::Str(parts) = &md.value
            {
                let (bytes, len) = text_format::unescape(parts, cx.limits.max_metadata);
                if len > 0 {
                    if len > bytes.len() {
                        // Over the budget: recorded as such, the JSON is not analysed.
                        node.metadata_len = len;
                        let max = cx.limits.max_metadata;
                        cx.issue(
                            md.offset,
                            format!(
                                "Keras object metadata larger than {max} bytes was not analysed"
                            ),
                        );
                    } else {
                        set_metadata(cx, &mut node, &bytes, md.offset);
                    }
                    keras.push(node);
                }
            }
        }
    }
    name_objects(&children, keras, out);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        std::fs::read(dir.join(name)).unwrap()
    }

    fn ops(m: &TfModel) -> Vec<String> {
        m.scopes()
            .flat_map(|s| s.nodes.iter().map(|n| n.op.clone()))
            .collect()
    }

    #[test]
    fn text_and_binary_graph_def_give_the_same_model() {
        let text = fixture("scan/ok_tf_frozen_graph.pbtxt");
        assert_eq!(probe_text(&text), Some(TfKind::GraphDef));
        assert_eq!(super::super::probe(&text), None, "not binary");
        let t = parse_text(&text, Container::GraphDef, &TfLimits::default());
        assert_eq!(t.error, None);
        let b = super::super::parse(
            &fixture("scan/ok_tf_frozen_graph.pb"),
            Container::GraphDef,
            &TfLimits::default(),
        );
        let strip = |m: &TfModel| {
            let mut m = m.clone();
            for mg in &mut m.meta_graphs {
                for n in &mut mg.graph.nodes {
                    n.offset = 0;
                    // Text format writes map entries sorted by key.
                    n.attrs.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
            m
        };
        assert_eq!(strip(&t.model), strip(&b.model));
        assert!(ops(&t.model).contains(&"MatMul".to_string()));
    }

    #[test]
    fn text_saved_model_matches_the_binary_one() {
        let text = fixture("scan/ok_tf_saved_model.pbtxt");
        assert_eq!(probe_text(&text), Some(TfKind::SavedModel));
        let t = parse_text(&text, Container::SavedModel, &TfLimits::default());
        assert_eq!(t.error, None);
        let b = super::super::parse(
            &fixture("scan/ok_tf_dense_savedmodel.pb"),
            Container::SavedModel,
            &TfLimits::default(),
        );
        assert_eq!(t.model.schema_version, b.model.schema_version);
        assert_eq!(ops(&t.model), ops(&b.model));
        let (tm, bm) = (&t.model.meta_graphs[0], &b.model.meta_graphs[0]);
        assert_eq!(tm.tags, bm.tags);
        assert_eq!(tm.signatures, bm.signatures);
        assert_eq!(tm.tf_version, bm.tf_version);
        assert_eq!(tm.saver_filename_tensor, bm.saver_filename_tensor);
        let fnames = |m: &MetaGraph| {
            m.graph
                .functions
                .iter()
                .map(|f| f.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(fnames(tm), fnames(bm));
    }

    #[test]
    fn keras_objects_of_a_text_object_graph() {
        let text = fixture("scan/mal_tf_keras_lambda_saved_model.pbtxt");
        let t = parse_text(&text, Container::SavedModel, &TfLimits::default());
        assert_eq!(t.error, None);
        let b = super::super::parse(
            &fixture("scan/mal_tf_keras_lambda_object_graph.pb"),
            Container::SavedModel,
            &TfLimits::default(),
        );
        let k = &t.model.meta_graphs[0].keras_objects;
        assert_eq!(k.len(), 3);
        assert_eq!(k[2].node_path, "root.layer-1");
        let strip = |v: &[KerasNode]| {
            v.iter()
                .map(|n| {
                    (
                        n.node_id,
                        n.node_path.clone(),
                        n.identifier.clone(),
                        n.metadata.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(k), strip(&b.model.meta_graphs[0].keras_objects));
    }

    #[test]
    fn read_file_constant_and_dtype() {
        let text = fixture("scan/mal_tf_read_write_file.pbtxt");
        let t = parse_text(&text, Container::GraphDef, &TfLimits::default());
        assert_eq!(t.error, None);
        let c = t.model.meta_graphs[0]
            .graph
            .nodes
            .iter()
            .find(|n| n.name == "ReadFile/filename")
            .unwrap();
        match c.attr("value") {
            Some(AttrValue::Tensor(t)) => {
                assert_eq!(t.dtype, 7);
                assert_eq!(t.strings[0].text(), "/etc/passwd");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(&text[c.offset..c.offset + 4], b"node");
    }

    #[test]
    fn lists_any_escapes_and_angle_brackets() {
        let text = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus/tf_text/hand_made_saved_model.pbtxt"),
        )
        .unwrap();
        assert_eq!(probe_text(&text), Some(TfKind::SavedModel));
        let t = parse_text(&text, Container::SavedModel, &TfLimits::default());
        assert_eq!(t.error, None);
        assert_eq!(t.model.schema_version, Some(1));
        let mg = &t.model.meta_graphs[0];
        assert_eq!(mg.tags, vec!["serve", "gpu"]);
        match mg.graph.nodes[0].attr("value") {
            Some(AttrValue::Tensor(t)) => {
                assert_eq!(t.dtype, 7);
                assert_eq!(t.strings[0].text(), "/etc/passwd");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(mg.graph.nodes[1].op, "ReadFile");
        assert_eq!(mg.keras_objects.len(), 1);
        assert_eq!(mg.keras_objects[0].node_path, "root.layer-0");
        assert_eq!(
            mg.keras_objects[0].metadata,
            br#"{"class_name": "Lambda", "config": {}}"#
        );
    }

    #[test]
    fn probe_is_strict() {
        for s in [
            "hello world",
            "name: \"x\"",
            "node: 1",
            "node { foo: 1 }",
            "saved_model_schema_version: 99",
            "{\"node\": 1}",
            "",
        ] {
            assert_eq!(probe_text(s.as_bytes()), None, "{s}");
        }
        assert_eq!(
            probe_text(b"# c\nnode {\n name: \"a\""),
            Some(TfKind::GraphDef)
        );
        assert_eq!(
            probe_text(b"meta_info_def { tags: \"serve\" }"),
            Some(TfKind::MetaGraph)
        );
        assert_eq!(dtype(&Value::Ident("DT_STRING_REF")), 107);
    }

    #[test]
    fn damage_and_budgets() {
        let text = fixture("scan/mal_tf_read_write_file.pbtxt");
        let cut = parse_text(
            &text[..text.len() / 2],
            Container::GraphDef,
            &TfLimits::default(),
        );
        assert!(
            matches!(cut.error, Some(TfError::Text(_))),
            "{:?}",
            cut.error
        );
        assert!(ops(&cut.model).contains(&"Placeholder".to_string()));
        let few = TfLimits {
            max_nodes: 2,
            ..TfLimits::default()
        };
        let p = parse_text(&text, Container::GraphDef, &few);
        assert_eq!(p.model.node_count(), 2);
        assert!(
            p.issues
                .iter()
                .any(|i| i.what.contains("more than 2 nodes"))
        );
    }
}

//! Keras objects stored inside TensorFlow SavedModels: `keras_metadata.pb` (written beside
//! `saved_model.pb` by tf-keras / TF 2.5+ `model.save(dir)`) and the `SavedUserObject.metadata`
//! strings of a SavedModel's object graph (where TF 2.0-2.4 kept the same JSON). Each Keras
//! object carries its layer/model config as a JSON string; the Keras rules read that JSON.
//!
//! Field numbers (tf_keras/protobuf/saved_metadata.proto): SavedMetadata{1 nodes},
//! SavedObject{2 node_id, 3 node_path, 4 identifier, 5 metadata, 6 version}.

use super::wire::{Fields, Val, text};
use super::{Cx, Issue, TfError, TfLimits};

/// One Keras object: where it sits in the object graph and its JSON metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KerasNode {
    /// Index in the SavedModel's object graph.
    pub node_id: u64,
    /// Path from the root object (`root.layer-1`), as Keras writes it (or rebuilt from the
    /// object graph's children names).
    pub node_path: String,
    /// Loader identifier: `_tf_keras_layer`, `_tf_keras_model`, `_tf_keras_sequential`, ...
    pub identifier: String,
    /// The JSON metadata (empty when it was larger than [`TfLimits::max_metadata`]).
    pub metadata: Vec<u8>,
    /// Length of the metadata as stored.
    pub metadata_len: usize,
    /// Offset of the serialized object in the input.
    pub offset: usize,
}

/// A decoded `keras_metadata.pb`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KerasMetadata {
    pub nodes: Vec<KerasNode>,
    pub issues: Vec<Issue>,
    /// The wire error that ended decoding early; the nodes before it are kept.
    pub error: Option<TfError>,
}

/// Most top-level fields the content probe looks at.
const MAX_PROBE_FIELDS: usize = 8;

/// Whether `data` is a `SavedMetadata` message: its first known field is a `SavedObject`
/// whose fields have their declared wire types and that names a Keras object (identifier
/// `_tf_keras...` or a node path `root...`).
pub fn is_keras_metadata(data: &[u8]) -> bool {
    let mut f = Fields::new(data, 0);
    for _ in 0..MAX_PROBE_FIELDS {
        match f.next_field_prefix() {
            Ok(Some((1, Val::Len(node, _)))) => return saved_object_probe(node),
            Ok(Some((n, _))) if n > 1 => {}
            _ => return false,
        }
    }
    false
}

fn saved_object_probe(data: &[u8]) -> bool {
    let mut f = Fields::new(data, 0);
    let mut keras = false;
    for _ in 0..64 {
        // A truncated file still shows what it is.
        match f.next_field_prefix() {
            Ok(None) => return keras,
            Ok(Some((2, Val::Varint(_)))) => {}
            Ok(Some((3, Val::Len(p, _)))) => {
                keras |= p == b"root" || p.starts_with(b"root.");
            }
            Ok(Some((4, Val::Len(id, _)))) => keras |= id.starts_with(b"_tf_keras"),
            Ok(Some((5, Val::Len(m, _)))) => {
                if !m.is_empty() && m.first() != Some(&b'{') {
                    return false;
                }
            }
            Ok(Some((6, Val::Len(..)))) => {}
            Ok(Some((n, _))) if n > 6 => {}
            _ => return false,
        }
    }
    keras
}

/// Decode a `keras_metadata.pb`.
pub fn parse_keras_metadata(data: &[u8], limits: &TfLimits) -> KerasMetadata {
    let mut cx = Cx {
        limits,
        nodes: 0,
        issues: Vec::new(),
    };
    let mut nodes = Vec::new();
    let error = decode_saved_metadata(data, &mut cx, &mut nodes).err();
    KerasMetadata {
        nodes,
        issues: cx.issues,
        error,
    }
}

fn decode_saved_metadata(
    data: &[u8],
    cx: &mut Cx,
    out: &mut Vec<KerasNode>,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, 0);
    while let Some((n, v)) = f.next_field()? {
        let (1, Val::Len(b, at)) = (n, v) else {
            continue;
        };
        if out.len() >= cx.limits.max_objects {
            let max = cx.limits.max_objects;
            cx.issue(
                at,
                format!("more than {max} Keras objects; the rest were not analysed"),
            );
            break;
        }
        let mut node = KerasNode {
            offset: at,
            ..KerasNode::default()
        };
        let mut of = Fields::new(b, at);
        while let Some((on, ov)) = of.next_field()? {
            match (on, ov) {
                (2, Val::Varint(id)) => node.node_id = id,
                (3, Val::Len(p, _)) => node.node_path = text(p),
                (4, Val::Len(id, _)) => node.identifier = text(id),
                (5, Val::Len(m, mat)) => set_metadata(cx, &mut node, m, mat),
                _ => {}
            }
        }
        out.push(node);
    }
    Ok(())
}

/// Keep `m` as the node's metadata unless it is over budget (then an issue says so).
pub(crate) fn set_metadata(cx: &mut Cx, node: &mut KerasNode, m: &[u8], at: usize) {
    node.metadata_len = m.len();
    if m.len() > cx.limits.max_metadata {
        let max = cx.limits.max_metadata;
        cx.issue(
            at,
            format!("Keras object metadata larger than {max} bytes was not analysed"),
        );
        node.metadata.clear();
    } else {
        node.metadata = m.to_vec();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        std::fs::read(dir.join(name)).unwrap()
    }

    #[test]
    fn real_keras_metadata_decodes_every_object() {
        let d = fixture("tf/keras_lambda_savedmodel/keras_metadata.pb");
        assert!(is_keras_metadata(&d));
        assert_eq!(
            super::super::probe(&d),
            Some(super::super::TfKind::KerasMetadata)
        );
        let m = parse_keras_metadata(&d, &TfLimits::default());
        assert_eq!(m.error, None);
        assert!(m.issues.is_empty());
        let paths: Vec<(&str, &str)> = m
            .nodes
            .iter()
            .map(|n| (n.node_path.as_str(), n.identifier.as_str()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("root", "_tf_keras_sequential"),
                ("root.layer_with_weights-0", "_tf_keras_layer"),
                ("root.layer-1", "_tf_keras_layer"),
            ]
        );
        let lambda = &m.nodes[2];
        assert_eq!(lambda.node_id, 2);
        let doc: serde_json::Value = serde_json::from_slice(&lambda.metadata).unwrap();
        assert_eq!(doc["class_name"], "Lambda");
        assert_eq!(lambda.metadata_len, lambda.metadata.len());
    }

    /// basic-pitch 0.4.0 from PyPI (tests/fixtures/tf/pypi_basic_pitch_nmp): TF 2.4 kept the
    /// Keras configs in the object graph; each gets the path Keras would give it.
    #[test]
    fn object_graph_metadata_of_a_real_tf_2_4_model() {
        use std::io::Read as _;
        let gz = fixture("tf/pypi_basic_pitch_nmp/saved_model.pb.gz");
        let mut d = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut d)
            .unwrap();
        assert_eq!(d.len(), 1_084_140);
        let p = super::super::parse(
            &d,
            super::super::Container::SavedModel,
            &TfLimits::default(),
        );
        assert_eq!(p.error, None);
        let k = &p.model.meta_graphs[0].keras_objects;
        assert_eq!(k.len(), 30);
        assert_eq!(
            (k[0].node_path.as_str(), k[0].identifier.as_str()),
            ("root", "_tf_keras_network")
        );
        assert!(
            k.iter()
                .all(|n| n.node_path.starts_with("root.") || n.node_id == 0)
        );
        assert!(
            k.iter().any(|n| n.node_path == "root.layer-1"),
            "{:?}",
            k.iter().map(|n| &n.node_path).collect::<Vec<_>>()
        );
        for n in k {
            let doc: serde_json::Value = serde_json::from_slice(&n.metadata).unwrap();
            assert!(doc["class_name"].is_string(), "{}", n.node_path);
        }
    }

    #[test]
    fn other_protobufs_are_not_keras_metadata() {
        for name in [
            "scan/ok_tf_dense_savedmodel.pb",
            "scan/ok_tf_frozen_graph.pb",
            "tf/ok_savedmodel/fingerprint.pb",
        ] {
            assert!(!is_keras_metadata(&fixture(name)), "{name}");
        }
        assert!(!is_keras_metadata(b""));
        assert!(!is_keras_metadata(b"{\"class_name\": 1}"));
        // A SavedObject whose metadata is not JSON.
        let node = [&[0x1a, 4][..], b"root", &[0x2a, 3], b"abc"].concat();
        let d = [&[0x0a, node.len() as u8][..], &node].concat();
        assert!(!is_keras_metadata(&d));
    }

    #[test]
    fn budgets_and_truncation_are_reported() {
        let d = fixture("tf/keras_lambda_savedmodel/keras_metadata.pb");
        let limits = TfLimits {
            max_metadata: 1000,
            max_objects: 2,
            ..TfLimits::default()
        };
        let m = parse_keras_metadata(&d, &limits);
        assert_eq!(m.nodes.len(), 2);
        assert!(
            m.nodes[0].metadata.is_empty(),
            "root's JSON is over 1000 bytes"
        );
        assert!(m.nodes[0].metadata_len > 1000);
        let what: Vec<&str> = m.issues.iter().map(|i| i.what.as_str()).collect();
        assert!(
            what.iter().any(|w| w.contains("larger than 1000")),
            "{what:?}"
        );
        assert!(
            what.iter().any(|w| w.contains("more than 2 Keras")),
            "{what:?}"
        );
        let cut = parse_keras_metadata(&d[..d.len() - 10], &TfLimits::default());
        assert!(cut.error.is_some());
        assert_eq!(cut.nodes.len(), 2, "the objects before the cut are kept");
        assert!(is_keras_metadata(&d[..d.len() / 2]));
    }
}

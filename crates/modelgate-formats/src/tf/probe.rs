//! Content detection for TensorFlow protobufs. Protobuf has no magic number, so the probe
//! checks structure: the first message of a GraphDef must be a `NodeDef` whose known fields
//! all have their declared wire types and whose `op` is an op-like identifier; a SavedModel's
//! meta graph must start with a well-formed `MetaInfoDef` or `GraphDef`. Unknown field
//! numbers are skipped as protobuf would (a prepended junk field does not hide a graph).

use super::wire::{Fields, Val};

/// Which TensorFlow message a byte stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TfKind {
    SavedModel,
    MetaGraph,
    GraphDef,
    /// `keras_metadata.pb`: tf-keras' `SavedMetadata` beside a SavedModel's `saved_model.pb`.
    KerasMetadata,
}

/// Most top-level fields looked at before giving up.
const MAX_PROBE_FIELDS: usize = 8;

/// What `data` is, if it is a TensorFlow SavedModel, MetaGraphDef, GraphDef or Keras
/// SavedModel metadata.
pub fn probe(data: &[u8]) -> Option<TfKind> {
    // A GraphDef's NodeDef (all length-delimited fields) would also pass as a MetaInfoDef:
    // the op-name check decides first. A one-object keras_metadata.pb would pass as a
    // MetaGraphDef: its own check (Keras identifier or node path) goes first.
    if super::keras_metadata::is_keras_metadata(data) {
        Some(TfKind::KerasMetadata)
    } else if is_saved_model(data) {
        Some(TfKind::SavedModel)
    } else if is_graph_def(data) {
        Some(TfKind::GraphDef)
    } else if is_meta_graph(data) {
        Some(TfKind::MetaGraph)
    } else {
        None
    }
}

/// The first field of `data` numbered `want` (a length-delimited one), skipping fields with
/// numbers above `known_max`; `None` when a known field comes first or the wire is broken.
fn first_known<'a>(data: &'a [u8], known_max: u32, want: &[u32]) -> Option<(u32, &'a [u8])> {
    let mut f = Fields::new(data, 0);
    for _ in 0..MAX_PROBE_FIELDS {
        // A truncated file still shows what it is: its first message is checked as far as
        // it goes (the parse then reports the truncation).
        let (n, v) = f.next_field_prefix().ok()??;
        if n > known_max {
            continue;
        }
        return match v {
            Val::Len(b, _) if want.contains(&n) => Some((n, b)),
            _ => None,
        };
    }
    None
}

fn is_saved_model(data: &[u8]) -> bool {
    let mut f = Fields::new(data, 0);
    for _ in 0..MAX_PROBE_FIELDS {
        match f.next_field_prefix() {
            Ok(Some((1, Val::Varint(v)))) if v <= 16 => {}
            Ok(Some((2, Val::Len(b, _)))) => return meta_graph_body(b),
            Ok(Some((n, _))) if n > 2 => {}
            _ => return false,
        }
    }
    false
}

fn is_meta_graph(data: &[u8]) -> bool {
    // A stand-alone MetaGraphDef (`.meta`) starts with its MetaInfoDef, then the graph (or
    // another MetaGraphDef field).
    let mut f = Fields::new(data, 0);
    let mut info_ok = false;
    for _ in 0..MAX_PROBE_FIELDS {
        match f.next_field_prefix() {
            Ok(Some((1, Val::Len(info, _)))) if !info_ok => info_ok = meta_info(info),
            Ok(Some((2, Val::Len(g, _)))) if info_ok => return g.is_empty() || is_graph_def(g),
            Ok(Some((3..=7, Val::Len(..)))) if info_ok => return true,
            Ok(Some((n, _))) if n > 7 => continue,
            _ => return false,
        }
        if !info_ok {
            return false;
        }
    }
    false
}

/// A MetaGraphDef body: its first known field is a valid MetaInfoDef or GraphDef.
fn meta_graph_body(data: &[u8]) -> bool {
    match first_known(data, 7, &[1, 2]) {
        Some((1, info)) => meta_info(info),
        Some((2, graph)) => is_graph_def(graph) || graph.is_empty(),
        _ => false,
    }
}

/// MetaInfoDef{1 meta_graph_version, 2 stripped_op_list, 3 any_info, 4 tags,
/// 5 tensorflow_version, 6 tensorflow_git_version, 7 stripped_default_attrs, 8 function_aliases}:
/// every field it has decodes with its declared wire type.
fn meta_info(data: &[u8]) -> bool {
    let mut f = Fields::new(data, 0);
    let mut seen = 0;
    while seen < 64 {
        match f.next_field() {
            Ok(None) => return true,
            Ok(Some((7, Val::Varint(_)))) => {}
            Ok(Some((1..=6 | 8, Val::Len(..)))) => {}
            Ok(Some((n, _))) if n > 8 => {}
            _ => return false,
        }
        seen += 1;
    }
    true
}

fn is_graph_def(data: &[u8]) -> bool {
    match first_known(data, 5, &[1, 2]) {
        Some((1, node)) => node_def(node),
        Some((2, library)) => match first_known(library, 3, &[1]) {
            Some((1, function)) => match first_known(function, 8, &[1]) {
                Some((1, signature)) => named(signature),
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

/// A NodeDef: fields 1-7 are all length-delimited, and it has an op name.
fn node_def(data: &[u8]) -> bool {
    let mut f = Fields::new(data, 0);
    let mut op_ok = false;
    loop {
        match f.next_field() {
            Ok(None) => return op_ok,
            Ok(Some((2, Val::Len(op, _)))) => op_ok = is_op_name(op),
            Ok(Some((1..=7, Val::Len(..)))) => {}
            Ok(Some((n, _))) if n > 7 => {}
            _ => return false,
        }
    }
}

/// An OpDef (function signature) whose field 1 is an op-like name.
fn named(data: &[u8]) -> bool {
    matches!(first_known(data, 21, &[1]), Some((1, name)) if is_op_name(name))
}

/// `[A-Za-z_][A-Za-z0-9_.>-]*`, at most 256 bytes: what TF op and function names look like.
fn is_op_name(b: &[u8]) -> bool {
    b.len() <= 256
        && b.first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'>' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![n << 3 | 2, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn graph_def_by_structure() {
        let node = [field(1, b"x"), field(2, b"Placeholder")].concat();
        let g = field(1, &node);
        assert_eq!(probe(&g), Some(TfKind::GraphDef));
        // A junk unknown field in front does not hide it.
        let junk = [vec![0xf8, 0x01, 0x05], g.clone()].concat();
        assert_eq!(probe(&junk), Some(TfKind::GraphDef));
        // keras_metadata.pb: SavedObject{3 node_path "root", 4 identifier} is no NodeDef.
        let keras = field(
            1,
            &[field(3, b"root"), field(4, b"_tf_keras_model")].concat(),
        );
        assert_eq!(probe(&keras), Some(TfKind::KerasMetadata));
        let other = field(1, &[field(3, b"top"), field(4, b"_user_object")].concat());
        assert_eq!(probe(&other), None);
        // An op that is not an identifier.
        let bad = field(1, &[field(1, b"x"), field(2, b"no spaces")].concat());
        assert_eq!(probe(&bad), None);
    }

    #[test]
    fn saved_model_and_meta_graph() {
        let node = [field(1, b"x"), field(2, b"Const")].concat();
        let graph = field(1, &node);
        let info = field(4, b"serve");
        let mg = [field(1, &info), field(2, &graph)].concat();
        let sm = [vec![0x08, 0x01], field(2, &mg)].concat();
        assert_eq!(probe(&sm), Some(TfKind::SavedModel));
        assert_eq!(probe(&mg), Some(TfKind::MetaGraph));
        // Truncated inside the meta graph: still a SavedModel (the parse reports the cut).
        assert_eq!(probe(&sm[..sm.len() - 3]), Some(TfKind::SavedModel));
        // fingerprint.pb: FingerprintDef{1 saved_model_checksum varint, ...}.
        let fp = [0x08, 0xd2, 0x85, 0xd8, 0xcc, 0x04, 0x10, 0x07];
        assert_eq!(probe(&fp), None);
    }

    #[test]
    fn random_bytes_are_not_tf() {
        assert_eq!(probe(b""), None);
        assert_eq!(probe(b"hello world"), None);
        assert_eq!(probe(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), None);
    }
}

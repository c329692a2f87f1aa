//! The TensorFlow protobuf reader: content probe, then every container kind under small
//! budgets (deep attribute nesting, node counts), and the keras_metadata.pb reader.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::tf::{Container, TfLimits, parse, parse_keras_metadata, probe};

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let limits = TfLimits { max_depth: 8, max_nodes: 10_000, ..TfLimits::default() };
    for c in [Container::SavedModel, Container::MetaGraph, Container::GraphDef] {
        let p = parse(data, c, &limits);
        assert!(p.model.node_count() <= limits.max_nodes);
    }
    let k = parse_keras_metadata(data, &TfLimits { max_objects: 1000, ..limits });
    assert!(k.nodes.len() <= 1000);
});

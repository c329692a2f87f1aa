//! The protobuf text-format reader (`saved_model.pbtxt`, `.pbtxt` GraphDefs): content probe,
//! the schema-less parse under small limits, then every container mapping.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::tf::text_format::{TextLimits, parse, unescape};
use modelgate_formats::tf::{Container, TfLimits, parse_text, probe_text};

fuzz_target!(|data: &[u8]| {
    let _ = probe_text(data);
    let limits = TextLimits { max_depth: 16, max_tokens: 100_000, max_fields: 10_000, ..TextLimits::default() };
    let doc = parse(data, &limits);
    for f in &doc.root.fields {
        if let modelgate_formats::tf::text_format::Value::Str(parts) = &f.value {
            let (s, n) = unescape(parts, 64);
            assert!(s.len() <= 64 && s.len() <= n);
        }
    }
    let tf = TfLimits { max_depth: 8, max_nodes: 10_000, ..TfLimits::default() };
    for c in [Container::SavedModel, Container::MetaGraph, Container::GraphDef] {
        let p = parse_text(data, c, &tf);
        assert!(p.model.node_count() <= tf.max_nodes);
    }
});

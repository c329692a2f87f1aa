//! Explicit registries: every analyzer and every rule, in a fixed order. Adding a rule adds one
//! line here; a test fails if two rules share a code or a name.

use crate::analyzers;
use crate::engine::Analyzer;
use crate::rules::{archive, generic, onnx, pickle};
use modelgate_core::RuleMeta;

/// Analyzers, tried in order; the first that handles a format analyses it.
pub static ANALYZERS: &[&dyn Analyzer] = &[
    &analyzers::pickle::PickleAnalyzer,
    &analyzers::zip::ZipAnalyzer,
    &analyzers::compressed::CompressedAnalyzer,
    &analyzers::tar::TarAnalyzer,
    &analyzers::npy::NpyAnalyzer,
    &analyzers::sevenz::SevenZAnalyzer,
    &analyzers::onnx::OnnxAnalyzer,
    &analyzers::safetensors::SafetensorsAnalyzer,
    &analyzers::gguf::GgufAnalyzer,
    &analyzers::hdf5::Hdf5Analyzer,
    &analyzers::json::JsonAnalyzer,
    &analyzers::tf::TfAnalyzer,
    &analyzers::tflite::TfliteAnalyzer,
];

/// Every rule modelgate can report.
pub static RULES: &[&RuleMeta] = &[
    &generic::malformed::META,
    &generic::extension_mismatch::META,
    &generic::budget_exceeded::META,
    &generic::analyzer_crashed::META,
    &pickle::code_execution::META,
    &pickle::unknown_call::META,
    &pickle::dangerous_import::META,
    &pickle::dynamic_resolution::META,
    &pickle::embedded_payload::META,
    &pickle::non_allowlisted_import::META,
    &pickle::frame_mismatch::META,
    &pickle::broken_stream::META,
    &pickle::stacked_streams::META,
    &pickle::build_on_global::META,
    &pickle::protocol_violation::META,
    &archive::header_mismatch::META,
    &archive::crc_mismatch::META,
    &archive::overlap::META,
    &archive::hidden_entry::META,
    &archive::prepended::META,
    &archive::path_traversal::META,
    &archive::link::META,
    &archive::unreadable::META,
    &archive::polyglot::META,
    &archive::npy_object::META,
    &archive::torchscript_code::META,
    &onnx::custom_operator::META,
    &onnx::external_data_path::META,
    // Shadow-logic graph rules, defined next to the graph analysis in modelgate-graph.
    &modelgate_graph::core::CORE_RULES[0],
    &modelgate_graph::core::CORE_RULES[1],
    &modelgate_graph::core::CORE_RULES[2],
    &modelgate_graph::core::CORE_RULES[3],
    &modelgate_graph::core::CORE_RULES[4],
    &modelgate_graph::core::CORE_RULES[5],
    &modelgate_graph::core::CORE_RULES[6],
    &crate::rules::safetensors::malformed_header::META,
    &crate::rules::safetensors::invalid_tensor::META,
    &crate::rules::safetensors::unaccounted_bytes::META,
    &crate::rules::safetensors::hidden_payload::META,
    &crate::rules::gguf::malformed::META,
    &crate::rules::gguf::invalid_tensor::META,
    &crate::rules::gguf::trailing_data::META,
    &crate::rules::gguf::hidden_payload::META,
    &crate::rules::template::dunder_access::META,
    &crate::rules::template::gadget::META,
    &crate::rules::template::process_access::META,
    &crate::rules::template::unparseable::META,
    &crate::rules::template::include::META,
    &crate::rules::template::inventory::META,
    &crate::rules::keras::lambda_layer::META,
    &crate::rules::keras::dangerous_module::META,
    &crate::rules::keras::custom_object::META,
    &crate::rules::keras::external_model::META,
    &crate::rules::keras::file_reference::META,
    &crate::rules::tensorflow::python_callback::META,
    &crate::rules::tensorflow::file_read::META,
    &crate::rules::tensorflow::file_write::META,
    &crate::rules::tensorflow::checkpoint_path::META,
    &crate::rules::tensorflow::print_to_file::META,
    &crate::rules::tensorflow::network_op::META,
    &crate::rules::tensorflow::unknown_op::META,
    &crate::rules::tensorflow::asset_path::META,
    &crate::rules::tensorflow::tflite_custom_op::META,
    &crate::rules::tensorflow::tflite_flex_op::META,
    &crate::rules::tensorflow::tflite_embedded_payload::META,
    &crate::rules::hdf5::malformed::META,
    &crate::rules::hdf5::not_fully_read::META,
    &crate::rules::hdf5::hidden_payload::META,
];

/// Look a rule up by code (case-insensitive) or by name.
pub fn rule_by_code(code: &str) -> Option<&'static RuleMeta> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for r in RULES {
            assert!(codes.insert(r.code), "duplicate code {}", r.code);
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            let b = r.code.as_bytes();
            assert!(
                b.len() == 6
                    && b[..3].iter().all(u8::is_ascii_uppercase)
                    && b[3..].iter().all(u8::is_ascii_digit),
                "bad code {}",
                r.code
            );
            assert!(
                r.name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
                "bad name {}",
                r.name
            );
            assert!(
                r.doc.contains(r.code),
                "doc page of {} does not name its code",
                r.code
            );
            for section in [
                "## What it detects",
                "## Why it matters",
                "## Example",
                "## False positives",
                "## Remediation",
            ] {
                assert!(
                    r.doc.contains(section),
                    "doc page of {} lacks {section}",
                    r.code
                );
            }
        }
    }
}

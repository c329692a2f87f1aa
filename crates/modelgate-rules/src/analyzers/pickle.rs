//! Pickle streams: raw pickles, legacy PyTorch files and joblib files. Every stacked stream
//! is run through the symbolic machine and the pickle rules; embedded payloads are scanned.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::generic::budget_exceeded;
use crate::rules::pickle::RULES;
use crate::rules::pickle::embedded_payload::{embedded_payloads, nested_name};
use crate::rules::pickle::model::PickleModel;
use modelgate_core::{Blob, FormatId};
use modelgate_formats::pickle::symbolic::{StreamEnd, VmLimits, run_stream};
use modelgate_formats::sniff::looks_like_pickle;

pub struct PickleAnalyzer;

/// The note every code-capable inventory entry carries.
pub const PICKLE_NOTE: &str =
    "pickle-based: loading can run arbitrary code; prefer safetensors (`modelgate convert`)";

impl Analyzer for PickleAnalyzer {
    fn id(&self) -> &'static str {
        "pickle"
    }

    fn handles(&self, format: FormatId) -> bool {
        matches!(
            format,
            FormatId::Pickle { .. } | FormatId::TorchLegacy | FormatId::Joblib
        )
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let data = art.data.as_slice();
        let limits = cx.limits().clone();
        let vm = VmLimits {
            max_ops: limits.max_pickle_ops,
            max_values: limits.max_pickle_values,
            max_memo: limits.max_memo,
            max_nesting: 16,
        };
        let legacy = art.format == FormatId::TorchLegacy;
        let mut pos = 0usize;
        let mut imports = Vec::new();
        let mut notes = vec![PICKLE_NOTE.to_string()];
        let mut joblib = false;
        for index in 0..limits.max_pickle_streams.max(1) {
            if cx.out_of_time(&art.path) {
                return;
            }
            let program = run_stream(data, pos, vm);
            let end = program.end.clone();
            let next = program.end_offset;
            let model = PickleModel::build(art.path.clone(), data, program, index, legacy);
            let mut findings = Vec::new();
            for rule in RULES {
                (rule.check)(&model, &mut findings);
            }
            for f in findings {
                cx.emit(f);
            }
            for i in &model.imports {
                joblib |= i.full.starts_with("joblib.")
                    || i.full.starts_with("sklearn.externals.joblib.");
                imports.push(i.full.clone());
            }
            for e in embedded_payloads(&model) {
                let path = art.path.join(nested_name(&e));
                cx.descend(path, Blob::from_vec(e.bytes));
            }
            if let StreamEnd::Budget { offset, what } = end {
                cx.emit(
                    budget_exceeded::META
                        .finding(
                            art.path.at(offset as u64),
                            format!("{what} exhausted; the rest of the pickle was not analysed"),
                        )
                        .with("budget", what),
                );
            }
            if !end.is_complete() || next >= data.len() {
                break;
            }
            let rest = data.get(next..).unwrap_or(&[]);
            if legacy && index >= 4 {
                notes.push(format!(
                    "{} bytes of raw tensor storage after the pickles",
                    rest.len()
                ));
                break;
            }
            if !looks_like_pickle(rest) {
                if rest.iter().any(|b| *b != 0 && !b.is_ascii_whitespace()) {
                    notes.push(format!("{} bytes after STOP are not a pickle", rest.len()));
                }
                break;
            }
            if index + 1 == limits.max_pickle_streams {
                cx.emit(
                    budget_exceeded::META
                        .finding(
                            art.path.at(next as u64),
                            format!(
                                "more than {} stacked pickle streams; the rest were not analysed",
                                limits.max_pickle_streams
                            ),
                        )
                        .with("budget", "max_pickle_streams"),
                );
            }
            pos = next;
        }
        // Polyglot: a pickle with a zip archive at its end (torch.load reads the zip).
        let tail_start = data.len().saturating_sub(65_557);
        let has_eocd = data
            .get(tail_start..)
            .is_some_and(|t| memchr::memmem::find(t, b"PK\x05\x06").is_some());
        if has_eocd
            && art
                .path
                .segments
                .last()
                .is_none_or(|s| s != "<leading-pickle>")
        {
            cx.emit(
                crate::rules::archive::polyglot::META
                    .finding(art.path.clone(), "the file is both a pickle (read by pickle.load) and a zip archive (read by torch.load); both were scanned")
                    .with("formats", "pickle+zip"),
            );
            cx.descend_as(art.path.join("<zip>"), art.data.clone(), FormatId::Zip);
        }
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.imports.extend(imports);
            inv.notes.extend(notes);
            inv.can_execute_code = true;
            if joblib && art.format != FormatId::TorchLegacy {
                inv.format = FormatId::Joblib.name().to_string();
            }
        }
    }
}

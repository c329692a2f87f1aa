//! `PKL009` pickle-stacked-streams: more pickles follow the first STOP in the same member.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL009",
    name: "pickle-stacked-streams",
    family: "pickle",
    kind: Kind::Integrity,
    severity: Severity::Low,
    confidence: Confidence::High,
    summary: "Further pickle streams follow the first one",
    doc: include_str!("../../../../../docs/rules/PKL009.md"),
    references: &["CWE-436"],
    since: "0.1.0",
};
use super::model::PickleModel;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    if m.stream_index == 0 || m.legacy_torch {
        return;
    }
    out.push(
        META.finding(m.at(m.program.start), format!("pickle stream #{} starts after the previous STOP; a second load from the same file runs it", m.stream_index + 1))
            .with("stream", (m.stream_index + 1).to_string()),
    );
}

//! `PKL008` pickle-broken-stream: the stream is damaged or truncated; the loader runs everything before the break.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL008",
    name: "pickle-broken-stream",
    family: "pickle",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The pickle stream is damaged or truncated (calls before the break still run)",
    doc: include_str!("../../../../../docs/rules/PKL008.md"),
    references: &["CWE-20"],
    since: "0.1.0",
};
use super::model::PickleModel;
use modelgate_core::Finding;
use modelgate_formats::pickle::StreamEnd;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    let (offset, what) = match &m.program.end {
        StreamEnd::Stop { .. } | StreamEnd::Budget { .. } => return,
        StreamEnd::Damaged(e) => (e.offset, e.to_string()),
        StreamEnd::NoStop { offset } => {
            (*offset, "the stream ends without a STOP opcode".to_string())
        }
        StreamEnd::LoaderError { offset, what } => {
            (*offset, format!("the loader fails here: {what}"))
        }
    };
    let calls = m.calls.len();
    let mut f = META
        .finding(m.at(offset), format!("broken pickle stream: {what}; {calls} call(s) before the break run when the file is loaded"))
        .with("ops-before-break", m.program.ops.to_string());
    if calls > 0 {
        // A broken stream that still calls things is the nullifAI pattern.
        f = f
            .severity(Severity::High)
            .with("calls-before-break", calls.to_string());
    }
    out.push(f);
}

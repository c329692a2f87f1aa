//! `PKL011` pickle-protocol-violation: opcodes newer than the protocol the stream announces.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL011",
    name: "pickle-protocol-violation",
    family: "pickle",
    kind: Kind::Integrity,
    severity: Severity::Info,
    confidence: Confidence::Medium,
    summary: "The stream uses opcodes newer than its PROTO header (hand-crafted pickle)",
    doc: include_str!("../../../../../docs/rules/PKL011.md"),
    references: &["CWE-436"],
    since: "0.1.0",
};
use super::model::PickleModel;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    // pickle.dumps never emits an opcode newer than the protocol it announces, but protocol
    // 0/1 streams have no PROTO opcode at all; only report streams that announce one.
    if m.program.protocol < 2 {
        return;
    }
    if let Some((off, op)) = m.program.protocol_violations.first() {
        out.push(
            META.finding(
                m.at(*off),
                format!(
                    "opcode {} is newer than the announced protocol {}",
                    op.name(),
                    m.program.protocol
                ),
            )
            .with("count", m.program.protocol_violations.len().to_string()),
        );
    }
}

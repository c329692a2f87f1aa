//! Shared vocabulary of modelgate.
//!
//! Every other crate speaks in these types: what a byte stream is ([`FormatId`]), where
//! something sits inside nested containers ([`VirtualPath`]), what a rule is ([`RuleMeta`]),
//! what it found ([`Finding`]), how much work a scan may do ([`Limits`]) and what a scan
//! produced ([`Report`]). The crate has no heavy dependencies and no I/O.

pub mod blob;
pub mod finding;
pub mod format;
pub mod limits;
pub mod location;
pub mod report;
pub mod rule;

pub use blob::Blob;
pub use finding::{Confidence, Evidence, Finding, Kind, Severity};
pub use format::FormatId;
pub use limits::Limits;
pub use location::VirtualPath;
pub use report::{FileReport, Inventory, Report, ScanError, Skipped, Verdict};
pub use rule::RuleMeta;

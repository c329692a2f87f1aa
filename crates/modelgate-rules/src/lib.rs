//! modelgate's analyzers, rules, registry and scan engine.
//!
//! The engine walks paths, memory-maps files, sniffs each artifact by content and hands it
//! to the analyzer for its format. Analyzers parse with `modelgate-formats`, run their
//! family's rules and descend into container members, which are sniffed and dispatched in
//! turn under depth and expansion budgets.

pub mod analyzers;
pub mod engine;
mod mmap;
pub mod registry;
pub mod rules;

pub use engine::{Analyzer, Artifact, ScanCx, ScanOptions, default_model_caches, scan, scan_bytes};
pub use registry::{ANALYZERS, RULES, rule_by_code};

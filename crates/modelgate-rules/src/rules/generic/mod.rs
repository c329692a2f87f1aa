//! `GEN`: findings about any artifact (parse failures, format/extension disagreements,
//! budgets, analyzer crashes).

pub mod analyzer_crashed;
pub mod budget_exceeded;
pub mod extension_mismatch;
pub mod malformed;

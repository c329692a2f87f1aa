//! `PKL`: pickle streams (raw pickles, PyTorch, joblib, NumPy object arrays).

pub mod broken_stream;
pub mod build_on_global;
pub mod code_execution;
pub mod dangerous_import;
pub mod dynamic_resolution;
pub mod embedded_payload;
pub mod explain;
pub mod frame_mismatch;
pub mod model;
pub mod non_allowlisted_import;
pub mod policy;
pub mod protocol_violation;
pub mod stacked_streams;
pub mod unknown_call;

use model::PickleModel;
use modelgate_core::{Finding, RuleMeta};

/// A pickle rule: its metadata and its check.
pub struct PickleRule {
    pub meta: &'static RuleMeta,
    pub check: fn(&PickleModel<'_>, &mut Vec<Finding>),
}

/// Pickle rules in the order they run.
pub const RULES: &[PickleRule] = &[
    PickleRule {
        meta: &code_execution::META,
        check: code_execution::check,
    },
    PickleRule {
        meta: &unknown_call::META,
        check: unknown_call::check,
    },
    PickleRule {
        meta: &dangerous_import::META,
        check: dangerous_import::check,
    },
    PickleRule {
        meta: &dynamic_resolution::META,
        check: dynamic_resolution::check,
    },
    PickleRule {
        meta: &embedded_payload::META,
        check: embedded_payload::check,
    },
    PickleRule {
        meta: &non_allowlisted_import::META,
        check: non_allowlisted_import::check,
    },
    PickleRule {
        meta: &frame_mismatch::META,
        check: frame_mismatch::check,
    },
    PickleRule {
        meta: &broken_stream::META,
        check: broken_stream::check,
    },
    PickleRule {
        meta: &stacked_streams::META,
        check: stacked_streams::check,
    },
    PickleRule {
        meta: &build_on_global::META,
        check: build_on_global::check,
    },
    PickleRule {
        meta: &protocol_violation::META,
        check: protocol_violation::check,
    },
];

//! Budgets: how much work a scan may do on hostile input.

use serde::{Deserialize, Serialize};

/// Limits applied to every artifact. Hitting one is reported as a finding, never a silent pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// Largest member or decompressed stream that is analysed, in bytes.
    pub max_member_bytes: u64,
    /// Total bytes decompressed for one file on disk, across all nested members.
    pub max_expanded_bytes: u64,
    /// Largest decompression ratio tolerated (expanded / compressed) for streams over 1 MiB.
    pub max_ratio: u64,
    /// Deepest container nesting (`a.zip!b.tar!c.pkl` is depth 2).
    pub max_depth: usize,
    /// Most members read from one container.
    pub max_members: usize,
    /// Most pickle opcodes interpreted per pickle stream.
    pub max_pickle_ops: usize,
    /// Most memo entries per pickle.
    pub max_memo: usize,
    /// Most stack items / container elements tracked per pickle.
    pub max_pickle_values: usize,
    /// Most pickle streams stacked in one member.
    pub max_pickle_streams: usize,
    /// Wall-clock budget per file on disk, in milliseconds.
    pub max_millis_per_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member_bytes: 4 << 30,
            max_expanded_bytes: 8 << 30,
            max_ratio: 1000,
            max_depth: 8,
            max_members: 200_000,
            max_pickle_ops: 20_000_000,
            max_memo: 2_000_000,
            max_pickle_values: 10_000_000,
            max_pickle_streams: 64,
            max_millis_per_file: 60_000,
        }
    }
}

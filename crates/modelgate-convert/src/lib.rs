//! Convert pickle-based PyTorch checkpoints (zip and legacy) and NumPy arrays to
//! safetensors without executing them.
//!
//! Pickles are interpreted by the symbolic machine of `modelgate-formats`: nothing is
//! imported or called. Only the globals that tensor reconstruction needs are accepted
//! (`collections.OrderedDict`, the `torch._utils._rebuild_tensor*` / `_rebuild_parameter*`
//! functions, storage classes and dtypes); anything else refuses the file, together with the
//! findings that `modelgate scan` reports for it.

mod dtype;
mod mmap;
mod numpy;
mod plan;
mod safetensors;
mod shards;
mod shared;
mod torch_legacy;
mod torch_pickle;
mod torch_zip;

pub use dtype::Dtype;
pub use numpy::{plan_npy, plan_npz};
pub use plan::{Plan, TensorPlan};
pub use safetensors::write_safetensors;
pub use shards::{
    BIN_INDEX, SAFETENSORS_INDEX, ShardPlan, ShardedPlan, find_index, plan_sharded, write_sharded,
};
pub use torch_legacy::plan_torch_legacy;
pub use torch_zip::plan_torch_zip;

use modelgate_core::{Blob, Finding, FormatId, Limits, Severity};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Why a conversion did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The file does something besides rebuilding tensors (or the scan found problems).
    #[error("refused: {}", reasons.join("; "))]
    Refused {
        reasons: Vec<String>,
        findings: Vec<Finding>,
    },
    /// The file is not a supported checkpoint or is damaged.
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Options of one conversion.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Convert only the sub-dictionary under this (dotted) key.
    pub key: Option<String>,
}

/// A loaded input: its bytes (memory-mapped), the open file (tensor bytes are copied from
/// it with positioned reads, so they never count against this process's memory), and its
/// SHA-256.
pub struct Input {
    pub name: String,
    pub blob: Blob,
    pub sha256: String,
    file: std::fs::File,
}

impl Input {
    /// Where `part` (a slice of the mapped input) starts in the file, if it is one.
    pub(crate) fn file_offset(&self, part: &[u8]) -> Option<u64> {
        let base = self.blob.as_slice();
        let start = (part.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        (end <= base.len()).then_some(start as u64)
    }

    pub(crate) fn file(&self) -> &std::fs::File {
        &self.file
    }
}

/// Map `path` and hash it (by reading: hashing the map would pull the whole file into this
/// process's resident memory).
pub fn open_input(path: &Path) -> Result<Input, ConvertError> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let blob = mmap::map_file(&file, len)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut f = &file;
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or(&[]));
    }
    Ok(Input {
        name: path.display().to_string(),
        blob,
        sha256: hex::encode(h.finalize()),
        file,
    })
}

/// Scan the input with the full rule set; high or critical findings refuse the conversion.
///
/// Lower findings are not decisive: the strict allowlist of [`plan_torch_zip`] accepts far
/// less than the scanner's policy does, and the scanner currently reports `PKL002` (medium)
/// for `OrderedDict.__setitem__` in every ordinary `state_dict` pickle.
pub fn scan_gate(input: &Input) -> Result<(), ConvertError> {
    let report = modelgate_rules::scan_bytes(&input.name, input.blob.clone(), &Limits::default());
    let bad: Vec<Finding> = report
        .findings
        .into_iter()
        .filter(|f| f.severity >= Severity::High)
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ConvertError::Refused {
            reasons: vec![format!(
                "`modelgate scan` reports {} high/critical finding(s)",
                bad.len()
            )],
            findings: bad,
        })
    }
}

/// Plan a conversion: scan gate, then static reconstruction. A strict-allowlist refusal
/// carries the scan findings too.
pub fn plan(input: &Input, opts: &Options) -> Result<Plan, ConvertError> {
    scan_gate(input)?;
    match plan_bytes(&input.blob, &input.name, opts) {
        Err(ConvertError::Refused { reasons, .. }) => {
            let report =
                modelgate_rules::scan_bytes(&input.name, input.blob.clone(), &Limits::default());
            Err(ConvertError::Refused {
                reasons,
                findings: report.findings,
            })
        }
        other => other,
    }
}

/// Static reconstruction only (no scan gate), dispatched on the content of `blob`.
pub fn plan_bytes(blob: &Blob, name: &str, opts: &Options) -> Result<Plan, ConvertError> {
    let key = opts.key.as_deref();
    match modelgate_formats::sniff(blob.as_slice(), name) {
        FormatId::TorchZip => plan_torch_zip(blob, key),
        FormatId::Zip if torch_zip::is_torch_zip(blob) => plan_torch_zip(blob, key),
        FormatId::Zip | FormatId::Npz => plan_npz(blob, key),
        FormatId::TorchLegacy => plan_torch_legacy(blob, key),
        FormatId::Npy => {
            let stem = Path::new(name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "array".to_string());
            plan_npy(blob, key.unwrap_or(&stem))
        }
        other => Err(ConvertError::Unsupported(format!(
            "{name}: {} is not a format modelgate convert reads (PyTorch zip or legacy, NumPy .npy/.npz)",
            other.name()
        ))),
    }
}

/// Convert `input` to a safetensors file at `out` (written to a temporary file next to it,
/// then renamed). Returns the plan that was written.
pub fn convert_file(input_path: &Path, out: &Path, opts: &Options) -> Result<Plan, ConvertError> {
    let input = open_input(input_path)?;
    let plan = plan(&input, opts)?;
    write_safetensors(&plan, &input, out)?;
    Ok(plan)
}

//! What a conversion will write: tensors (where their elements live and how to gather
//! them), the notes for the user, and the names dropped as duplicates.

use crate::ConvertError;
use crate::dtype::Dtype;
use crate::shared;
use modelgate_core::Blob;

/// One tensor to write.
#[derive(Debug, Clone)]
pub struct TensorPlan {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Identity of the storage (zip member key, legacy storage key, array name).
    pub storage_key: String,
    /// The storage bytes (zero-copy slices of the mapped input where possible).
    pub storage: Blob,
    /// Offset into the storage, in elements.
    pub offset: usize,
    /// Strides, in elements.
    pub stride: Vec<usize>,
    /// Whether the elements are already one contiguous row-major run.
    pub contiguous: bool,
    /// Elements are stored big-endian and are byte-swapped on write.
    pub swap: bool,
}

impl TensorPlan {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn nbytes(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size())
    }
}

/// Whether `stride` is the row-major layout of `shape` (size-1 dimensions are free).
pub(crate) fn is_row_major(shape: &[usize], stride: &[usize]) -> bool {
    let mut expect = 1usize;
    for (d, s) in shape.iter().zip(stride).rev() {
        if *d != 1 && *s != expect {
            return false;
        }
        expect = expect.saturating_mul(*d);
    }
    true
}

/// The result of planning: tensors sorted by name, plus notes for the user.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub tensors: Vec<TensorPlan>,
    pub notes: Vec<String>,
    /// Identical views written once: `(dropped, kept)`, also recorded in `__metadata__`
    /// as `dropped: kept` (what `safetensors.torch.save_model` records).
    pub dropped: Vec<(String, String)>,
    /// The `format` metadata value (`pt` for PyTorch, `np` for NumPy).
    pub format: &'static str,
}

impl Plan {
    /// Sort, refuse duplicate names, and deduplicate identical views.
    pub(crate) fn finish(
        mut tensors: Vec<TensorPlan>,
        mut notes: Vec<String>,
        format: &'static str,
    ) -> Result<Plan, ConvertError> {
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        for w in tensors.windows(2) {
            if let [a, b] = w
                && a.name == b.name
            {
                return Err(ConvertError::Unsupported(format!(
                    "duplicate tensor name {}",
                    a.name
                )));
            }
        }
        if tensors
            .iter()
            .any(|t| t.name.is_empty() || t.name == "__metadata__")
        {
            return Err(ConvertError::Unsupported(
                "a tensor has an empty name or the reserved name __metadata__".into(),
            ));
        }
        let d = shared::dedup(tensors);
        notes.extend(d.notes);
        Ok(Plan {
            tensors: d.tensors,
            notes,
            dropped: d.dropped,
            format,
        })
    }

    /// The largest tensor, in bytes: what streaming needs in memory at most.
    pub fn largest_tensor(&self) -> usize {
        self.tensors
            .iter()
            .map(TensorPlan::nbytes)
            .max()
            .unwrap_or(0)
    }
}

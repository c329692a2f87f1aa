//! NumPy `.npy` arrays and `.npz` archives (a zip of `.npy` members, as written by
//! `numpy.savez` / `savez_compressed`): numeric arrays in C or Fortran order and either byte
//! order. Object arrays carry a pickle and are refused (with the scan findings); other
//! dtypes safetensors cannot hold (complex, strings, records, datetimes) are refused clearly.

use crate::ConvertError;
use crate::dtype::{Dtype, unsupported_reason};
use crate::plan::{Plan, TensorPlan, is_row_major};
use crate::torch_pickle::bad;
use modelgate_core::Blob;
use modelgate_formats::npy::{self, Descr};
use modelgate_formats::zip::ZipArchive;

/// Most members an `.npz` may have.
const MAX_MEMBERS: usize = 1_000_000;

/// The element type and whether it is stored big-endian, from a simple `descr`.
fn dtype_of(descr: &str, name: &str) -> Result<(Dtype, bool), ConvertError> {
    let (order, code) = match descr.as_bytes().first() {
        Some(c @ (b'<' | b'>' | b'|' | b'=')) => (*c, descr.get(1..).unwrap_or("")),
        _ => (b'=', descr),
    };
    let dtype = match code {
        "f8" => Dtype::F64,
        "f4" => Dtype::F32,
        "f2" => Dtype::F16,
        "i8" => Dtype::I64,
        "i4" => Dtype::I32,
        "i2" => Dtype::I16,
        "i1" => Dtype::I8,
        "u8" => Dtype::U64,
        "u4" => Dtype::U32,
        "u2" => Dtype::U16,
        "u1" => Dtype::U8,
        "b1" | "?" => Dtype::Bool,
        other => {
            let numpy_name = match other {
                "c8" => "complex64",
                "c16" => "complex128",
                _ => "",
            };
            return Err(bad(match unsupported_reason(numpy_name) {
                Some(why) => format!("{name}: {why}"),
                None => format!("{name}: NumPy dtype {descr:?} has no safetensors equivalent"),
            }));
        }
    };
    // `=` (native) never appears in files numpy writes; read it as little-endian like `<`.
    Ok((dtype, order == b'>' && dtype.size() > 1))
}

/// Plan one array whose `.npy` bytes are `blob`, as tensor `name`.
fn array(blob: &Blob, name: &str) -> Result<TensorPlan, ConvertError> {
    let h = npy::parse(blob.as_slice()).map_err(|e| bad(format!("{name}: {e}")))?;
    if h.descr.is_object() {
        return Err(ConvertError::Refused {
            reasons: vec![format!(
                "{name}: object array: numpy.load(allow_pickle=True) would unpickle its contents"
            )],
            findings: Vec::new(),
        });
    }
    let Descr::Simple(descr) = &h.descr else {
        return Err(bad(format!(
            "{name}: structured (record) arrays have no safetensors equivalent"
        )));
    };
    let (dtype, swap) = dtype_of(descr, name)?;
    let shape: Vec<usize> = h
        .shape
        .iter()
        .map(|d| usize::try_from(*d))
        .collect::<Result<_, _>>()
        .map_err(|_| bad(format!("{name}: dimension too large")))?;
    let nbytes = shape
        .iter()
        .try_fold(dtype.size(), |acc, d| acc.checked_mul(*d))
        .ok_or_else(|| bad(format!("{name}: shape overflows")))?;
    let end = h
        .data_offset
        .checked_add(nbytes)
        .ok_or_else(|| bad(format!("{name}: shape overflows")))?;
    let storage = blob.slice(h.data_offset..end).ok_or_else(|| {
        bad(format!(
            "{name}: the file holds {} data bytes, the header promises {nbytes}",
            blob.len().saturating_sub(h.data_offset)
        ))
    })?;
    // Fortran order: the first index varies fastest.
    let mut stride = vec![0usize; shape.len()];
    let mut step = 1usize;
    let dims: Vec<usize> = (0..shape.len()).collect();
    let order: Vec<usize> = if h.fortran_order {
        dims
    } else {
        dims.into_iter().rev().collect()
    };
    for i in order {
        if let (Some(s), Some(d)) = (stride.get_mut(i), shape.get(i)) {
            *s = step;
            step = step.saturating_mul(*d);
        }
    }
    let contiguous = is_row_major(&shape, &stride);
    Ok(TensorPlan {
        name: name.to_string(),
        dtype,
        shape,
        storage_key: name.to_string(),
        storage,
        offset: 0,
        stride,
        contiguous,
        swap,
    })
}

/// Plan a `.npy` file; the tensor is named `name`.
pub fn plan_npy(blob: &Blob, name: &str) -> Result<Plan, ConvertError> {
    let t = array(blob, name)?;
    let notes = describe(&t);
    Plan::finish(vec![t], notes, "np")
}

fn describe(t: &TensorPlan) -> Vec<String> {
    let mut notes = Vec::new();
    if !t.contiguous {
        notes.push(format!(
            "{}: Fortran-order array written in C order",
            t.name
        ));
    }
    if t.swap {
        notes.push(format!(
            "{}: big-endian array byte-swapped to little-endian",
            t.name
        ));
    }
    notes
}

/// Plan a `.npz` archive: one tensor per `.npy` member, named after the member without
/// `.npy` (the keys `numpy.load` gives). With `key`, only that array.
pub fn plan_npz(blob: &Blob, key: Option<&str>) -> Result<Plan, ConvertError> {
    let archive = ZipArchive::parse(blob.as_slice(), MAX_MEMBERS);
    // Compressed members are inflated in memory: the scanner's member budgets apply.
    let limits = modelgate_core::Limits::default();
    let mut tensors = Vec::new();
    let mut notes = Vec::new();
    let mut refusals = Vec::new();
    for e in &archive.entries {
        let Some(name) = e.name.strip_suffix(".npy") else {
            notes.push(format!("skipped member {} (not a .npy array)", e.name));
            continue;
        };
        if key.is_some_and(|k| k != name) {
            continue;
        }
        let data = archive
            .read(blob, e, limits.max_member_bytes, limits.max_ratio, true)
            .map_err(|err| bad(format!("{}: {err}", e.name)))?
            .data;
        match array(&data, name) {
            Ok(t) => {
                notes.extend(describe(&t));
                tensors.push(t);
            }
            Err(ConvertError::Refused { reasons, .. }) => refusals.extend(reasons),
            Err(other) => return Err(other),
        }
    }
    if !refusals.is_empty() {
        return Err(ConvertError::Refused {
            reasons: refusals,
            findings: Vec::new(),
        });
    }
    if tensors.is_empty() {
        return Err(bad(match key {
            Some(k) => format!("no array {k}.npy in the archive"),
            None => "no .npy arrays in the archive".to_string(),
        }));
    }
    Plan::finish(tensors, notes, "np")
}

//! Legacy PyTorch checkpoints (`torch.save(..., _use_new_zipfile_serialization=False)`, the
//! only format before 1.6): five pickles back to back (magic number, protocol version,
//! sys-info, the object, the sorted storage keys), then each storage in key order as an
//! 8-byte element count followed by its raw elements, in the writer's byte order.
//!
//! The byte order comes from sys-info `little_endian`: big-endian files are byte-swapped to
//! little-endian on write (counts are read big-endian too).

use crate::ConvertError;
use crate::plan::Plan;
use crate::torch_pickle::{self, bad};
use modelgate_core::Blob;
use modelgate_formats::pickle::symbolic::VmLimits;
use modelgate_formats::pickle::{EventKind, Program, Value, run_stream};
use modelgate_formats::sniff::TORCH_LEGACY_MAGIC;
use std::collections::HashMap;

/// The protocol version every legacy writer records.
const PROTOCOL_VERSION: i64 = 1001;

/// Run one of the small header pickles: it must be complete and import or call nothing.
fn header_pickle(data: &[u8], pos: usize, what: &str) -> Result<Program, ConvertError> {
    let prog = run_stream(data, pos, VmLimits::default());
    if !prog.end.is_complete() {
        return Err(bad(format!(
            "legacy {what} pickle is damaged: {:?}",
            prog.end
        )));
    }
    if !prog.events.is_empty() {
        return Err(ConvertError::Refused {
            reasons: vec![format!(
                "the legacy {what} pickle at offset {pos} imports or calls something"
            )],
            findings: Vec::new(),
        });
    }
    Ok(prog)
}

/// `sys_info["little_endian"]`.
fn little_endian(prog: &Program) -> Result<bool, ConvertError> {
    let root = prog
        .result
        .ok_or_else(|| bad("legacy sys-info has no value"))?;
    let Value::Dict(kv) = prog.values.get(root) else {
        return Err(bad("legacy sys-info is not a dictionary"));
    };
    for (k, v) in kv {
        if prog.values.as_str(*k) == Some("little_endian") {
            return match prog.values.get(*v) {
                Value::Bool(b) => Ok(*b),
                _ => Err(bad("legacy sys-info little_endian is not a boolean")),
            };
        }
    }
    Err(bad("legacy sys-info has no little_endian entry"))
}

/// Element size of every storage the object pickle loads, by key (from the persistent ids).
fn element_sizes(prog: &Program) -> HashMap<String, usize> {
    let v = &prog.values;
    let mut out = HashMap::new();
    for ev in &prog.events {
        let EventKind::PersistentLoad { pid } = &ev.kind else {
            continue;
        };
        let Some([_, ty, key, ..]) = v.items(*pid) else {
            continue;
        };
        let (Value::Global { module, name }, Some(key)) = (v.get(*ty), v.as_str(*key)) else {
            continue;
        };
        let short = format!("{module}.{name}");
        let short = short.strip_prefix("torch.").unwrap_or(&short);
        let size = if crate::torch_pickle::is_untyped_storage(short) {
            Some(1)
        } else {
            crate::dtype::Dtype::from_storage(name).map(|d| d.size())
        };
        if let Some(s) = size {
            out.insert(key.to_string(), s);
        }
    }
    out
}

/// Plan the conversion of a legacy PyTorch checkpoint.
pub fn plan_torch_legacy(blob: &Blob, key: Option<&str>) -> Result<Plan, ConvertError> {
    let data = blob.as_slice();
    if data.get(2..2 + TORCH_LEGACY_MAGIC.len()) != Some(TORCH_LEGACY_MAGIC) {
        return Err(bad("not a legacy PyTorch checkpoint (no magic number)"));
    }
    let magic = header_pickle(data, 0, "magic-number")?;
    let proto = header_pickle(data, magic.end_offset, "protocol-version")?;
    let version = proto.result.map(|r| proto.values.get(r).clone());
    if version != Some(Value::Int(PROTOCOL_VERSION)) {
        return Err(bad(format!(
            "legacy protocol version {version:?} is not {PROTOCOL_VERSION}"
        )));
    }
    let info = header_pickle(data, proto.end_offset, "sys-info")?;
    let little = little_endian(&info)?;
    let object_start = info.end_offset;
    let object = run_stream(data, object_start, VmLimits::default());
    if !object.end.is_complete() {
        return Err(bad(format!(
            "legacy object pickle is damaged: {:?}",
            object.end
        )));
    }
    let keys_prog = header_pickle(data, object.end_offset, "storage-keys")?;
    let keys_root = keys_prog
        .result
        .ok_or_else(|| bad("legacy storage keys missing"))?;
    let keys: Vec<String> = keys_prog
        .values
        .items(keys_root)
        .ok_or_else(|| bad("legacy storage keys are not a list"))?
        .iter()
        .map(|k| {
            keys_prog
                .values
                .as_str(*k)
                .map(str::to_string)
                .ok_or_else(|| bad("legacy storage key is not a string"))
        })
        .collect::<Result<_, _>>()?;

    // The raw storages, in key order.
    let sizes = element_sizes(&object);
    let mut storages: HashMap<String, Blob> = HashMap::new();
    let mut pos = keys_prog.end_offset;
    for k in &keys {
        let es = *sizes.get(k).ok_or_else(|| {
            bad(format!(
                "legacy storage {k} is not used by the object pickle"
            ))
        })?;
        let count_bytes: [u8; 8] = data
            .get(pos..pos.saturating_add(8))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad(format!("legacy storage {k}: truncated element count")))?;
        let count = if little {
            u64::from_le_bytes(count_bytes)
        } else {
            u64::from_be_bytes(count_bytes)
        };
        let start = pos.saturating_add(8);
        let end = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(es))
            .and_then(|n| start.checked_add(n))
            .ok_or_else(|| bad(format!("legacy storage {k}: size overflows")))?;
        let slice = blob.slice(start..end).ok_or_else(|| {
            bad(format!(
                "legacy storage {k}: {count} elements run past the end of the file"
            ))
        })?;
        storages.insert(k.clone(), slice);
        pos = end;
    }
    let mut notes = Vec::new();
    if pos < data.len() {
        notes.push(format!(
            "{} bytes after the last storage were ignored",
            data.len() - pos
        ));
    }
    let mut storage_bytes =
        |k: &str| -> Result<Option<Blob>, ConvertError> { Ok(storages.get(k).cloned()) };
    let found = torch_pickle::tensors(&object, data, key, &mut storage_bytes, !little)?;
    notes.extend(found.notes);
    if !little {
        notes.push(
            "legacy file written on a big-endian machine (sys-info little_endian = False): byte-swapped to little-endian"
                .into(),
        );
    }
    Plan::finish(found.tensors, notes, "pt")
}

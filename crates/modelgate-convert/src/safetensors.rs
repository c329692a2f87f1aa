//! A streaming safetensors writer: header first, then each tensor's bytes in name order.

use crate::plan::{Plan, TensorPlan};
use crate::{ConvertError, Input};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Write `plan` (made from `input`) to `out` (via a temporary file in the same directory,
/// renamed at the end). Contiguous tensors stored in the input file are copied file to file
/// (`std::io::copy`, which uses `copy_file_range` where it can); other tensors (views,
/// byte-swapped, decompressed) are gathered in one buffer each, so memory use is bounded by
/// the largest such tensor, not by the checkpoint.
pub fn write_safetensors(plan: &Plan, input: &Input, out: &Path) -> Result<(), ConvertError> {
    let header = header_bytes(plan, &input.sha256)?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = out
        .file_name()
        .ok_or_else(|| ConvertError::Unsupported(format!("bad output path {}", out.display())))?;
    let tmp = dir.join(format!(".{}.modelgate-tmp", file_name.to_string_lossy()));
    let result = (|| -> Result<(), ConvertError> {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        w.write_all(&(header.len() as u64).to_le_bytes())?;
        w.write_all(&header)?;
        for t in &plan.tensors {
            write_tensor(&mut w, t, input)?;
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            std::fs::rename(&tmp, out)?;
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The JSON header (keys sorted, `__metadata__` first by sort order), padded with spaces to
/// a multiple of 8 bytes so the data section is aligned.
pub(crate) fn header_bytes(plan: &Plan, source_sha256: &str) -> Result<Vec<u8>, ConvertError> {
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    let mut meta = Map::new();
    meta.insert("format".into(), json!(plan.format));
    // Like `safetensors.torch.save_model`: `{dropped: kept}` so that loaders can re-tie.
    for (dropped, kept) in &plan.dropped {
        meta.entry(dropped.clone()).or_insert_with(|| json!(kept));
    }
    meta.insert("source_sha256".into(), json!(source_sha256));
    meta.insert(
        "converted_by".into(),
        json!(concat!("modelgate ", env!("CARGO_PKG_VERSION"))),
    );
    map.insert("__metadata__".into(), Value::Object(meta));
    let mut pos: u64 = 0;
    for t in &plan.tensors {
        let end = pos
            .checked_add(t.nbytes() as u64)
            .ok_or_else(|| ConvertError::Unsupported("output too large".into()))?;
        map.insert(
            t.name.clone(),
            json!({"dtype": t.dtype.name(), "shape": t.shape, "data_offsets": [pos, end]}),
        );
        pos = end;
    }
    // A BTreeMap serialises with sorted keys whatever serde_json features are enabled.
    let mut h = serde_json::to_vec(&map).map_err(|e| ConvertError::Unsupported(e.to_string()))?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    Ok(h)
}

fn write_tensor(w: &mut impl Write, t: &TensorPlan, input: &Input) -> Result<(), ConvertError> {
    let big_endian = t.swap;
    let es = t.dtype.size();
    let numel = t.numel();
    if numel == 0 {
        return Ok(());
    }
    let storage = t.storage.as_slice();
    let oob = || ConvertError::Unsupported(format!("{}: view out of bounds", t.name));
    if t.contiguous && !big_endian {
        let start = t.offset.checked_mul(es).ok_or_else(oob)?;
        let end = start.checked_add(t.nbytes()).ok_or_else(oob)?;
        let bytes = storage.get(start..end).ok_or_else(oob)?;
        match input.file_offset(bytes) {
            Some(off) => copy_from_file(w, input.file(), off, bytes.len() as u64)?,
            None => w.write_all(bytes)?,
        }
        return Ok(());
    }
    // Gather element by element in row-major order (bounded by this tensor's size).
    let mut buf = Vec::with_capacity(t.nbytes());
    let mut idx = vec![0usize; t.shape.len()];
    for _ in 0..numel {
        let mut e = t.offset;
        for (i, s) in idx.iter().zip(&t.stride) {
            e = i
                .checked_mul(*s)
                .and_then(|x| e.checked_add(x))
                .ok_or_else(oob)?;
        }
        let b = e.checked_mul(es).ok_or_else(oob)?;
        let el = storage.get(b..b.saturating_add(es)).ok_or_else(oob)?;
        if big_endian {
            buf.extend(el.iter().rev());
        } else {
            buf.extend_from_slice(el);
        }
        // Increment the multi-index (last dimension fastest).
        for (i, d) in idx.iter_mut().zip(&t.shape).rev() {
            *i += 1;
            if *i < *d {
                break;
            }
            *i = 0;
        }
    }
    w.write_all(&buf)?;
    Ok(())
}

/// Copy `len` bytes at `offset` of `file` to `w` without holding them in memory.
fn copy_from_file(
    w: &mut impl Write,
    file: &std::fs::File,
    offset: u64,
    len: u64,
) -> Result<(), ConvertError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    let copied = std::io::copy(&mut f.take(len), w)?;
    if copied != len {
        return Err(ConvertError::Unsupported(format!(
            "input shrank while converting: {copied} of {len} bytes at offset {offset}"
        )));
    }
    Ok(())
}

//! PyTorch zip checkpoints (`torch.save` since 1.6): `<dir>/data.pkl`, storages in
//! `<dir>/data/<key>`, and `<dir>/byteorder` when written on a big-endian machine.

use crate::ConvertError;
use crate::plan::Plan;
use crate::torch_pickle::{self, bad};
use modelgate_core::Blob;
use modelgate_formats::pickle::run_stream;
use modelgate_formats::pickle::symbolic::VmLimits;
use modelgate_formats::zip::ZipArchive;
use std::collections::HashMap;

/// Most members a checkpoint zip may have.
const MAX_MEMBERS: usize = 1_000_000;

/// The `<dir>/data.pkl` member, if the archive has one.
fn data_pkl(archive: &ZipArchive) -> Option<&modelgate_formats::zip::ZipEntry> {
    archive
        .entries
        .iter()
        .find(|e| e.name.ends_with("/data.pkl") && e.name.matches('/').count() == 1)
}

/// Whether the zip in `blob` is a PyTorch checkpoint (has `<dir>/data.pkl`).
pub(crate) fn is_torch_zip(blob: &Blob) -> bool {
    data_pkl(&ZipArchive::parse(blob.as_slice(), MAX_MEMBERS)).is_some()
}

/// Plan the conversion of a PyTorch zip checkpoint.
pub fn plan_torch_zip(blob: &Blob, key: Option<&str>) -> Result<Plan, ConvertError> {
    let archive = ZipArchive::parse(blob.as_slice(), MAX_MEMBERS);
    let pkl = data_pkl(&archive)
        .ok_or_else(|| bad("not a PyTorch zip checkpoint (no <dir>/data.pkl member)"))?;
    let prefix = pkl.name.trim_end_matches("data.pkl").to_string();
    let by_name: HashMap<&str, usize> = archive
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    // Stored members are slices of the map; compressed ones (rare: torch.save stores) are
    // inflated in memory under the scanner's member budgets.
    let limits = modelgate_core::Limits::default();
    let read = |name: &str| -> Result<Option<Blob>, ConvertError> {
        let Some(e) = by_name.get(name).and_then(|i| archive.entries.get(*i)) else {
            return Ok(None);
        };
        archive
            .read(blob, e, limits.max_member_bytes, limits.max_ratio, false)
            .map(|m| Some(m.data))
            .map_err(|err| bad(format!("{name}: {err}")))
    };
    let pkl_data = read(&pkl.name)?.ok_or_else(|| bad("data.pkl unreadable"))?;
    let big_endian = match read(&format!("{prefix}byteorder"))? {
        Some(b) => match b.as_slice() {
            b"little" => false,
            b"big" => true,
            other => {
                return Err(bad(format!(
                    "unknown byteorder {:?}",
                    String::from_utf8_lossy(other)
                )));
            }
        },
        None => false,
    };
    let data = pkl_data.as_slice();
    let prog = run_stream(data, 0, VmLimits::default());
    let mut storage_bytes = |k: &str| -> Result<Option<Blob>, ConvertError> {
        if k.contains('/') || k.contains("..") {
            return Err(bad(format!("bad storage key {k:?}")));
        }
        read(&format!("{prefix}data/{k}"))
    };
    let found = torch_pickle::tensors(&prog, data, key, &mut storage_bytes, big_endian)?;
    let mut notes = found.notes;
    if big_endian {
        notes.push(
            "storages are big-endian (byteorder = big): byte-swapped to little-endian".into(),
        );
    }
    Plan::finish(found.tensors, notes, "pt")
}

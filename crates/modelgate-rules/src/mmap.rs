//! The one reviewed use of `unsafe`: memory-mapping a file for reading.

use std::fs::File;
use std::sync::Arc;

use modelgate_core::Blob;

struct Mapped(memmap2::Mmap);

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Files up to this size are read rather than mapped.
const SMALL_FILE: u64 = 1 << 20;

/// Map `file` read-only. Files that cannot be mapped (pipes, special files) are read instead.
pub fn map_file(file: &File, len: u64) -> std::io::Result<Blob> {
    if len == 0 {
        return Ok(Blob::from_vec(Vec::new()));
    }
    if len <= SMALL_FILE {
        // Small files: one read is cheaper than setting up and tearing down a mapping.
        use std::io::Read;
        let mut v = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut f = file;
        f.read_to_end(&mut v)?;
        return Ok(Blob::from_vec(v));
    }
    // SAFETY: the map is read-only and private to this process. If another process truncates
    // the file while we scan it, reads may fault (SIGBUS); the same holds for every mmap-based
    // scanner and is accepted for the speed it gives on multi-GB checkpoints. We never hand out
    // references that outlive the `Arc` owning the map.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::MmapOptions::new().map(file) };
    match map {
        Ok(m) => Ok(Blob::from_owner(Arc::new(Mapped(m)))),
        Err(_) => {
            use std::io::Read;
            let mut v = Vec::new();
            let mut f = file;
            f.read_to_end(&mut v)?;
            Ok(Blob::from_vec(v))
        }
    }
}

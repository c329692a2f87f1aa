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
        return read_small(file, len).map(Blob::from_vec);
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

/// Read a file whose size is known to be small with as few system calls as possible: one
/// `read` into a buffer of the size `fstat` reported (`File::read_to_end` would add another
/// `fstat`, an `lseek` and a final `read` that returns 0; `take` ends the read at the size
/// without asking the kernel, and reads into the buffer's spare capacity without zeroing it
/// first). A file that shrank since is returned as read; one that grew is read up to the size
/// it had when it was opened.
fn read_small(file: &File, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut v = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(len).read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_files_read_back_exactly() {
        let dir = std::env::temp_dir().join(format!("mg-mmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for size in [1usize, 4095, 4096, 70_000, (SMALL_FILE as usize) + 1] {
            let p = dir.join(format!("f{size}"));
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&p, &data).unwrap();
            let f = File::open(&p).unwrap();
            let blob = map_file(&f, f.metadata().unwrap().len()).unwrap();
            assert_eq!(blob.as_slice(), &data[..], "size {size}");
        }
        // A file that shrank after its size was taken is returned as it now is.
        let p = dir.join("shrunk");
        std::fs::write(&p, b"abc").unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(read_small(&f, 10).unwrap(), b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

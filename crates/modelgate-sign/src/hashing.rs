//! Parallel file and shard hashing.
//!
//! Files are hashed in parallel with rayon (largest first, so one big file does not end up
//! last on a single thread); in shard mode every `[start, end)` range is its own job, so one
//! big file spreads over all cores. Reads are positioned reads into a 1 MiB per-job buffer
//! (no mmap: a file truncated while mapped would raise SIGBUS). SHA-256 comes from `sha2`,
//! which picks the CPU's SHA extensions at run time.

use crate::error::Error;
use crate::walk::FileEntry;
use rayon::prelude::*;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

const BUF: usize = 1 << 20;
/// Read size for BLAKE3, large enough to split over threads.
#[cfg(feature = "blake3")]
const BLAKE3_BUF: usize = 8 << 20;
#[cfg(feature = "blake3")]
const BLAKE3_PARALLEL_MIN: usize = 1 << 20;

fn buf_len(algo: HashAlgo) -> usize {
    match algo {
        #[cfg(feature = "blake3")]
        HashAlgo::Blake3 => BLAKE3_BUF,
        _ => BUF,
    }
}

/// File hash algorithms of the OMS registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgo {
    Sha256,
    /// BLAKE2b-512.
    Blake2b,
    /// BLAKE3, 256-bit output.
    Blake3,
}

impl HashAlgo {
    /// Name written in `hash_type` / `algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Blake2b => "blake2b",
            HashAlgo::Blake3 => "blake3",
        }
    }

    /// Accepts the registry names (and model-signing's API alias `blake2`).
    pub fn parse(s: &str) -> Option<HashAlgo> {
        match s {
            "sha256" => Some(HashAlgo::Sha256),
            "blake2b" | "blake2" => Some(HashAlgo::Blake2b),
            "blake3" => Some(HashAlgo::Blake3),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgo::Sha256 | HashAlgo::Blake3 => 32,
            HashAlgo::Blake2b => 64,
        }
    }

    pub fn is_supported(self) -> bool {
        match self {
            HashAlgo::Sha256 | HashAlgo::Blake2b => true,
            HashAlgo::Blake3 => cfg!(feature = "blake3"),
        }
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Blake2b(Box<blake2::Blake2b512>),
    #[cfg(feature = "blake3")]
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    fn new(algo: HashAlgo) -> Result<Hasher, Error> {
        use sha2::Digest;
        Ok(match algo {
            HashAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlgo::Blake2b => Hasher::Blake2b(Box::new(blake2::Blake2b512::new())),
            #[cfg(feature = "blake3")]
            HashAlgo::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            #[cfg(not(feature = "blake3"))]
            HashAlgo::Blake3 => {
                return Err(Error::Usage(
                    "BLAKE3 support is not compiled in (cargo feature `blake3`)".into(),
                ));
            }
        })
    }

    fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake2b(h) => h.update(data),
            #[cfg(feature = "blake3")]
            Hasher::Blake3(h) => {
                // BLAKE3 is a tree hash: large reads are hashed on all cores (rayon), so one
                // big file does not stay on one core.
                if data.len() >= BLAKE3_PARALLEL_MIN {
                    h.update_rayon(data);
                } else {
                    h.update(data);
                }
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Blake2b(h) => h.finalize().to_vec(),
            #[cfg(feature = "blake3")]
            Hasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// Hash a whole file.
pub fn hash_file(path: &Path, algo: HashAlgo) -> Result<Vec<u8>, Error> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Hasher::new(algo)?;
    let mut buf = vec![0u8; buf_len(algo)];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finish())
}

/// Hash bytes `[start, end)` of a file. A file shorter than `end` is an error (it changed
/// between enumeration and hashing).
pub fn hash_range(path: &Path, start: u64, end: u64, algo: HashAlgo) -> Result<Vec<u8>, Error> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Hasher::new(algo)?;
    let cap = usize::try_from(end.saturating_sub(start))
        .unwrap_or(BUF)
        .clamp(1, BUF);
    let mut buf = vec![0u8; cap];
    let mut pos = start;
    while pos < end {
        let want = usize::try_from(end - pos).unwrap_or(cap).min(cap);
        let slot = buf.get_mut(..want).unwrap_or_default();
        let n = match f.read_at(slot, pos) {
            Ok(0) => {
                return Err(Error::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "file shrank while being hashed",
                    ),
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        h.update(buf.get(..n).unwrap_or_default());
        pos += n as u64;
    }
    Ok(h.finish())
}

/// Hash every file in parallel; the result is in the order of `files`.
pub fn hash_files(files: &[FileEntry], algo: HashAlgo) -> Result<Vec<Vec<u8>>, Error> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files.get(i).map_or(0, |f| f.size)));
    let mut results: Vec<(usize, Vec<u8>)> = order
        .par_iter()
        .map(|&i| {
            let f = files
                .get(i)
                .ok_or_else(|| Error::Usage("internal: file index out of range".into()))?;
            Ok((i, hash_file(&f.path, algo)?))
        })
        .collect::<Result<_, Error>>()?;
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, d)| d).collect())
}

/// One shard: file index, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardJob {
    pub file: usize,
    pub start: u64,
    pub end: u64,
}

/// Cut files into shards of `shard_size` bytes; zero-byte files give no shard (OMS §6.3.2).
pub fn shard_jobs(files: &[FileEntry], shard_size: u64) -> Vec<ShardJob> {
    let mut jobs = Vec::new();
    if shard_size == 0 {
        return jobs;
    }
    for (i, f) in files.iter().enumerate() {
        let mut start = 0u64;
        while start < f.size {
            let end = start.saturating_add(shard_size).min(f.size);
            jobs.push(ShardJob {
                file: i,
                start,
                end,
            });
            start = end;
        }
    }
    jobs
}

/// Hash every shard in parallel; result in the order of `jobs`.
pub fn hash_shards(
    files: &[FileEntry],
    jobs: &[ShardJob],
    algo: HashAlgo,
) -> Result<Vec<Vec<u8>>, Error> {
    jobs.par_iter()
        .map(|j| {
            let f = files
                .get(j.file)
                .ok_or_else(|| Error::Usage("internal: file index out of range".into()))?;
            hash_range(&f.path, j.start, j.end, algo)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").map_err(|e| Error::io(&p, e))?;
        assert_eq!(
            hex::encode(hash_file(&p, HashAlgo::Sha256)?),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_file(&p, HashAlgo::Blake2b)?.len(), 64);
        assert_eq!(
            hash_range(&p, 1, 3, HashAlgo::Sha256)?,
            hash_file(
                &{
                    let q = dir.path().join("bc");
                    std::fs::write(&q, b"bc").map_err(|e| Error::io(&q, e))?;
                    q
                },
                HashAlgo::Sha256
            )?
        );
        assert!(hash_range(&p, 0, 10, HashAlgo::Sha256).is_err());
        Ok(())
    }

    #[cfg(feature = "blake3")]
    #[test]
    fn blake3_parallel_reads_give_the_one_shot_digest() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let p = dir.path().join("big");
        let data: Vec<u8> = (0..(19u32 << 20) + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&p, &data).map_err(|e| Error::io(&p, e))?;
        assert_eq!(
            hash_file(&p, HashAlgo::Blake3)?,
            blake3::hash(&data).as_bytes().to_vec()
        );
        Ok(())
    }

    #[test]
    fn shards_skip_empty_files_and_cover_everything() {
        let f = |size| FileEntry {
            name: "x".into(),
            path: "x".into(),
            size,
            via_symlink: false,
        };
        let jobs = shard_jobs(&[f(0), f(10), f(8)], 4);
        let v: Vec<_> = jobs.iter().map(|j| (j.file, j.start, j.end)).collect();
        assert_eq!(v, [(1, 0, 4), (1, 4, 8), (1, 8, 10), (2, 0, 4), (2, 4, 8)]);
    }
}

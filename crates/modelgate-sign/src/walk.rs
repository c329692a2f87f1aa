//! File enumeration and canonical resource names (OMS v1.0 §6.1).
//!
//! Only regular files become resources; directories are not recorded. Names are
//! model-relative, `/`-separated, UTF-8, with no `.`/`..`/empty components. Ignore paths are
//! model-relative and match by whole path components (`.git` ignores `.git/HEAD` but not
//! `sub/.git/x`, nor `.github2`).

use crate::error::Error;
use std::path::{Path, PathBuf};

/// Paths OMS always ignores (top-level components only).
pub const DEFAULT_IGNORES: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Bookkeeping folder that `huggingface_hub` writes into local-dir downloads.
pub const HF_LOCAL_CACHE: &str = ".cache/huggingface";

/// One regular file of the model.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Canonical model-relative name (`"."` for a single-file model, as model-signing writes).
    pub name: String,
    /// Where to read it.
    pub path: PathBuf,
    pub size: u64,
    /// Reached through a symbolic link (only with `allow_symlinks`).
    pub via_symlink: bool,
}

/// Something in the tree that cannot be signed or verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkIssue {
    Symlink(String),
    Special { name: String, kind: &'static str },
    NonUtf8(PathBuf),
}

impl std::fmt::Display for WalkIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkIssue::Symlink(n) => write!(
                f,
                "{n}: is a symbolic link; OMS signatures cover regular files only (allow_symlinks is false)"
            ),
            WalkIssue::Special { name, kind } => {
                write!(
                    f,
                    "{name}: is a {kind}, not a regular file; refusing to read it"
                )
            }
            WalkIssue::NonUtf8(p) => write!(
                f,
                "{}: file name is not valid UTF-8; OMS names must be UTF-8",
                p.display()
            ),
        }
    }
}

/// The result of enumerating a model.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<FileEntry>,
    pub issues: Vec<WalkIssue>,
    /// The model path is a single file.
    pub single_file: bool,
}

/// Model-relative ignore list, matched by whole path components.
#[derive(Debug, Clone, Default)]
pub struct IgnoreSet {
    paths: Vec<String>,
}

impl IgnoreSet {
    /// The OMS defaults.
    pub fn defaults() -> IgnoreSet {
        IgnoreSet {
            paths: DEFAULT_IGNORES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Add a model-relative path (normalised: `./` and trailing `/` removed). Returns false
    /// when the path is not a valid relative name (absolute, `..`, empty).
    pub fn add(&mut self, p: &str) -> bool {
        match normalize_rel(p) {
            Some(n) => {
                if !self.paths.contains(&n) {
                    self.paths.push(n);
                }
                true
            }
            None => false,
        }
    }

    pub fn is_ignored(&self, name: &str) -> bool {
        self.paths.iter().any(|p| {
            name == p
                || (name.len() > p.len()
                    && name.starts_with(p.as_str())
                    && name.as_bytes().get(p.len()) == Some(&b'/'))
        })
    }

    /// Sorted, deduplicated list (the canonical `ignore_paths`).
    pub fn sorted(&self) -> Vec<String> {
        let mut v = self.paths.clone();
        v.sort();
        v.dedup();
        v
    }
}

/// Normalise a relative path string: strip `./` components and trailing `/`; reject `..`,
/// absolute paths and empty results.
pub fn normalize_rel(p: &str) -> Option<String> {
    if p.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => continue,
            ".." => return None,
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// Is `name` a canonical OMS resource name (relative, `/`-separated, no empty, `.` or `..`
/// components, no NUL)?
pub fn is_canonical_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\0')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "named pipe (FIFO)"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// Which symbolic links are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Links {
    /// Every symlink is an issue (OMS default, `allow_symlinks: false`).
    Refuse,
    /// Hash link targets under the link name (`allow_symlinks: true`).
    Follow,
    /// Hugging Face hub cache snapshot: follow only links whose target is a regular file in
    /// this repository's own `blobs/` directory (the hub's content-addressed store); any
    /// other link is still an issue.
    HfBlobs(PathBuf),
}

impl Links {
    fn follows(&self, link: &Path) -> bool {
        match self {
            Links::Refuse => false,
            Links::Follow => true,
            Links::HfBlobs(blobs) => {
                std::fs::canonicalize(link).is_ok_and(|t| t.parent() == Some(blobs.as_path()))
            }
        }
    }
}

/// If `model` is a snapshot of the Hugging Face hub cache
/// (`.../models--org--name/snapshots/<rev>`), the repository's `blobs/` directory.
pub fn hf_snapshot_blobs(model: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(model).ok()?;
    let snapshots = abs.parent()?;
    if snapshots.file_name()?.to_str()? != "snapshots" {
        return None;
    }
    let repo = snapshots.parent()?;
    if !repo.file_name()?.to_str()?.starts_with("models--") {
        return None;
    }
    let blobs = repo.join("blobs");
    blobs.is_dir().then_some(blobs)
}

/// Enumerate the regular files of `model` (a directory or a single file).
pub fn walk(model: &Path, ignore: &IgnoreSet, allow_symlinks: bool) -> Result<Walk, Error> {
    let links = if allow_symlinks {
        Links::Follow
    } else {
        Links::Refuse
    };
    walk_links(model, ignore, &links)
}

/// [`walk`] with an explicit symlink rule.
pub fn walk_links(model: &Path, ignore: &IgnoreSet, links: &Links) -> Result<Walk, Error> {
    let meta = std::fs::symlink_metadata(model).map_err(|e| Error::io(model, e))?;
    let mut out = Walk::default();
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::metadata(model).map_err(|e| Error::io(model, e))?;
        if target.is_dir() {
            // A symlinked model root (e.g. a path given through a link) is followed: the
            // signature covers what is inside.
            walk_dir(model, "", ignore, links, &mut out)?;
            return Ok(out);
        }
        if *links == Links::Refuse {
            out.issues.push(WalkIssue::Symlink(display_name(model)));
            return Ok(out);
        }
    }
    let meta = std::fs::metadata(model).map_err(|e| Error::io(model, e))?;
    if meta.is_dir() {
        walk_dir(model, "", ignore, links, &mut out)?;
    } else if meta.is_file() {
        out.single_file = true;
        out.files.push(FileEntry {
            name: ".".into(),
            path: model.to_path_buf(),
            size: meta.len(),
            via_symlink: ft.is_symlink(),
        });
    } else {
        out.issues.push(WalkIssue::Special {
            name: display_name(model),
            kind: kind_of(&meta.file_type()),
        });
    }
    Ok(out)
}

fn display_name(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn walk_dir(
    dir: &Path,
    prefix: &str,
    ignore: &IgnoreSet,
    links: &Links,
    out: &mut Walk,
) -> Result<(), Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut entries = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        entries.push(e);
    }
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Some(fname) = e.file_name().to_str().map(str::to_owned) else {
            out.issues.push(WalkIssue::NonUtf8(path));
            continue;
        };
        let name = if prefix.is_empty() {
            fname
        } else {
            format!("{prefix}/{fname}")
        };
        if ignore.is_ignored(&name) {
            continue;
        }
        let ft = e.file_type().map_err(|err| Error::io(&path, err))?;
        if ft.is_symlink() {
            if !links.follows(&path) {
                out.issues.push(WalkIssue::Symlink(name));
                continue;
            }
            let target = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(_) => {
                    out.issues
                        .push(WalkIssue::Symlink(format!("{name} (dangling)")));
                    continue;
                }
            };
            if target.is_file() {
                out.files.push(FileEntry {
                    name,
                    path,
                    size: target.len(),
                    via_symlink: true,
                });
            } else if target.is_dir() {
                // Following directory links invites cycles; refuse clearly.
                out.issues
                    .push(WalkIssue::Symlink(format!("{name} (link to a directory)")));
            } else {
                out.issues.push(WalkIssue::Special {
                    name,
                    kind: kind_of(&target.file_type()),
                });
            }
        } else if ft.is_dir() {
            walk_dir(&path, &name, ignore, links, out)?;
        } else if ft.is_file() {
            let size = e.metadata().map_err(|err| Error::io(&path, err))?.len();
            out.files.push(FileEntry {
                name,
                path,
                size,
                via_symlink: false,
            });
        } else {
            out.issues.push(WalkIssue::Special {
                name,
                kind: kind_of(&ft),
            });
        }
    }
    Ok(())
}

/// model-signing's order: compare names as lists of `/`-separated components (UTF-8 byte
/// order of each component = code-point order).
pub fn ms_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_matches_whole_components_only() {
        let ig = IgnoreSet::defaults();
        assert!(ig.is_ignored(".git"));
        assert!(ig.is_ignored(".git/HEAD"));
        assert!(!ig.is_ignored(".github2/x"));
        assert!(!ig.is_ignored("adapters/.git/config"));
        assert!(ig.is_ignored(".github/workflows/evil.yml"));
    }

    #[test]
    fn normalize_rejects_escapes() {
        assert_eq!(normalize_rel("./a//b/"), Some("a/b".into()));
        assert_eq!(normalize_rel("../a"), None);
        assert_eq!(normalize_rel("/etc"), None);
        assert_eq!(normalize_rel("."), None);
    }

    #[test]
    fn component_order_puts_dir_before_dotted_sibling() {
        let mut v = vec!["tokenizer.json", "tokenizer/vocab.txt", "tokenizer/.keep"];
        v.sort_by(|a, b| ms_cmp(a, b));
        assert_eq!(
            v,
            ["tokenizer/.keep", "tokenizer/vocab.txt", "tokenizer.json"]
        );
        let mut w = v.clone();
        w.sort();
        assert_eq!(w[0], "tokenizer.json");
    }

    #[test]
    fn canonical_names() {
        assert!(is_canonical_name("a/b.txt"));
        assert!(!is_canonical_name("/a"));
        assert!(!is_canonical_name("a/../b"));
        assert!(!is_canonical_name("a//b"));
        assert!(!is_canonical_name("a/"));
        assert!(!is_canonical_name("./a"));
    }
}

//! The scan engine: walking, dispatch, descent into containers, budgets and isolation.

use crate::registry::ANALYZERS;
use crate::rules::generic;
use modelgate_core::{
    Blob, FileReport, Finding, FormatId, Inventory, Limits, Report, ScanError, Severity, Skipped,
    Verdict, VirtualPath,
};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One byte stream to analyse: a file, or a member of a container.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: VirtualPath,
    pub data: Blob,
    pub format: FormatId,
    /// The last path segment (file or member name); used only to break ties.
    pub name: String,
}

/// An analyzer handles one family of formats.
pub trait Analyzer: Sync {
    fn id(&self) -> &'static str;
    /// Whether this analyzer handles artifacts of `format`.
    fn handles(&self, format: FormatId) -> bool;
    /// Analyse the artifact: emit findings, record inventory, descend into members.
    fn analyze(&self, cx: &mut ScanCx, artifact: &Artifact);
}

/// Progress callback: (files done, files total).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

#[derive(Clone, Default)]
pub struct ScanOptions {
    pub limits: Limits,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    pub progress: Option<Progress>,
}

/// Everything an analyzer may do while analysing one file on disk.
pub struct ScanCx {
    limits: Limits,
    findings: Vec<Finding>,
    inventory: Vec<Inventory>,
    skipped: Vec<Skipped>,
    expanded: u64,
    deadline: Instant,
    timed_out: bool,
}

impl ScanCx {
    fn new(limits: Limits) -> Self {
        let deadline = Instant::now() + Duration::from_millis(limits.max_millis_per_file);
        ScanCx {
            limits,
            findings: Vec::new(),
            inventory: Vec::new(),
            skipped: Vec::new(),
            expanded: 0,
            deadline,
            timed_out: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn emit(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// How many findings have been emitted so far (a mark for [`ScanCx::max_severity_since`]).
    pub fn findings_mark(&self) -> usize {
        self.findings.len()
    }

    /// Highest severity among the findings emitted after `mark`.
    pub fn max_severity_since(&self, mark: usize) -> Option<Severity> {
        self.findings
            .get(mark..)
            .and_then(|f| f.iter().map(|f| f.severity).max())
    }

    pub fn add_inventory(&mut self, inv: Inventory) {
        self.inventory.push(inv);
    }

    /// Mutable access to the inventory entry of `path` (to add imports or notes).
    pub fn inventory_mut(&mut self, path: &VirtualPath) -> Option<&mut Inventory> {
        let key = path.without_offset().to_string();
        self.inventory.iter_mut().rev().find(|i| i.path == key)
    }

    /// Record something deliberately not analysed.
    pub fn skip(&mut self, path: &VirtualPath, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            path: path.to_string(),
            reason: reason.into(),
        });
    }

    /// Account for `bytes` produced by decompression; false (and a finding) when the file's
    /// expansion budget is exhausted.
    pub fn charge_expanded(&mut self, path: &VirtualPath, bytes: u64) -> bool {
        self.expanded = self.expanded.saturating_add(bytes);
        if self.expanded > self.limits.max_expanded_bytes {
            let msg = format!(
                "decompressed data exceeds the per-file budget of {} bytes; the rest was not analysed",
                self.limits.max_expanded_bytes
            );
            self.emit(
                generic::budget_exceeded::META
                    .finding(path.clone(), msg)
                    .with("budget", "max_expanded_bytes"),
            );
            return false;
        }
        true
    }

    /// Whether the per-file time budget is spent (reported once as a finding).
    pub fn out_of_time(&mut self, path: &VirtualPath) -> bool {
        if self.timed_out {
            return true;
        }
        if Instant::now() > self.deadline {
            self.timed_out = true;
            let msg = format!(
                "analysis exceeded the {} ms time budget; the rest was not analysed",
                self.limits.max_millis_per_file
            );
            self.emit(
                generic::budget_exceeded::META
                    .finding(path.clone(), msg)
                    .with("budget", "max_millis_per_file"),
            );
            return true;
        }
        false
    }

    /// Sniff a member by content and analyse it with the analyzer for its format.
    pub fn descend(&mut self, path: VirtualPath, data: Blob) {
        let name = path.segments.last().cloned().unwrap_or_default();
        let name = name.rsplit('/').next().unwrap_or(&name).to_string();
        let format = modelgate_formats::sniff(data.as_slice(), &name);
        self.descend_as(path, data, format);
    }

    /// Analyse a member whose format is already known.
    pub fn descend_as(&mut self, path: VirtualPath, data: Blob, format: FormatId) {
        if path.depth() > self.limits.max_depth {
            let msg = format!(
                "containers nested deeper than {} levels; the innermost member was not analysed",
                self.limits.max_depth
            );
            self.emit(
                generic::budget_exceeded::META
                    .finding(path, msg)
                    .with("budget", "max_depth"),
            );
            return;
        }
        if self.out_of_time(&path) {
            return;
        }
        let name = path.segments.last().cloned().unwrap_or_default();
        let artifact = Artifact {
            path,
            data,
            format,
            name,
        };
        self.analyze(&artifact);
    }

    fn analyze(&mut self, artifact: &Artifact) {
        self.add_inventory(Inventory {
            path: artifact.path.without_offset().to_string(),
            format: artifact.format.name().to_string(),
            size: artifact.data.len() as u64,
            can_execute_code: artifact.format.can_execute_code(),
            imports: Vec::new(),
            notes: Vec::new(),
        });
        self.check_extension(artifact);
        let Some(analyzer) = ANALYZERS.iter().find(|a| a.handles(artifact.format)) else {
            return;
        };
        let result = catch_unwind(AssertUnwindSafe(|| analyzer.analyze(self, artifact)));
        if let Err(panic) = result {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let msg = format!(
                "the {} analyzer crashed on this input; it was not fully analysed",
                analyzer.id()
            );
            self.emit(
                generic::analyzer_crashed::META
                    .finding(artifact.path.clone(), msg)
                    .with("panic", what),
            );
        }
    }

    /// Code-capable content under a name that claims a format that cannot run code.
    fn check_extension(&mut self, artifact: &Artifact) {
        const NO_CODE: &[&str] = &[
            "safetensors",
            "gguf",
            "ggml",
            "onnx",
            "tflite",
            "json",
            "txt",
            "md",
            "csv",
            "tsv",
            "png",
            "jpg",
            "jpeg",
            "gif",
            "yaml",
            "yml",
            "model",
            "vocab",
            "parquet",
            "npy",
        ];
        if !artifact.format.can_execute_code() || artifact.path.offset.is_some() {
            return;
        }
        let name = artifact.name.rsplit('/').next().unwrap_or(&artifact.name);
        let Some((_, ext)) = name.rsplit_once('.') else {
            return;
        };
        let ext = ext.to_ascii_lowercase();
        if NO_CODE.contains(&ext.as_str()) {
            let msg = format!(
                "the name says .{ext}, but the content is {}, which can run code when loaded",
                artifact.format
            );
            self.emit(
                generic::extension_mismatch::META
                    .finding(artifact.path.clone(), msg)
                    .with("extension", ext)
                    .with("content", artifact.format.name()),
            );
        }
    }

    fn finish(mut self, path: String, format: FormatId, size: u64) -> FileReport {
        self.findings.sort_by(|a, b| {
            (
                a.location.segments.as_slice(),
                a.location.offset,
                &a.code,
                &a.message,
            )
                .cmp(&(
                    b.location.segments.as_slice(),
                    b.location.offset,
                    &b.code,
                    &b.message,
                ))
        });
        self.findings.dedup();
        for inv in &mut self.inventory {
            inv.imports.sort();
            inv.imports.dedup();
        }
        let verdict = Verdict::from_findings(&self.findings);
        let can_execute_code = self.inventory.iter().any(|i| i.can_execute_code);
        // The outermost artifact's format as its analyzer refined it (zip -> pytorch-zip),
        // or through a compression wrapper to what it wraps (zlib -> joblib).
        let mut shown = self
            .inventory
            .first()
            .map(|i| i.format.clone())
            .unwrap_or_else(|| format.name().to_string());
        if let FormatId::Compressed(_) = format
            && let Some(inner) = self.inventory.get(1)
        {
            shown = format!("{} ({shown})", inner.format);
        }
        FileReport {
            path,
            format: shown,
            size,
            verdict,
            can_execute_code,
            findings: self.findings,
            inventory: self.inventory,
            skipped: self.skipped,
        }
    }
}

/// Analyse in-memory bytes as if they were a file called `name`.
pub fn scan_bytes(name: &str, data: Blob, limits: &Limits) -> FileReport {
    let mut cx = ScanCx::new(limits.clone());
    let base = name.rsplit('/').next().unwrap_or(name);
    let format = modelgate_formats::sniff(data.as_slice(), base);
    let size = data.len() as u64;
    cx.descend_as(VirtualPath::file(name), data, format);
    cx.finish(name.to_string(), format, size)
}

fn scan_file(display: String, path: &Path, limits: &Limits) -> Result<FileReport, ScanError> {
    let err = |e: std::io::Error| ScanError {
        path: display.clone(),
        error: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    let blob = crate::mmap::map_file(&file, meta.len()).map_err(err)?;
    let mut report = scan_bytes(&display, blob, limits);
    if meta.len() == 0 {
        report.inventory.truncate(1);
    }
    Ok(report)
}

/// A file to scan: its path on disk and the path to display (as reached from the argument).
struct Job {
    disk: PathBuf,
    display: String,
}

fn collect(
    root: &Path,
    jobs: &mut Vec<Job>,
    errors: &mut Vec<ScanError>,
    skipped: &mut Vec<(String, String)>,
) {
    let meta = match std::fs::symlink_metadata(root) {
        Ok(m) => m,
        Err(e) => {
            errors.push(ScanError {
                path: root.display().to_string(),
                error: e.to_string(),
            });
            return;
        }
    };
    if meta.is_file() || (meta.file_type().is_symlink() && root.is_file()) {
        jobs.push(Job {
            disk: root.to_path_buf(),
            display: root.display().to_string(),
        });
        return;
    }
    // No sorting here: the report is sorted by path at the end.
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        match entry {
            Ok(e) => {
                let ft = e.file_type();
                if ft.is_file() {
                    jobs.push(Job {
                        disk: e.path().to_path_buf(),
                        display: e.path().display().to_string(),
                    });
                } else if ft.is_symlink() {
                    // Hugging Face caches are symlinks into blobs/: scan the target when it is
                    // a regular file, under the link's name.
                    if e.path().is_file() {
                        jobs.push(Job {
                            disk: e.path().to_path_buf(),
                            display: e.path().display().to_string(),
                        });
                    } else {
                        skipped.push((
                            e.path().display().to_string(),
                            "symlink to a directory or missing target (not followed)".into(),
                        ));
                    }
                }
            }
            Err(e) => errors.push(ScanError {
                path: e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| root.display().to_string()),
                error: e.to_string(),
            }),
        }
    }
}

/// Scan files and directories (recursively, every file, by content).
pub fn scan(paths: &[PathBuf], opts: &ScanOptions) -> Report {
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        collect(p, &mut jobs, &mut errors, &mut skipped);
    }
    let total = jobs.len();
    let done = AtomicUsize::new(0);
    let work = || {
        jobs.par_iter()
            .map(|job| {
                let r = scan_file(job.display.clone(), &job.disk, &opts.limits);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(p) = &opts.progress {
                    p(n, total);
                }
                r
            })
            .collect::<Vec<_>>()
    };
    let results = match opts.threads {
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        },
        None => work(),
    };
    let mut files = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(f) => files.push(f),
            Err(e) => errors.push(e),
        }
    }
    for (path, reason) in skipped {
        files.push(FileReport {
            path: path.clone(),
            format: "symlink".into(),
            size: 0,
            verdict: Verdict::Clean,
            can_execute_code: false,
            findings: Vec::new(),
            inventory: Vec::new(),
            skipped: vec![Skipped { path, reason }],
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Report {
        files,
        errors,
        roots: paths.iter().map(|p| p.display().to_string()).collect(),
    }
}

/// Well-known local model caches that exist on this machine.
pub fn default_model_caches() -> Vec<PathBuf> {
    let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
    let home = env("HOME").unwrap_or_default();
    let xdg_cache = env("XDG_CACHE_HOME").unwrap_or_else(|| home.join(".cache"));
    let mut c = Vec::new();
    if let Some(p) = env("HF_HUB_CACHE") {
        c.push(p);
    } else if let Some(p) = env("HF_HOME") {
        c.push(p.join("hub"));
    } else {
        c.push(xdg_cache.join("huggingface/hub"));
    }
    c.push(
        env("TORCH_HOME")
            .map(|p| p.join("hub"))
            .unwrap_or_else(|| xdg_cache.join("torch/hub")),
    );
    c.push(
        env("KERAS_HOME")
            .map(|p| p.join("models"))
            .unwrap_or_else(|| home.join(".keras/models")),
    );
    c.push(env("OLLAMA_MODELS").unwrap_or_else(|| home.join(".ollama/models")));
    c.push(home.join(".lmstudio/models"));
    c.push(home.join(".cache/lm-studio/models"));
    c.into_iter().filter(|p| p.is_dir()).collect()
}

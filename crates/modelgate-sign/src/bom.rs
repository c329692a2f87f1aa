//! CycloneDX 1.6 ML-BOM for a model and its supply chain, optionally signed as a DSSE
//! attestation bound to the model's OMS root digest.
//!
//! Covered: the model files (SHA-256, format, whether each can run code on load, the OMS
//! root digest), the code that runs it (git commit and dirty state read without running
//! repository hooks, lock files with hashes), the computing environment (OS, CPU, versions
//! of the ML packages the local Python sees), the training and fine-tuning data (hashes, row
//! counts, column schema) and the signature (bundle digest, claimed signer).

use crate::error::Error;
use crate::hashing::{self, HashAlgo};
use crate::oms::{self, IN_TOTO_PAYLOAD_TYPE};
use crate::sign::{self, ManifestOptions, SigningMaterial};
use crate::walk::{self, IgnoreSet};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Predicate type of a CycloneDX BOM attestation.
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";

/// What the scanner knows about one model file (given by the caller, e.g. the CLI).
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// Model-relative name, as in the manifest.
    pub name: String,
    pub format: String,
    pub can_execute_code: bool,
}

/// Inputs of [`build`].
#[derive(Debug, Clone, Default)]
pub struct BomInput {
    pub model: PathBuf,
    pub training_data: Vec<PathBuf>,
    pub fine_tuning_data: Vec<PathBuf>,
    pub code: Vec<PathBuf>,
    /// Per-file format facts from the scanner (optional).
    pub file_facts: Vec<FileFacts>,
    /// OMS signature of the model to describe (optional).
    pub signature: Option<PathBuf>,
    /// RFC 3339 timestamp to write (default: now). Fixed in tests for reproducible output.
    pub timestamp: Option<String>,
    /// Collect OS/CPU/Python package facts (default on in the CLI).
    pub environment: bool,
}

/// The BOM and the model digest it is bound to.
#[derive(Debug, Clone)]
pub struct Bom {
    pub json: Value,
    pub model_name: String,
    pub root_digest: String,
}

fn prop(name: &str, value: impl ToString) -> Value {
    json!({"name": name, "value": value.to_string()})
}

fn now_rfc3339() -> String {
    crate::certs::format_unix(crate::certs::now_secs())
}

/// A deterministic RFC 4122-shaped UUID (version 5 layout) from bytes.
fn uuid_from(bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    let mut b = [0u8; 16];
    b.copy_from_slice(h.get(..16).unwrap_or(&[0u8; 16]));
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        x.get(0..8).unwrap_or(""),
        x.get(8..12).unwrap_or(""),
        x.get(12..16).unwrap_or(""),
        x.get(16..20).unwrap_or(""),
        x.get(20..32).unwrap_or("")
    )
}

// ---- datasets ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct DataStats {
    rows: Option<u64>,
    columns: Vec<String>,
    format: &'static str,
}

const MAX_SCHEMA_ROWS: usize = 1000;

fn csv_split(line: &str, sep: char) -> Vec<String> {
    // Header fields only; quotes are stripped, embedded separators inside quotes honoured.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// Rows and column schema of a data file, by its content where the format is textual.
fn data_stats(path: &Path) -> Result<DataStats, Error> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "csv" | "tsv" => {
            let sep = if ext == "tsv" { '\t' } else { ',' };
            let mut header = String::new();
            r.read_line(&mut header).map_err(|e| Error::io(path, e))?;
            let columns = csv_split(header.trim_end_matches(['\r', '\n']), sep);
            let rows = count_lines(&mut r, path)?;
            Ok(DataStats {
                rows: Some(rows),
                columns,
                format: if ext == "tsv" { "tsv" } else { "csv" },
            })
        }
        "jsonl" | "ndjson" => {
            let mut rows = 0u64;
            let mut cols: Vec<String> = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                let n = r.read_line(&mut line).map_err(|e| Error::io(path, e))?;
                if n == 0 {
                    break;
                }
                if line.trim().is_empty() {
                    continue;
                }
                rows += 1;
                if rows <= MAX_SCHEMA_ROWS as u64
                    && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&line)
                {
                    for k in o.keys() {
                        if !cols.contains(k) {
                            cols.push(k.clone());
                        }
                    }
                }
            }
            Ok(DataStats {
                rows: Some(rows),
                columns: cols,
                format: "jsonl",
            })
        }
        "json" => {
            let mut buf = Vec::new();
            r.take(256 << 20)
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(path, e))?;
            let (rows, columns) = match serde_json::from_slice::<Value>(&buf) {
                Ok(Value::Array(a)) => {
                    let mut cols: Vec<String> = Vec::new();
                    for v in a.iter().take(MAX_SCHEMA_ROWS) {
                        if let Value::Object(o) = v {
                            for k in o.keys() {
                                if !cols.contains(k) {
                                    cols.push(k.clone());
                                }
                            }
                        }
                    }
                    (Some(a.len() as u64), cols)
                }
                _ => (None, Vec::new()),
            };
            Ok(DataStats {
                rows,
                columns,
                format: "json",
            })
        }
        "txt" => Ok(DataStats {
            rows: Some(count_lines(&mut r, path)?),
            columns: Vec::new(),
            format: "text",
        }),
        "parquet" => Ok(DataStats {
            format: "parquet",
            ..DataStats::default()
        }),
        _ => Ok(DataStats {
            format: "binary",
            ..DataStats::default()
        }),
    }
}

fn count_lines(r: &mut impl BufRead, path: &Path) -> Result<u64, Error> {
    let mut n = 0u64;
    let mut last_nl = true;
    loop {
        let buf = r.fill_buf().map_err(|e| Error::io(path, e))?;
        if buf.is_empty() {
            break;
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        last_nl = buf.last() == Some(&b'\n');
        let len = buf.len();
        r.consume(len);
    }
    if !last_nl {
        n += 1;
    }
    Ok(n)
}

fn dataset_component(path: &Path, purpose: &str, idx: usize) -> Result<(Value, String), Error> {
    let bom_ref = format!("{purpose}-data-{idx}");
    let name = sign::subject_name(path);
    let w = walk::walk(path, &IgnoreSet::defaults(), false)?;
    if let Some(issue) = w.issues.first() {
        return Err(Error::Model(format!("dataset {}: {issue}", path.display())));
    }
    if w.files.is_empty() {
        return Err(Error::Model(format!(
            "dataset {} has no files",
            path.display()
        )));
    }
    let digests = hashing::hash_files(&w.files, HashAlgo::Sha256)?;
    let mut files = Vec::new();
    let mut total_rows: Option<u64> = Some(0);
    let mut all_cols: Vec<String> = Vec::new();
    let mut resources = Vec::new();
    let mut bytes = 0u64;
    for (f, d) in w.files.iter().zip(digests.iter()) {
        let st = data_stats(&f.path)?;
        bytes += f.size;
        total_rows = match (total_rows, st.rows) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        for c in &st.columns {
            if !all_cols.contains(c) {
                all_cols.push(c.clone());
            }
        }
        let fname = if f.name == "." {
            name.clone()
        } else {
            f.name.clone()
        };
        let mut props = vec![
            prop("modelgate:data:format", st.format),
            prop("modelgate:size", f.size),
        ];
        if let Some(r) = st.rows {
            props.push(prop("modelgate:data:rows", r));
        }
        if !st.columns.is_empty() {
            props.push(prop("modelgate:data:columns", st.columns.join(",")));
        }
        files.push(json!({
            "type": "file",
            "bom-ref": format!("{bom_ref}:{fname}"),
            "name": fname,
            "hashes": [{"alg": "SHA-256", "content": hex::encode(d)}],
            "properties": props,
        }));
        resources.push(oms::Resource {
            name: f.name.clone(),
            digest: d.clone(),
            algorithm: "sha256".into(),
        });
    }
    oms::sort_resources(&mut resources, oms::Method::Files);
    let root = hex::encode(oms::root_digest(&resources));
    let mut props = vec![
        prop("modelgate:data:purpose", purpose),
        prop("modelgate:data:files", w.files.len()),
        prop("modelgate:size", bytes),
        prop("modelgate:oms:root-digest", &root),
    ];
    if let Some(r) = total_rows {
        props.push(prop("modelgate:data:rows", r));
    }
    if !all_cols.is_empty() {
        props.push(prop("modelgate:data:columns", all_cols.join(",")));
    }
    let description = format!(
        "{} data: {} file(s), {} bytes{}{}",
        purpose,
        w.files.len(),
        bytes,
        total_rows
            .map(|r| format!(", {r} rows"))
            .unwrap_or_default(),
        if all_cols.is_empty() {
            String::new()
        } else {
            format!(", columns {}", all_cols.join(", "))
        }
    );
    let c = json!({
        "type": "data",
        "bom-ref": bom_ref,
        "name": name,
        "description": description,
        "data": [{
            "type": "dataset",
            "name": name,
            "description": description,
            "contents": {"properties": [prop("modelgate:oms:root-digest", &root)]},
        }],
        "components": files,
        "properties": props,
    });
    Ok((c, bom_ref))
}

// ---- code ---------------------------------------------------------------------------------

const LOCK_FILES: [&str; 14] = [
    "Cargo.lock",
    "requirements.txt",
    "requirements.lock",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "pdm.lock",
    "environment.yml",
    "conda-lock.yml",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "go.sum",
    "pyproject.toml",
];

/// Read HEAD's commit from the `.git` directory without running git.
fn git_head(repo: &Path) -> Option<(String, Option<String>)> {
    let mut git = repo.join(".git");
    if git.is_file() {
        // worktree / submodule: "gitdir: <path>"
        let t = std::fs::read_to_string(&git).ok()?;
        let p = t.strip_prefix("gitdir:")?.trim();
        git = repo.join(p);
    }
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    if let Some(r) = head.strip_prefix("ref:") {
        let r = r.trim();
        if r.contains("..") {
            return None;
        }
        let branch = r.strip_prefix("refs/heads/").map(str::to_owned);
        if let Ok(c) = std::fs::read_to_string(git.join(r)) {
            return Some((c.trim().to_string(), branch));
        }
        let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
        for line in packed.lines() {
            if let Some((c, name)) = line.split_once(' ')
                && name == r
            {
                return Some((c.to_string(), branch));
            }
        }
        None
    } else if head.len() >= 40 && head.chars().all(|c| c.is_ascii_hexdigit()) {
        Some((head.to_string(), None))
    } else {
        None
    }
}

/// Dirty state via `git status --porcelain`, with repository-configured helpers that could
/// run code (fsmonitor) switched off. `None` when git is unavailable.
fn git_dirty(repo: &Path) -> Option<bool> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.untrackedCache=false",
            "status",
            "--porcelain",
            "--untracked-files=normal",
        ])
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(!out.stdout.is_empty())
}

fn code_component(dir: &Path, idx: usize) -> Result<(Value, String), Error> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--code {} is not a directory",
            dir.display()
        )));
    }
    let bom_ref = format!("code-{idx}");
    let name = sign::subject_name(dir);
    let mut props = Vec::new();
    let mut version = None;
    match git_head(dir) {
        Some((commit, branch)) => {
            props.push(prop("modelgate:git:commit", &commit));
            if let Some(b) = branch {
                props.push(prop("modelgate:git:branch", b));
            }
            version = Some(commit);
            match git_dirty(dir) {
                Some(d) => props.push(prop("modelgate:git:dirty", d)),
                None => props.push(prop("modelgate:git:dirty", "unknown")),
            }
        }
        None => props.push(prop("modelgate:git:commit", "none (not a git checkout)")),
    }
    let mut locks = Vec::new();
    for l in LOCK_FILES {
        let p = dir.join(l);
        if p.is_file() {
            let d = hashing::hash_file(&p, HashAlgo::Sha256)?;
            locks.push(json!({
                "type": "file",
                "bom-ref": format!("{bom_ref}:{l}"),
                "name": l,
                "hashes": [{"alg": "SHA-256", "content": hex::encode(d)}],
                "properties": [prop("modelgate:role", "lock-file")],
            }));
        }
    }
    let mut c = json!({
        "type": "application",
        "bom-ref": bom_ref,
        "name": name,
        "description": "code that loads or runs the model",
        "components": locks,
        "properties": props,
    });
    if let (Some(v), Some(o)) = (version, c.as_object_mut()) {
        o.insert("version".into(), Value::String(v));
    }
    Ok((c, bom_ref))
}

// ---- environment -------------------------------------------------------------------------

const PY_PACKAGES: [&str; 14] = [
    "torch",
    "transformers",
    "safetensors",
    "tokenizers",
    "accelerate",
    "numpy",
    "tensorflow",
    "keras",
    "jax",
    "onnx",
    "onnxruntime",
    "huggingface-hub",
    "sentencepiece",
    "vllm",
];

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
    };
    (
        get("NAME").unwrap_or_else(|| std::env::consts::OS.to_string()),
        get("VERSION_ID").unwrap_or_else(|| "unknown".into()),
    )
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|x| x.1.trim().to_string())
            })
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Versions of ML packages visible to `python3`, read from package metadata (no package is
/// imported).
fn python_packages() -> Vec<(String, String)> {
    let script = format!(
        "import importlib.metadata as m\nfor p in {:?}:\n    try: print(p, m.version(p))\n    except Exception: pass\n",
        PY_PACKAGES
    );
    let Ok(out) = std::process::Command::new("python3")
        .args(["-I", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect()
}

fn environment_components() -> (Vec<Value>, Vec<String>) {
    let (os_name, os_version) = os_release();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut comps = vec![
        json!({
            "type": "operating-system",
            "bom-ref": "env-os",
            "name": os_name,
            "version": os_version,
            "properties": [prop("modelgate:arch", std::env::consts::ARCH)],
        }),
        json!({
            "type": "device",
            "bom-ref": "env-cpu",
            "name": cpu_model(),
            "properties": [prop("modelgate:cpu:threads", cores)],
        }),
    ];
    let mut refs = vec!["env-os".to_string(), "env-cpu".to_string()];
    for (name, version) in python_packages() {
        let r = format!("env-py-{name}");
        comps.push(json!({
            "type": "library",
            "bom-ref": r,
            "name": name,
            "version": version,
            "purl": format!("pkg:pypi/{name}@{version}"),
        }));
        refs.push(r);
    }
    (comps, refs)
}

// ---- signature ---------------------------------------------------------------------------

fn signature_props(path: &Path) -> Result<Vec<Value>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut props = vec![
        prop("modelgate:signature:file", sign::subject_name(path)),
        prop(
            "modelgate:signature:sha256",
            hex::encode(Sha256::digest(&bytes)),
        ),
    ];
    match oms::parse_bundle(&bytes) {
        Ok(b) => {
            let claimed = match &b.material {
                oms::Material::PublicKey { hint, .. } => {
                    format!("key hint {}", hint.as_deref().unwrap_or("(none)"))
                }
                oms::Material::CertChain(chain) => chain
                    .first()
                    .and_then(|d| crate::certs::parse_der(d).ok())
                    .map(|c| format!("certificate {}", c.tbs_certificate().subject()))
                    .unwrap_or_else(|| "certificate (unparsable)".into()),
                oms::Material::Certificate(d) => crate::certs::parse_der(d)
                    .map(|c| format!("certificate {}", c.tbs_certificate().subject()))
                    .unwrap_or_else(|_| "certificate (unparsable)".into()),
            };
            props.push(prop(
                "modelgate:signature:format",
                "OMS v1.0 (Sigstore bundle v0.3, DSSE)",
            ));
            props.push(prop("modelgate:signature:claimed-signer", claimed));
            if let Ok(st) = oms::parse_statement(&b.payload) {
                props.push(prop(
                    "modelgate:signature:root-digest",
                    hex::encode(&st.root_digest),
                ));
            }
            props.push(prop(
                "modelgate:signature:verified",
                "no (use modelgate verify or gate)",
            ));
        }
        Err(e) => props.push(prop("modelgate:signature:error", e)),
    }
    Ok(props)
}

// ---- the BOM -----------------------------------------------------------------------------

/// Build the BOM.
pub fn build(input: &BomInput) -> Result<Bom, Error> {
    let mopts = ManifestOptions {
        signature_path: input.signature.clone(),
        ..ManifestOptions::default()
    };
    let manifest = sign::build_manifest(&input.model, &mopts)?;
    let root = manifest.root_digest_hex();
    let model_name = manifest.subject_name.clone();

    let mut files = Vec::new();
    for r in &manifest.resources {
        let fname = if r.name == "." {
            model_name.clone()
        } else {
            r.name.clone()
        };
        let mut props = Vec::new();
        if let Some(f) = input
            .file_facts
            .iter()
            .find(|f| f.name == r.name || f.name == fname)
        {
            props.push(prop("modelgate:format", &f.format));
            props.push(prop("modelgate:can-execute-code", f.can_execute_code));
        }
        let mut c = json!({
            "type": "file",
            "bom-ref": format!("model:{fname}"),
            "name": fname,
            "hashes": [{"alg": "SHA-256", "content": hex::encode(&r.digest)}],
        });
        if !props.is_empty()
            && let Some(o) = c.as_object_mut()
        {
            o.insert("properties".into(), Value::Array(props));
        }
        files.push(c);
    }
    let any_code = input.file_facts.iter().any(|f| f.can_execute_code);

    let mut components = Vec::new();
    let mut dataset_refs = Vec::new();
    let mut seed = root.clone().into_bytes();
    for (i, d) in input.training_data.iter().enumerate() {
        let (c, r) = dataset_component(d, "training", i)?;
        seed.extend_from_slice(c.to_string().as_bytes());
        components.push(c);
        dataset_refs.push(json!({"ref": r}));
    }
    for (i, d) in input.fine_tuning_data.iter().enumerate() {
        let (c, r) = dataset_component(d, "fine-tuning", i)?;
        seed.extend_from_slice(c.to_string().as_bytes());
        components.push(c);
        dataset_refs.push(json!({"ref": r}));
    }
    let mut model_deps = Vec::new();
    for (i, d) in input.code.iter().enumerate() {
        let (c, r) = code_component(d, i)?;
        components.push(c);
        model_deps.push(r);
    }
    if input.environment {
        let (env, refs) = environment_components();
        components.extend(env);
        model_deps.extend(refs);
    }

    let mut model_props = vec![
        prop("modelgate:oms:root-digest", &root),
        prop("modelgate:files", manifest.file_count),
        prop("modelgate:size", manifest.total_bytes),
    ];
    if !input.file_facts.is_empty() {
        model_props.push(prop("modelgate:can-execute-code", any_code));
    }
    if let Some(sig) = &input.signature {
        model_props.extend(signature_props(sig)?);
    }
    let mut model_card = json!({"bom-ref": "model-card"});
    if !dataset_refs.is_empty()
        && let Some(o) = model_card.as_object_mut()
    {
        o.insert("modelParameters".into(), json!({"datasets": dataset_refs}));
    }
    let model = json!({
        "type": "machine-learning-model",
        "bom-ref": "model",
        "name": model_name,
        "description": format!("model files; OMS root digest sha256:{root}"),
        "components": files,
        "modelCard": model_card,
        "properties": model_props,
    });
    let mut deps = vec![json!({"ref": "model", "dependsOn": model_deps})];
    for r in &model_deps {
        deps.push(json!({"ref": r}));
    }
    components.insert(0, model);
    let timestamp = input.timestamp.clone().unwrap_or_else(now_rfc3339);
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid_from(&seed)),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{
                "type": "application",
                "name": "modelgate",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": {
                "type": "machine-learning-model",
                "bom-ref": "bom-subject",
                "name": model_name,
                "properties": [prop("modelgate:oms:root-digest", &root)],
            },
        },
        "components": components,
        "dependencies": deps,
    });
    Ok(Bom {
        json: bom,
        model_name,
        root_digest: root,
    })
}

/// Wrap the BOM in an in-toto statement bound to the model's root digest and sign it into a
/// DSSE bundle (the same bundle format as OMS signatures).
pub fn sign_bom(bom: &Bom, material: &SigningMaterial) -> Result<Vec<u8>, Error> {
    let statement = json!({
        "_type": oms::STATEMENT_TYPE,
        "subject": [{"name": bom.model_name, "digest": {"sha256": bom.root_digest}}],
        "predicateType": CYCLONEDX_PREDICATE,
        "predicate": bom.json,
    });
    let payload = serde_json::to_vec(&statement).map_err(|e| Error::Json(e.to_string()))?;
    sign::sign_payload(material, &payload)
}

/// Check a signed BOM attestation: its signature (`trust`), its predicate type, and that it
/// is bound to `expected_root` (the model's OMS root digest). Returns the BOM.
pub fn verify_bom_attestation(
    bundle: &[u8],
    trust: &crate::verify::Trust,
    expected_root: &str,
) -> Result<Value, String> {
    let mut out = crate::verify::Outcome::default();
    let b = crate::verify::verify_envelope(bundle, trust, &mut out)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            out.problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
    if b.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err("not an in-toto payload".into());
    }
    let v: Value = serde_json::from_slice(&b.payload).map_err(|e| e.to_string())?;
    if v.get("predicateType").and_then(Value::as_str) != Some(CYCLONEDX_PREDICATE) {
        return Err("predicateType is not a CycloneDX BOM".into());
    }
    let subj = v
        .pointer("/subject/0/digest/sha256")
        .and_then(Value::as_str)
        .ok_or("no subject digest")?;
    if subj != expected_root {
        return Err(format!(
            "the BOM describes model {subj}, not this model ({expected_root})"
        ));
    }
    v.get("predicate")
        .cloned()
        .ok_or_else(|| "no predicate".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_from(b"x");
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes().get(14), Some(&b'5'));
    }

    #[test]
    fn csv_header_split_honours_quotes() {
        assert_eq!(csv_split("a,\"b,c\", d", ','), ["a", "b,c", "d"]);
    }
}

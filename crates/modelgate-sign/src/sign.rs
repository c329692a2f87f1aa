//! Building the manifest of a model and signing it into an OMS bundle.

use crate::error::Error;
use crate::hashing::{self, HashAlgo};
use crate::keys::PrivateKey;
use crate::oms::{self, Material, Method, Resource, Serialization};
use crate::walk::{self, DEFAULT_IGNORES, HF_LOCAL_CACHE, IgnoreSet};
use std::path::{Path, PathBuf};

/// How to hash and what to leave out.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    pub hash: HashAlgo,
    pub method: Method,
    /// Model-relative paths to leave out (files or whole directories).
    pub ignore_paths: Vec<String>,
    /// Leave out `.git`, `.gitattributes`, `.github`, `.gitignore` (OMS default: yes).
    pub ignore_git_paths: bool,
    /// Hash symlink targets under the link's name instead of refusing symlinks.
    pub allow_symlinks: bool,
    /// Where the signature will be written; left out when it lies inside the model.
    pub signature_path: Option<PathBuf>,
    /// Leave out `.cache/huggingface` (huggingface_hub download bookkeeping) when present.
    pub ignore_hf_cache: bool,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            hash: HashAlgo::Sha256,
            method: Method::Files,
            ignore_paths: Vec::new(),
            ignore_git_paths: true,
            allow_symlinks: false,
            signature_path: None,
            ignore_hf_cache: true,
        }
    }
}

/// A model's manifest: resources in model-signing order plus the serialization block.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub subject_name: String,
    pub resources: Vec<Resource>,
    pub serialization: Serialization,
    /// Number of files hashed (shard mode has more resources than files).
    pub file_count: usize,
    pub total_bytes: u64,
}

impl Manifest {
    /// Hex root (subject) digest.
    pub fn root_digest_hex(&self) -> String {
        hex::encode(oms::root_digest(&self.resources))
    }
}

/// `path` relative to `model` if it lies inside it, `/`-separated.
pub fn relative_inside(model: &Path, path: &Path) -> Option<String> {
    let model = std::fs::canonicalize(model).ok()?;
    let abs = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(_) => {
            // Not written yet: resolve the parent and re-attach the file name.
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            let parent = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
            parent.join(path.file_name()?)
        }
    };
    let rel = abs.strip_prefix(&model).ok()?;
    let s = rel.to_str()?;
    walk::normalize_rel(s)
}

/// The subject name model-signing writes: the last component of the model path.
pub fn subject_name(model: &Path) -> String {
    let named = model
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned);
    named
        .or_else(|| {
            std::fs::canonicalize(model)
                .ok()
                .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        })
        .unwrap_or_else(|| "model".into())
}

/// Enumerate and hash a model.
pub fn build_manifest(model: &Path, opts: &ManifestOptions) -> Result<Manifest, Error> {
    let mut ignore = if opts.ignore_git_paths {
        IgnoreSet::defaults()
    } else {
        IgnoreSet::default()
    };
    for p in &opts.ignore_paths {
        if !ignore.add(p) {
            return Err(Error::Usage(format!(
                "ignore path {p:?} is not a relative path inside the model"
            )));
        }
    }
    if let Some(sig) = &opts.signature_path
        && let Some(rel) = relative_inside(model, sig)
    {
        ignore.add(&rel);
    }
    if opts.ignore_hf_cache && model.join(HF_LOCAL_CACHE).is_dir() {
        ignore.add(HF_LOCAL_CACHE);
    }
    let w = walk::walk(model, &ignore, opts.allow_symlinks)?;
    if let Some(issue) = w.issues.first() {
        let more = w.issues.len().saturating_sub(1);
        return Err(Error::Model(if more > 0 {
            format!("cannot sign: {issue} (and {more} more)")
        } else {
            format!("cannot sign: {issue}")
        }));
    }
    if w.files.is_empty() {
        return Err(Error::Model(format!(
            "cannot sign {}: the model has no files (OMS requires at least one)",
            model.display()
        )));
    }
    let total_bytes = w.files.iter().map(|f| f.size).sum();
    let mut resources = match opts.method {
        Method::Files => {
            let digests = hashing::hash_files(&w.files, opts.hash)?;
            w.files
                .iter()
                .zip(digests)
                .map(|(f, d)| Resource {
                    name: f.name.clone(),
                    digest: d,
                    algorithm: opts.hash.name().to_string(),
                })
                .collect::<Vec<_>>()
        }
        Method::Shards { size } => {
            if size == 0 {
                return Err(Error::Usage("shard size must be positive".into()));
            }
            let jobs = hashing::shard_jobs(&w.files, size);
            let digests = hashing::hash_shards(&w.files, &jobs, opts.hash)?;
            let alg = format!("{}-sharded-{size}", opts.hash.name());
            jobs.iter()
                .zip(digests)
                .filter_map(|(j, d)| {
                    let f = w.files.get(j.file)?;
                    Some(Resource {
                        name: format!("{}:{}:{}", f.name, j.start, j.end),
                        digest: d,
                        algorithm: alg.clone(),
                    })
                })
                .collect()
        }
    };
    if resources.is_empty() {
        return Err(Error::Model(
            "cannot sign: every file is empty, and shard manifests omit empty files".into(),
        ));
    }
    oms::sort_resources(&mut resources, opts.method);
    let mut ignore_paths = ignore.sorted();
    if !opts.ignore_git_paths {
        ignore_paths.retain(|p| !DEFAULT_IGNORES.contains(&p.as_str()));
    }
    Ok(Manifest {
        subject_name: subject_name(model),
        resources,
        serialization: Serialization {
            method: opts.method,
            hash: opts.hash,
            allow_symlinks: opts.allow_symlinks,
            ignore_paths,
        },
        file_count: w.files.len(),
        total_bytes,
    })
}

/// Who signs.
pub enum SigningMaterial {
    /// Key method.
    Key(PrivateKey),
    /// Certificate method: the leaf certificate (DER) for `key` and its intermediates.
    Certificate {
        key: PrivateKey,
        leaf: Vec<u8>,
        chain: Vec<Vec<u8>>,
    },
}

/// The signed result.
#[derive(Debug, Clone)]
pub struct Signed {
    pub bundle: Vec<u8>,
    pub payload: Vec<u8>,
    pub manifest: Manifest,
}

/// Sign a DSSE payload and wrap it into a bundle.
pub fn sign_payload(material: &SigningMaterial, payload: &[u8]) -> Result<Vec<u8>, Error> {
    let pae = oms::pae(oms::IN_TOTO_PAYLOAD_TYPE, payload);
    let (sig, mat) = match material {
        SigningMaterial::Key(k) => (
            k.sign(&pae),
            Material::PublicKey {
                hint: Some(k.public_key().hint()?),
                raw: None,
            },
        ),
        SigningMaterial::Certificate { key, leaf, chain } => {
            let cert = crate::certs::parse_der(leaf).map_err(|e| Error::Cert(e.to_string()))?;
            let spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                .map_err(|e| Error::Cert(e.to_string()))?;
            if spki != key.public_key().to_spki_der()? {
                return Err(Error::Cert(
                    "the signing certificate does not belong to the private key".into(),
                ));
            }
            let mut all = vec![leaf.clone()];
            all.extend(chain.iter().cloned());
            (key.sign(&pae), Material::CertChain(all))
        }
    };
    oms::write_bundle(&mat, payload, &sig).map_err(|e| Error::Json(e.to_string()))
}

/// Hash `model` and sign it.
pub fn sign_model(
    model: &Path,
    material: &SigningMaterial,
    opts: &ManifestOptions,
) -> Result<Signed, Error> {
    let manifest = build_manifest(model, opts)?;
    let payload = oms::canonical_statement(
        &manifest.subject_name,
        &manifest.resources,
        &manifest.serialization,
    )
    .map_err(|e| Error::Json(e.to_string()))?;
    let bundle = sign_payload(material, &payload)?;
    Ok(Signed {
        bundle,
        payload,
        manifest,
    })
}

//! `modelgate sign`: sign a model directory or file into an OMS v1.0 bundle that
//! `model-signing` verifies. Flag names mirror model-signing's (`--private_key` spellings are
//! accepted too).

use anyhow::{Context, bail};
use modelgate_sign::certs;
use modelgate_sign::hashing::HashAlgo;
use modelgate_sign::keys::PrivateKey;
use modelgate_sign::oms::Method;
use modelgate_sign::sign::{self, ManifestOptions, SigningMaterial};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The model: a directory or a single file.
    model: PathBuf,
    /// ECDSA private key (PEM: PKCS#8, encrypted PKCS#8 or SEC1; P-256, P-384 or P-521).
    #[arg(long = "private-key", alias = "private_key")]
    private_key: PathBuf,
    /// Password of an encrypted private key.
    #[arg(long)]
    password: Option<String>,
    /// Certificate method: the signing (leaf) certificate for the private key (PEM).
    #[arg(long = "signing-certificate", alias = "signing_certificate")]
    signing_certificate: Option<PathBuf>,
    /// Certificate method: intermediate certificates to include (PEM; repeatable).
    #[arg(long = "certificate-chain", alias = "certificate_chain", num_args = 1..)]
    certificate_chain: Vec<PathBuf>,
    /// Where to write the signature bundle.
    #[arg(long, default_value = "model.sig")]
    signature: PathBuf,
    /// Paths to leave out (files or directories, inside the model; repeatable).
    #[arg(long = "ignore-paths", alias = "ignore_paths", num_args = 1..)]
    ignore_paths: Vec<PathBuf>,
    /// Do not leave out .git, .gitattributes, .github and .gitignore.
    #[arg(long = "no-ignore-git-paths", alias = "no_ignore_git_paths")]
    no_ignore_git_paths: bool,
    /// Hash symlink targets under the link name instead of refusing symlinks.
    #[arg(long = "allow-symlinks", alias = "allow_symlinks")]
    allow_symlinks: bool,
    /// File hash: sha256 (default), blake2b or blake3. model-signing's CLI verifies sha256 only.
    #[arg(long = "hash", default_value = "sha256")]
    hash: String,
    /// Shard files into pieces of this many bytes (shard mode; model-signing's CLI cannot
    /// verify shard signatures).
    #[arg(long = "shard-size", alias = "shard_size")]
    shard_size: Option<u64>,
    /// Keep huggingface_hub's .cache/huggingface bookkeeping in the signature.
    #[arg(long = "include-hf-cache")]
    include_hf_cache: bool,
}

/// Turn a user ignore path into a model-relative name: paths given relative to the current
/// directory (`model/README.md`, as model-signing takes them) or relative to the model.
pub(crate) fn model_relative(model: &Path, p: &Path) -> anyhow::Result<String> {
    if let Some(rel) = sign::relative_inside(model, p) {
        return Ok(rel);
    }
    let s = p
        .to_str()
        .with_context(|| format!("ignore path {} is not UTF-8", p.display()))?;
    if p.is_absolute() || s.split('/').any(|c| c == "..") {
        bail!("ignore path {} is not inside the model", p.display());
    }
    modelgate_sign::walk::normalize_rel(s)
        .with_context(|| format!("ignore path {} is not a path inside the model", p.display()))
}

pub(crate) fn read_pem_certs(paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        out.extend(
            certs::load_pem_certs_der(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        );
    }
    Ok(out)
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if !args.model.exists() {
        bail!("model {} does not exist", args.model.display());
    }
    let key_pem = std::fs::read(&args.private_key)
        .with_context(|| format!("cannot read private key {}", args.private_key.display()))?;
    let key = PrivateKey::from_pem(&key_pem, args.password.as_deref().map(str::as_bytes))
        .with_context(|| format!("private key {}", args.private_key.display()))?;
    let material = match &args.signing_certificate {
        Some(leaf) => {
            let leaf = read_pem_certs(std::slice::from_ref(leaf))?;
            let [leaf] = <[Vec<u8>; 1]>::try_from(leaf).map_err(|_| {
                anyhow::anyhow!("--signing-certificate must hold exactly one certificate")
            })?;
            SigningMaterial::Certificate {
                key,
                leaf,
                chain: read_pem_certs(&args.certificate_chain)?,
            }
        }
        None => {
            if !args.certificate_chain.is_empty() {
                bail!("--certificate-chain needs --signing-certificate");
            }
            SigningMaterial::Key(key)
        }
    };
    let Some(hash) = HashAlgo::parse(&args.hash).filter(|h| h.is_supported()) else {
        bail!(
            "unsupported hash {:?} (sha256, blake2b or blake3)",
            args.hash
        );
    };
    let method = match args.shard_size {
        None => Method::Files,
        Some(0) => bail!("--shard-size must be positive"),
        Some(size) => Method::Shards { size },
    };
    let mut ignore_paths = Vec::new();
    for p in &args.ignore_paths {
        ignore_paths.push(model_relative(&args.model, p)?);
    }
    let opts = ManifestOptions {
        hash,
        method,
        ignore_paths,
        ignore_git_paths: !args.no_ignore_git_paths,
        allow_symlinks: args.allow_symlinks,
        signature_path: Some(args.signature.clone()),
        ignore_hf_cache: !args.include_hf_cache,
    };
    let signed = sign::sign_model(&args.model, &material, &opts)?;
    std::fs::write(&args.signature, &signed.bundle)
        .with_context(|| format!("cannot write {}", args.signature.display()))?;
    let m = &signed.manifest;
    println!(
        "Signed {} ({} files, {} bytes, {} {}) -> {}\nroot digest sha256:{}",
        args.model.display(),
        m.file_count,
        m.total_bytes,
        hash.name(),
        match method {
            Method::Files => "files".to_string(),
            Method::Shards { size } => format!("shards of {size}"),
        },
        args.signature.display(),
        m.root_digest_hex()
    );
    Ok(0)
}

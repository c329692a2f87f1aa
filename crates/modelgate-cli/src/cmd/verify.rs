//! `modelgate verify`: check an OMS signature (ours or model-signing's) against a model and
//! say exactly what is wrong. Exit 0 only when valid, 1 when invalid, 2 on usage/IO errors.

use anyhow::{Context, bail};
use modelgate_sign::certs::{self, CertTime};
use modelgate_sign::keys::PublicKey;
use modelgate_sign::oms::Method;
use modelgate_sign::verify::{self, Outcome, SignerInfo, Trust, VerifyOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model: a directory or a single file.
    pub model: PathBuf,
    /// The signature bundle.
    #[arg(long, default_value = "model.sig")]
    pub signature: PathBuf,
    /// Key method: the trusted public key (PEM).
    #[arg(
        long = "public-key",
        alias = "public_key",
        conflicts_with = "certificate_chain"
    )]
    pub public_key: Option<PathBuf>,
    /// Certificate method: trusted root certificates (PEM; repeatable).
    #[arg(long = "certificate-chain", alias = "certificate_chain", visible_alias = "ca", num_args = 1..)]
    pub certificate_chain: Vec<PathBuf>,
    /// Certificate method: the leaf must carry one of these SANs (email, URI or DNS; repeatable).
    #[arg(long)]
    pub identity: Vec<String>,
    /// When certificates must be valid: `now` (default), `signing` (the leaf's notBefore, as
    /// model-signing does) or a Unix time in seconds.
    #[arg(long = "cert-time", default_value = "now")]
    pub cert_time: String,
    /// Extra paths to leave out (inside the model; repeatable).
    #[arg(long = "ignore-paths", alias = "ignore_paths", num_args = 1..)]
    pub ignore_paths: Vec<PathBuf>,
    /// Tolerate files the signature does not list (missing or changed files still fail).
    #[arg(long = "ignore-unsigned-files", alias = "ignore_unsigned_files")]
    pub ignore_unsigned_files: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn parse_cert_time(s: &str) -> anyhow::Result<CertTime> {
    Ok(match s {
        "now" => CertTime::Now,
        "signing" | "leaf-not-before" => CertTime::LeafNotBefore,
        t => CertTime::At(
            t.parse::<u64>()
                .with_context(|| format!("--cert-time {t:?}: use now, signing or Unix seconds"))?,
        ),
    })
}

/// Build the verification options from the command line (shared with `gate`).
pub(crate) fn options(args: &Args) -> anyhow::Result<VerifyOptions> {
    let trust = match (&args.public_key, args.certificate_chain.is_empty()) {
        (Some(p), true) => {
            let pem = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            Trust::Key(
                PublicKey::from_pem(&pem).with_context(|| format!("public key {}", p.display()))?,
            )
        }
        (None, false) => {
            let mut anchors = Vec::new();
            for p in &args.certificate_chain {
                let text =
                    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                anchors.extend(
                    certs::load_pem_certs(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
                );
            }
            Trust::Certificates {
                anchors,
                time: parse_cert_time(&args.cert_time)?,
                identities: args.identity.clone(),
            }
        }
        (None, true) => {
            bail!("give --public-key (key method) or --certificate-chain (certificate method)")
        }
        (Some(_), false) => bail!("give either --public-key or --certificate-chain, not both"),
    };
    if !args.identity.is_empty() && args.public_key.is_some() {
        bail!("--identity applies to the certificate method only");
    }
    let mut opts = VerifyOptions::new(trust);
    for p in &args.ignore_paths {
        opts.ignore_paths
            .push(super::sign::model_relative(&args.model, p)?);
    }
    opts.ignore_unsigned_files = args.ignore_unsigned_files;
    opts.signature_path = Some(args.signature.clone());
    Ok(opts)
}

/// Run the verification; `Err` only for usage/IO errors.
pub(crate) fn check(args: &Args) -> anyhow::Result<Outcome> {
    if !args.model.exists() {
        bail!("model {} does not exist", args.model.display());
    }
    let opts = options(args)?;
    let bundle = std::fs::read(&args.signature)
        .with_context(|| format!("cannot read signature {}", args.signature.display()))?;
    Ok(verify::verify(&args.model, &bundle, &opts)?)
}

pub(crate) fn signer_text(s: &SignerInfo) -> String {
    match s {
        SignerInfo::Key { curve, hint } => format!("key {} {}", curve.name(), hint),
        SignerInfo::Certificate(l) => format!(
            "certificate {:?} (SANs {:?}) issued by {:?}, trusted root {:?}",
            l.subject, l.sans, l.issuer, l.anchor
        ),
    }
}

pub(crate) fn outcome_json(o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "valid": o.is_valid(),
        "problems": o.problems.iter().map(|p| serde_json::json!({"code": p.code(), "message": p.to_string()})).collect::<Vec<_>>(),
        "warnings": o.warnings,
        "signer": o.signer.as_ref().map(signer_text),
        "root_digest": o.root_digest,
        "hash": o.hash,
        "method": o.method.map(|m| match m { Method::Files => "files".to_string(), Method::Shards { size } => format!("shards:{size}") }),
        "files_checked": o.files_checked,
        "signed_resources": o.signed_resources,
    })
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let o = check(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome_json(&o))?);
    } else {
        for w in &o.warnings {
            eprintln!("warning: {w}");
        }
        if o.is_valid() {
            println!(
                "Verification succeeded: {} ({} files, {}), root digest sha256:{}",
                args.model.display(),
                o.files_checked,
                o.hash.unwrap_or("?"),
                o.root_digest.as_deref().unwrap_or("?")
            );
            if let Some(s) = &o.signer {
                println!("signed by {}", signer_text(s));
            }
        } else {
            println!(
                "Verification failed: {} with {} ({} problem{})",
                args.model.display(),
                args.signature.display(),
                o.problems.len(),
                if o.problems.len() == 1 { "" } else { "s" }
            );
            for p in &o.problems {
                println!("  [{}] {p}", p.code());
            }
        }
    }
    Ok(if o.is_valid() { 0 } else { 1 })
}

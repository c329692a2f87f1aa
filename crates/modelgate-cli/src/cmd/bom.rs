//! `modelgate bom PATH`: a CycloneDX 1.6 ML-BOM for the model and its supply chain (model
//! files with hashes, formats and code-execution capability, code, environment, training
//! and fine-tuning data, signature). `--sign` also writes a DSSE attestation of the BOM bound
//! to the model's OMS root digest.

use anyhow::{Context, bail};
use modelgate_sign::bom::{self, BomInput, FileFacts};
use modelgate_sign::keys::PrivateKey;
use modelgate_sign::sign::SigningMaterial;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The model: a directory or a single file.
    path: PathBuf,
    /// Training data (file or directory; repeatable).
    #[arg(long = "training-data")]
    training_data: Vec<PathBuf>,
    /// Fine-tuning data (file or directory; repeatable).
    #[arg(long = "fine-tuning-data")]
    fine_tuning_data: Vec<PathBuf>,
    /// Code that loads or runs the model (a directory, ideally a git checkout; repeatable).
    #[arg(long)]
    code: Vec<PathBuf>,
    /// The model's OMS signature to describe (default: PATH/model.sig when present).
    #[arg(long)]
    signature: Option<PathBuf>,
    /// Skip the scan that adds each file's format and code-execution capability.
    #[arg(long = "no-scan")]
    no_scan: bool,
    /// Leave out the computing environment (OS, CPU, Python ML packages).
    #[arg(long = "no-environment")]
    no_environment: bool,
    /// Write the BOM here instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Also sign the BOM (DSSE attestation, predicate https://cyclonedx.org/bom).
    #[arg(long)]
    sign: bool,
    /// Signing key for --sign.
    #[arg(long = "private-key", alias = "private_key")]
    private_key: Option<PathBuf>,
    /// Password of an encrypted private key.
    #[arg(long)]
    password: Option<String>,
    /// Certificate method for --sign: the signing certificate.
    #[arg(long = "signing-certificate", alias = "signing_certificate")]
    signing_certificate: Option<PathBuf>,
    /// Certificate method for --sign: intermediates (repeatable).
    #[arg(long = "certificate-chain", alias = "certificate_chain", num_args = 1..)]
    certificate_chain: Vec<PathBuf>,
    /// Where to write the signed attestation (default: model.bom.sig).
    #[arg(long, default_value = "model.bom.sig")]
    attestation: PathBuf,
}

fn file_facts(model: &Path) -> Vec<FileFacts> {
    let report = modelgate_rules::scan(
        std::slice::from_ref(&model.to_path_buf()),
        &modelgate_rules::ScanOptions::default(),
    );
    let root = model.display().to_string();
    report
        .files
        .iter()
        .map(|f| {
            let name = if f.path == root {
                ".".to_string()
            } else {
                f.path
                    .strip_prefix(&root)
                    .map(|s| s.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| f.path.clone())
            };
            FileFacts {
                name,
                format: f.format.clone(),
                can_execute_code: f.can_execute_code,
            }
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if !args.path.exists() {
        bail!("{} does not exist", args.path.display());
    }
    let signature = args.signature.clone().or_else(|| {
        let p = args.path.join("model.sig");
        p.is_file().then_some(p)
    });
    let input = BomInput {
        model: args.path.clone(),
        training_data: args.training_data.clone(),
        fine_tuning_data: args.fine_tuning_data.clone(),
        code: args.code.clone(),
        file_facts: if args.no_scan {
            Vec::new()
        } else {
            file_facts(&args.path)
        },
        signature,
        timestamp: None,
        environment: !args.no_environment,
    };
    let b = bom::build(&input)?;
    let text = serde_json::to_string_pretty(&b.json)?;
    match &args.output {
        Some(p) => std::fs::write(p, format!("{text}\n"))
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => println!("{text}"),
    }
    if args.sign {
        let Some(key_path) = &args.private_key else {
            bail!("--sign needs --private-key");
        };
        let pem = std::fs::read(key_path)
            .with_context(|| format!("cannot read {}", key_path.display()))?;
        let key = PrivateKey::from_pem(&pem, args.password.as_deref().map(str::as_bytes))
            .with_context(|| format!("private key {}", key_path.display()))?;
        let material = match &args.signing_certificate {
            Some(leaf) => {
                let leaf = super::sign::read_pem_certs(std::slice::from_ref(leaf))?;
                let [leaf] = <[Vec<u8>; 1]>::try_from(leaf).map_err(|_| {
                    anyhow::anyhow!("--signing-certificate must hold exactly one certificate")
                })?;
                SigningMaterial::Certificate {
                    key,
                    leaf,
                    chain: super::sign::read_pem_certs(&args.certificate_chain)?,
                }
            }
            None => SigningMaterial::Key(key),
        };
        let bundle = bom::sign_bom(&b, &material)?;
        std::fs::write(&args.attestation, bundle)
            .with_context(|| format!("cannot write {}", args.attestation.display()))?;
        eprintln!(
            "signed BOM attestation for sha256:{} -> {}",
            b.root_digest,
            args.attestation.display()
        );
    }
    Ok(0)
}

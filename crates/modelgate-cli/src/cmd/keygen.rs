//! `modelgate keygen`: make an ECDSA key pair for OMS model signing.

use anyhow::{Context, bail};
use modelgate_sign::keys::{Curve, PrivateKey};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Curve: p256 (default), p384 or p521.
    #[arg(long, default_value = "p256")]
    curve: String,
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(
        long = "private-key",
        alias = "private_key",
        default_value = "signing.key.pem"
    )]
    private_key: PathBuf,
    /// Where to write the public key (SPKI PEM).
    #[arg(
        long = "public-key",
        alias = "public_key",
        default_value = "signing.pub.pem"
    )]
    public_key: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

fn write_new(path: &PathBuf, data: &[u8], mode: u32, force: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).mode(mode);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut f = o.open(path).with_context(|| {
        if path.exists() && !force {
            format!("{} exists (use --force to overwrite)", path.display())
        } else {
            format!("cannot write {}", path.display())
        }
    })?;
    f.write_all(data)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let Some(curve) = Curve::parse(&args.curve) else {
        bail!("unknown curve {:?} (use p256, p384 or p521)", args.curve);
    };
    let key = PrivateKey::generate(curve)?;
    let public = key.public_key();
    write_new(
        &args.private_key,
        key.to_pkcs8_pem()?.as_bytes(),
        0o600,
        args.force,
    )?;
    write_new(
        &args.public_key,
        public.to_pem()?.as_bytes(),
        0o644,
        args.force,
    )?;
    println!(
        "wrote {} key pair: {} (private), {} (public); key hint {}",
        curve.name(),
        args.private_key.display(),
        args.public_key.display(),
        public.hint()?
    );
    Ok(0)
}

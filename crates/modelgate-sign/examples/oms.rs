//! Minimal sign/verify driver over the library, for benchmarks (`bench/sign_hash.sh`) without
//! building the whole CLI: `oms sign MODEL KEY SIG [shard_size]` / `oms verify MODEL PUB SIG`.

use modelgate_sign::keys::{PrivateKey, PublicKey};
use modelgate_sign::oms::Method;
use modelgate_sign::sign::{self, ManifestOptions, SigningMaterial};
use modelgate_sign::verify::{self, Trust, VerifyOptions};
use std::path::PathBuf;
use std::process::ExitCode;

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| {
        a.get(i)
            .cloned()
            .ok_or("usage: oms sign|verify MODEL KEY SIG")
    };
    let model = PathBuf::from(arg(2)?);
    match arg(1)?.as_str() {
        "sign" => {
            let key = PrivateKey::from_pem(&std::fs::read(arg(3)?)?, None)?;
            let mut opts = ManifestOptions {
                signature_path: Some(arg(4)?.into()),
                ..ManifestOptions::default()
            };
            if let Some(s) = a.get(5) {
                opts.method = Method::Shards { size: s.parse()? };
            }
            let s = sign::sign_model(&model, &SigningMaterial::Key(key), &opts)?;
            std::fs::write(arg(4)?, &s.bundle)?;
            Ok(true)
        }
        "verify" => {
            let key = PublicKey::from_pem(&std::fs::read(arg(3)?)?)?;
            let mut opts = VerifyOptions::new(Trust::Key(key));
            opts.signature_path = Some(arg(4)?.into());
            let o = verify::verify(&model, &std::fs::read(arg(4)?)?, &opts)?;
            for p in &o.problems {
                eprintln!("{p}");
            }
            Ok(o.is_valid())
        }
        _ => Err("usage: oms sign|verify MODEL KEY SIG".into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

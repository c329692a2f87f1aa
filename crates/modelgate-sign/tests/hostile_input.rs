//! Hostile bundles never panic, and a mutated bundle is only accepted when what is signed
//! (payload and signature bytes) is unchanged.

use modelgate_sign::keys::PublicKey;
use modelgate_sign::oms;
use modelgate_sign::verify::{self, Trust, VerifyOptions};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing")
}

fn opts() -> VerifyOptions {
    let pem = std::fs::read(fx().join("keys/p256.pub.pem")).unwrap_or_default();
    match PublicKey::from_pem(&pem) {
        Ok(k) => VerifyOptions::new(Trust::Key(k)),
        Err(e) => panic!("fixture key: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_rejected_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let o = verify::verify(&fx().join("model"), &data, &opts());
        prop_assert!(o.is_ok_and(|o| !o.is_valid()));
        let _ = oms::parse_statement(&data);
    }

    #[test]
    fn mutated_bundles_are_only_valid_if_the_signed_bytes_survive(
        pos in 0usize..3891, byte in any::<u8>()
    ) {
        let orig = std::fs::read(fx().join("signatures/key-p256.sig")).unwrap_or_default();
        let mut m = orig.clone();
        if let Some(b) = m.get_mut(pos % orig.len().max(1)) {
            *b = byte;
        }
        let o = verify::verify(&fx().join("model"), &m, &opts());
        prop_assert!(o.is_ok());
        if o.is_ok_and(|o| o.is_valid()) {
            let a = oms::parse_bundle(&orig);
            let b = oms::parse_bundle(&m);
            prop_assert!(a.is_ok() && b.is_ok());
            if let (Ok(a), Ok(b)) = (a, b) {
                prop_assert_eq!(a.payload, b.payload);
                prop_assert_eq!(a.signatures, b.signatures);
            }
        }
    }
}

//! ECDSA keys for OMS: P-256/SHA-256, P-384/SHA-384, P-521/SHA-512.
//!
//! Public keys are read from PEM SPKI (`PUBLIC KEY`), private keys from PEM PKCS#8
//! (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, needs a password) or SEC1
//! (`EC PRIVATE KEY`). Signatures are DER-encoded and deterministic (RFC 6979).

use crate::error::KeyError;
use const_oid::ObjectIdentifier;
use p256::ecdsa::signature::{Signer, Verifier};
use pkcs8::{DecodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};
use spki::{DecodePublicKey, EncodePublicKey};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The curves OMS allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// Name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The hash paired with the curve for signing.
    pub fn hash_name(self) -> &'static str {
        match self {
            Curve::P256 => "SHA-256",
            Curve::P384 => "SHA-384",
            Curve::P521 => "SHA-512",
        }
    }

    /// Parse `p256`, `P-256`, `secp256r1`, ... (case-insensitive).
    pub fn parse(s: &str) -> Option<Curve> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "p256" | "secp256r1" | "prime256v1" => Some(Curve::P256),
            "p384" | "secp384r1" => Some(Curve::P384),
            "p521" | "secp521r1" => Some(Curve::P521),
            _ => None,
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Option<Curve> {
        if oid == OID_P256 {
            Some(Curve::P256)
        } else if oid == OID_P384 {
            Some(Curve::P384)
        } else if oid == OID_P521 {
            Some(Curve::P521)
        } else {
            None
        }
    }
}

/// An ECDSA public key on one of the OMS curves.
#[derive(Clone, Debug)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// An ECDSA private key on one of the OMS curves.
pub enum PrivateKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.curve().name())
    }
}

fn describe_algorithm(oid: ObjectIdentifier) -> String {
    if oid == OID_ED25519 {
        "Ed25519".into()
    } else if oid == OID_ED448 {
        "Ed448".into()
    } else if oid == OID_RSA {
        "RSA".into()
    } else {
        format!("algorithm {oid}")
    }
}

/// Decide the curve of an SPKI (DER), or say clearly why it is not an OMS key.
pub(crate) fn spki_curve(der: &[u8]) -> Result<Curve, KeyError> {
    let spki = spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| KeyError::Malformed(format!("not a SubjectPublicKeyInfo: {e}")))?;
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
        return Err(KeyError::Unsupported(format!(
            "{} keys are not an OMS key type (only ECDSA P-256, P-384, P-521)",
            describe_algorithm(spki.algorithm.oid)
        )));
    }
    let curve_oid = spki
        .algorithm
        .parameters_oid()
        .map_err(|_| KeyError::Malformed("EC public key without a named curve".into()))?;
    Curve::from_oid(curve_oid).ok_or_else(|| {
        KeyError::Unsupported(format!(
            "EC curve {curve_oid} is not an OMS curve (only P-256, P-384, P-521)"
        ))
    })
}

fn pem_decode(text: &[u8]) -> Result<(String, Vec<u8>), KeyError> {
    // Accept a file with leading comments/whitespace: start at the first BEGIN line.
    let start = find_subslice(text, b"-----BEGIN ")
        .ok_or_else(|| KeyError::Malformed("no PEM block (-----BEGIN ...) found".into()))?;
    let slice = text.get(start..).unwrap_or_default();
    // Cut after the first END line so trailing blocks/garbage do not fail the decoder.
    let end = find_subslice(slice, b"-----END ")
        .and_then(|e| {
            let rest = slice.get(e..)?;
            let nl = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            Some(e + nl)
        })
        .unwrap_or(slice.len());
    let block = slice.get(..end).unwrap_or(slice);
    let (label, der) = der::pem::decode_vec(block)
        .map_err(|e| KeyError::Malformed(format!("invalid PEM: {e}")))?;
    Ok((label.to_string(), der))
}

pub(crate) fn find_subslice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

impl PublicKey {
    /// Read a PEM `PUBLIC KEY` (SPKI).
    pub fn from_pem(text: &[u8]) -> Result<PublicKey, KeyError> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki_der(&der),
            "CERTIFICATE" => Err(KeyError::Malformed(
                "this PEM file holds a certificate, not a public key (use the certificate method)"
                    .into(),
            )),
            l if l.contains("PRIVATE KEY") => Err(KeyError::Malformed(
                "this PEM file holds a private key; give the public key".into(),
            )),
            other => Err(KeyError::Malformed(format!(
                "unexpected PEM label {other:?} (expected PUBLIC KEY)"
            ))),
        }
    }

    /// Read a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let curve = spki_curve(der)?;
        let bad =
            |e: spki::Error| KeyError::Malformed(format!("invalid {} key: {e}", curve.name()));
        Ok(match curve {
            Curve::P256 => {
                PublicKey::P256(p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?)
            }
            Curve::P384 => {
                PublicKey::P384(p384::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?)
            }
            Curve::P521 => {
                PublicKey::P521(p521::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?)
            }
        })
    }

    pub fn curve(&self) -> Curve {
        match self {
            PublicKey::P256(_) => Curve::P256,
            PublicKey::P384(_) => Curve::P384,
            PublicKey::P521(_) => Curve::P521,
        }
    }

    /// Canonical DER SubjectPublicKeyInfo (uncompressed point).
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = match self {
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::P384(k) => k.to_public_key_der(),
            PublicKey::P521(k) => k.to_public_key_der(),
        }
        .map_err(|e| KeyError::Malformed(format!("cannot encode public key: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Canonical PEM: label `PUBLIC KEY`, 64-column base64, `\n`, final `\n`.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let der = self.to_spki_der()?;
        der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &der)
            .map_err(|e| KeyError::Malformed(format!("cannot encode PEM: {e}")))
    }

    /// The OMS `publicKey.hint`: hex SHA-256 of the canonical PEM text.
    pub fn hint(&self) -> Result<String, KeyError> {
        Ok(hex::encode(Sha256::digest(self.to_pem()?.as_bytes())))
    }

    /// Verify a DER ECDSA signature over `msg` with the curve's hash.
    pub fn verify(&self, msg: &[u8], der_sig: &[u8]) -> Result<(), SigProblem> {
        match self {
            PublicKey::P256(k) => {
                let s = p256::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| SigProblem::NotDer)?;
                k.verify(msg, &s).map_err(|_| SigProblem::Invalid)
            }
            PublicKey::P384(k) => {
                let s = p384::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| SigProblem::NotDer)?;
                k.verify(msg, &s).map_err(|_| SigProblem::Invalid)
            }
            PublicKey::P521(k) => {
                let s = p521::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| SigProblem::NotDer)?;
                k.verify(msg, &s).map_err(|_| SigProblem::Invalid)
            }
        }
    }
}

impl PublicKey {
    /// Verify a DER ECDSA signature over an already computed hash (X.509 signatures, whose
    /// hash is chosen by the signature algorithm rather than by the curve).
    pub fn verify_prehash(&self, prehash: &[u8], der_sig: &[u8]) -> Result<(), SigProblem> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        match self {
            PublicKey::P256(k) => {
                let s = p256::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| SigProblem::NotDer)?;
                k.verify_prehash(prehash, &s)
                    .map_err(|_| SigProblem::Invalid)
            }
            PublicKey::P384(k) => {
                let s = p384::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| SigProblem::NotDer)?;
                k.verify_prehash(prehash, &s)
                    .map_err(|_| SigProblem::Invalid)
            }
            PublicKey::P521(k) => {
                let s = p521::ecdsa::DerSignature::from_bytes(der_sig)
                    .map_err(|_| SigProblem::NotDer)?;
                k.verify_prehash(prehash, &s)
                    .map_err(|_| SigProblem::Invalid)
            }
        }
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigProblem {
    /// The bytes are not a DER ECDSA signature (e.g. raw IEEE P1363 `r||s`).
    NotDer,
    /// Well-formed, but not made by this key over these bytes.
    Invalid,
}

impl PrivateKey {
    /// Read a PEM private key: PKCS#8, encrypted PKCS#8 (with `password`) or SEC1.
    pub fn from_pem(text: &[u8], password: Option<&[u8]>) -> Result<PrivateKey, KeyError> {
        let (label, der) = pem_decode(text)?;
        match label.as_str() {
            "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or_else(|| {
                    KeyError::NeedPassword("the private key is encrypted; give --password".into())
                })?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
                    .map_err(|e| KeyError::Malformed(format!("invalid encrypted key: {e}")))?;
                let doc = info.decrypt(password).map_err(|_| {
                    KeyError::NeedPassword("cannot decrypt the private key: wrong password?".into())
                })?;
                PrivateKey::from_pkcs8_der(doc.as_bytes())
            }
            "EC PRIVATE KEY" => PrivateKey::from_sec1_der(&der),
            "PUBLIC KEY" => Err(KeyError::Malformed(
                "this PEM file holds a public key; signing needs the private key".into(),
            )),
            other => Err(KeyError::Malformed(format!(
                "unexpected PEM label {other:?} (expected PRIVATE KEY or EC PRIVATE KEY)"
            ))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|e| KeyError::Malformed(format!("invalid PKCS#8 key: {e}")))?;
        if info.algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(KeyError::Unsupported(format!(
                "{} keys are not an OMS key type (only ECDSA P-256, P-384, P-521)",
                describe_algorithm(info.algorithm.oid)
            )));
        }
        let oid = info
            .algorithm
            .parameters_oid()
            .map_err(|_| KeyError::Malformed("EC private key without a named curve".into()))?;
        let curve = Curve::from_oid(oid)
            .ok_or_else(|| KeyError::Unsupported(format!("EC curve {oid} is not an OMS curve")))?;
        let bad =
            |e: pkcs8::Error| KeyError::Malformed(format!("invalid {} key: {e}", curve.name()));
        Ok(match curve {
            Curve::P256 => {
                PrivateKey::P256(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?)
            }
            Curve::P384 => {
                PrivateKey::P384(p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?)
            }
            Curve::P521 => {
                PrivateKey::P521(p521::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?)
            }
        })
    }

    fn from_sec1_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKey::P256(k.into()));
        }
        if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKey::P384(k.into()));
        }
        if let Ok(k) = p521::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKey::P521(k.into()));
        }
        Err(KeyError::Malformed(
            "invalid SEC1 EC private key, or not on P-256/P-384/P-521".into(),
        ))
    }

    /// Generate a fresh key from the operating system's random source.
    pub fn generate(curve: Curve) -> Result<PrivateKey, KeyError> {
        // Rejection sampling on the scalar bytes; a failure is astronomically unlikely.
        for _ in 0..64 {
            let mut buf = vec![0u8; curve_scalar_len(curve)];
            getrandom::fill(&mut buf)
                .map_err(|e| KeyError::Malformed(format!("no OS randomness: {e}")))?;
            if curve == Curve::P521
                && let Some(b) = buf.first_mut()
            {
                *b &= 0x01; // P-521 scalars are 521 bits
            }
            let key = match curve {
                Curve::P256 => p256::ecdsa::SigningKey::from_slice(&buf)
                    .ok()
                    .map(PrivateKey::P256),
                Curve::P384 => p384::ecdsa::SigningKey::from_slice(&buf)
                    .ok()
                    .map(PrivateKey::P384),
                Curve::P521 => p521::ecdsa::SigningKey::from_slice(&buf)
                    .ok()
                    .map(PrivateKey::P521),
            };
            if let Some(k) = key {
                return Ok(k);
            }
        }
        Err(KeyError::Malformed("could not generate a valid key".into()))
    }

    pub fn curve(&self) -> Curve {
        match self {
            PrivateKey::P256(_) => Curve::P256,
            PrivateKey::P384(_) => Curve::P384,
            PrivateKey::P521(_) => Curve::P521,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            PrivateKey::P384(k) => PublicKey::P384(*k.verifying_key()),
            PrivateKey::P521(k) => PublicKey::P521(*k.verifying_key()),
        }
    }

    /// Unencrypted PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        use pkcs8::EncodePrivateKey;
        let pem = match self {
            PrivateKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            PrivateKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            PrivateKey::P521(k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| KeyError::Malformed(format!("cannot encode private key: {e}")))?;
        Ok(pem.to_string())
    }

    /// Deterministic (RFC 6979) ECDSA over `msg` with the curve's hash, DER-encoded.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            PrivateKey::P256(k) => {
                let s: p256::ecdsa::DerSignature = k.sign(msg);
                s.as_bytes().to_vec()
            }
            PrivateKey::P384(k) => {
                let s: p384::ecdsa::DerSignature = k.sign(msg);
                s.as_bytes().to_vec()
            }
            PrivateKey::P521(k) => {
                let s: p521::ecdsa::DerSignature = k.sign(msg);
                s.as_bytes().to_vec()
            }
        }
    }
}

fn curve_scalar_len(curve: Curve) -> usize {
    match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
        Curve::P521 => 66,
    }
}

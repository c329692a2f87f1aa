//! Narrow X.509 path validation for the OMS certificate method.
//!
//! leaf (from the bundle) -> intermediates (from the bundle) -> a trust anchor (given by the
//! verifier). ECDSA P-256/P-384/P-521 signatures with SHA-256/384/512. Every certificate on
//! the path must be valid at the verification time (now by default: stricter than
//! model-signing, which checks at the leaf's notBefore), CA certificates need
//! basicConstraints cA and keyCertSign, path lengths are honoured, unknown critical
//! extensions are refused, and the leaf must be usable for code signing.

use crate::keys::{PublicKey, SigProblem};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const EKU_ANY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
const EXT_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXT_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const EXT_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const EXT_CERT_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");

const MAX_DEPTH: usize = 8;

/// At what time certificates must be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertTime {
    /// The current time (default, OMS spec §8.2).
    Now,
    /// A given Unix time in seconds (e.g. from a trusted timestamp).
    At(u64),
    /// model-signing's behaviour: the leaf's notBefore (an expired leaf still verifies).
    LeafNotBefore,
}

/// Why a certificate chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertProblem {
    #[error("malformed certificate: {0}")]
    Malformed(String),
    #[error("untrusted root: {0}")]
    UntrustedRoot(String),
    #[error("certificate {subject:?} expired at {not_after} (checked at {at})")]
    Expired {
        subject: String,
        not_after: String,
        at: String,
    },
    #[error("certificate {subject:?} is not valid before {not_before} (checked at {at})")]
    NotYetValid {
        subject: String,
        not_before: String,
        at: String,
    },
    #[error("wrong usage: {0}")]
    WrongUsage(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("certificate identity mismatch: wanted {wanted:?}, certificate has {found:?}")]
    IdentityMismatch {
        wanted: Vec<String>,
        found: Vec<String>,
    },
}

/// What we learnt about a verified leaf.
#[derive(Debug, Clone)]
pub struct LeafInfo {
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names (email, URI, DNS), as strings.
    pub sans: Vec<String>,
    /// Subject of the trust anchor that ended the path.
    pub anchor: String,
    pub not_before: u64,
    pub not_after: u64,
    /// SHA-256 of the leaf DER, hex.
    pub fingerprint: String,
}

/// Read every `CERTIFICATE` block of a PEM file.
pub fn load_pem_certs(text: &[u8]) -> Result<Vec<Certificate>, String> {
    let certs =
        Certificate::load_pem_chain(text).map_err(|e| format!("invalid PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate found".into());
    }
    Ok(certs)
}

/// Read every `CERTIFICATE` block of a PEM file, as DER.
pub fn load_pem_certs_der(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    load_pem_certs(text)?
        .iter()
        .map(|c| c.to_der().map_err(|e| e.to_string()))
        .collect()
}

pub fn parse_der(der: &[u8]) -> Result<Certificate, CertProblem> {
    Certificate::from_der(der).map_err(|e| CertProblem::Malformed(e.to_string()))
}

fn name_of(c: &Certificate) -> String {
    c.tbs_certificate().subject().to_string()
}

fn fmt_time(secs: u64) -> String {
    // RFC 3339, UTC, from Unix seconds (civil-from-days, Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn validity(c: &Certificate) -> (u64, u64) {
    let v = c.tbs_certificate().validity();
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

fn check_time(c: &Certificate, at: u64) -> Result<(), CertProblem> {
    let (nb, na) = validity(c);
    if at < nb {
        return Err(CertProblem::NotYetValid {
            subject: name_of(c),
            not_before: fmt_time(nb),
            at: fmt_time(at),
        });
    }
    if at > na {
        return Err(CertProblem::Expired {
            subject: name_of(c),
            not_after: fmt_time(na),
            at: fmt_time(at),
        });
    }
    Ok(())
}

fn check_critical(c: &Certificate) -> Result<(), CertProblem> {
    let known = [
        EXT_BASIC_CONSTRAINTS,
        EXT_KEY_USAGE,
        EXT_EXT_KEY_USAGE,
        EXT_SAN,
        EXT_CERT_POLICIES,
    ];
    for e in c
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or(&[])
    {
        if e.critical && !known.contains(&e.extn_id) {
            return Err(CertProblem::Unsupported(format!(
                "certificate {:?} has an unsupported critical extension {}",
                name_of(c),
                e.extn_id
            )));
        }
    }
    Ok(())
}

fn ext<'a, T: der::Decode<'a> + const_oid::AssociatedOid>(
    c: &'a Certificate,
    what: &str,
) -> Result<Option<T>, CertProblem> {
    c.tbs_certificate()
        .get_extension::<T>()
        .map(|o| o.map(|(_, v)| v))
        .map_err(|_| {
            CertProblem::Malformed(format!("{}: bad or repeated {what} extension", name_of(c)))
        })
}

/// Verify that `issuer` signed `child`.
fn verify_issued_by(child: &Certificate, issuer: &Certificate) -> Result<(), CertProblem> {
    let alg = child.signature_algorithm().oid;
    let tbs = child
        .tbs_certificate()
        .to_der()
        .map_err(|e| CertProblem::Malformed(e.to_string()))?;
    let prehash: Vec<u8> = if alg == ECDSA_SHA256 {
        sha2::Sha256::digest(&tbs).to_vec()
    } else if alg == ECDSA_SHA384 {
        sha2::Sha384::digest(&tbs).to_vec()
    } else if alg == ECDSA_SHA512 {
        sha2::Sha512::digest(&tbs).to_vec()
    } else {
        return Err(CertProblem::Unsupported(format!(
            "certificate {:?} is signed with algorithm {alg}; only ECDSA with SHA-256/384/512 is supported",
            name_of(child)
        )));
    };
    let spki = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CertProblem::Malformed(e.to_string()))?;
    let key = PublicKey::from_spki_der(&spki)
        .map_err(|e| CertProblem::Unsupported(format!("issuer {:?} key: {e}", name_of(issuer))))?;
    let sig = child
        .signature()
        .as_bytes()
        .ok_or_else(|| CertProblem::Malformed("signature bit string has unused bits".into()))?;
    key.verify_prehash(&prehash, sig).map_err(|p| match p {
        SigProblem::NotDer => CertProblem::Malformed(format!(
            "certificate {:?}: signature is not DER ECDSA",
            name_of(child)
        )),
        SigProblem::Invalid => CertProblem::UntrustedRoot(format!(
            "signature on {:?} does not verify with the key of {:?}",
            name_of(child),
            name_of(issuer)
        )),
    })
}

fn check_ca(c: &Certificate, below: usize) -> Result<(), CertProblem> {
    let bc: Option<BasicConstraints> = ext(c, "basicConstraints")?;
    match bc {
        Some(b) if b.ca => {
            if let Some(pl) = b.path_len_constraint
                && below > usize::from(pl)
            {
                return Err(CertProblem::WrongUsage(format!(
                    "CA {:?} allows {pl} intermediate(s) below it, the chain has {below}",
                    name_of(c)
                )));
            }
        }
        _ => {
            return Err(CertProblem::WrongUsage(format!(
                "{:?} issues certificates but is not a CA (basicConstraints cA is not true)",
                name_of(c)
            )));
        }
    }
    if let Some(ku) = ext::<KeyUsage>(c, "keyUsage")?
        && !ku.key_cert_sign()
    {
        return Err(CertProblem::WrongUsage(format!(
            "CA {:?} lacks keyUsage keyCertSign",
            name_of(c)
        )));
    }
    Ok(())
}

fn check_leaf_usage(c: &Certificate) -> Result<(), CertProblem> {
    let ku: Option<KeyUsage> = ext(c, "keyUsage")?;
    let eku: Option<ExtendedKeyUsage> = ext(c, "extendedKeyUsage")?;
    if ku.is_none() && eku.is_none() {
        return Err(CertProblem::WrongUsage(format!(
            "signing certificate {:?} has neither keyUsage digitalSignature nor extendedKeyUsage codeSigning",
            name_of(c)
        )));
    }
    if let Some(ku) = &ku
        && !ku.digital_signature()
    {
        return Err(CertProblem::WrongUsage(format!(
            "signing certificate {:?} cannot be used for signing: keyUsage lacks digitalSignature",
            name_of(c)
        )));
    }
    if let Some(eku) = &eku
        && !eku
            .0
            .iter()
            .any(|o| *o == EKU_CODE_SIGNING || *o == EKU_ANY)
    {
        return Err(CertProblem::WrongUsage(format!(
            "signing certificate {:?}: extendedKeyUsage does not include codeSigning",
            name_of(c)
        )));
    }
    Ok(())
}

/// Subject alternative names as strings (email, URI, DNS; others skipped).
pub fn sans(c: &Certificate) -> Vec<String> {
    let Ok(Some(san)) = ext::<SubjectAltName>(c, "subjectAltName") else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|g| match g {
            GeneralName::Rfc822Name(s) => Some(s.to_string()),
            GeneralName::DnsName(s) => Some(s.to_string()),
            GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Validate `chain` (leaf first, DER) up to one of `anchors`; return the leaf's key.
pub fn validate_chain(
    chain: &[Vec<u8>],
    anchors: &[Certificate],
    time: CertTime,
    identities: &[String],
) -> Result<(PublicKey, LeafInfo), CertProblem> {
    let (leaf_der, rest) = chain
        .split_first()
        .ok_or_else(|| CertProblem::Malformed("empty certificate chain".into()))?;
    let leaf = parse_der(leaf_der)?;
    let intermediates = rest
        .iter()
        .map(|d| parse_der(d))
        .collect::<Result<Vec<_>, _>>()?;
    if anchors.is_empty() {
        return Err(CertProblem::UntrustedRoot("no trust anchors given".into()));
    }
    let at = match time {
        CertTime::Now => now_secs(),
        CertTime::At(t) => t,
        CertTime::LeafNotBefore => validity(&leaf).0,
    };

    // Build the path leaf -> ... -> anchor.
    let mut path: Vec<&Certificate> = vec![&leaf];
    let mut used = vec![false; intermediates.len()];
    let anchor: &Certificate;
    let mut last_err: Option<CertProblem> = None;
    'build: loop {
        if path.len() > MAX_DEPTH {
            return Err(CertProblem::UntrustedRoot(
                "certificate chain too long".into(),
            ));
        }
        let current = *path
            .last()
            .ok_or_else(|| CertProblem::Malformed("empty path".into()))?;
        let issuer_name = current.tbs_certificate().issuer();
        for a in anchors {
            if a.tbs_certificate().subject() == issuer_name {
                match verify_issued_by(current, a) {
                    Ok(()) => {
                        anchor = a;
                        break 'build;
                    }
                    Err(e) => last_err = Some(e),
                }
            }
        }
        // An intermediate from the bundle that is itself a trust anchor ends the path too.
        for (i, c) in intermediates.iter().enumerate() {
            if used.get(i).copied().unwrap_or(true) || c.tbs_certificate().subject() != issuer_name
            {
                continue;
            }
            if verify_issued_by(current, c).is_ok() {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                path.push(c);
                if let Some(a) = anchors.iter().find(|a| *a == c) {
                    path.pop();
                    anchor = a;
                    break 'build;
                }
                continue 'build;
            }
        }
        return Err(last_err.unwrap_or_else(|| {
            CertProblem::UntrustedRoot(format!(
                "no trusted root or bundled intermediate issued {:?} (issuer {:?})",
                name_of(current),
                issuer_name.to_string()
            ))
        }));
    }

    // Checks on every certificate of the path, anchor included.
    check_time(&leaf, at)?;
    check_critical(&leaf)?;
    check_leaf_usage(&leaf)?;
    let n = path.len();
    for (i, c) in path.iter().enumerate().skip(1) {
        check_time(c, at)?;
        check_critical(c)?;
        // intermediates strictly below c (excluding the leaf)
        check_ca(c, i.saturating_sub(1))?;
    }
    check_time(anchor, at)?;
    check_ca(anchor, n.saturating_sub(1))?;

    let sans = sans(&leaf);
    if !identities.is_empty() && !identities.iter().any(|w| sans.contains(w)) {
        return Err(CertProblem::IdentityMismatch {
            wanted: identities.to_vec(),
            found: sans,
        });
    }
    let spki = leaf
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CertProblem::Malformed(e.to_string()))?;
    let key = PublicKey::from_spki_der(&spki)
        .map_err(|e| CertProblem::Unsupported(format!("leaf key: {e}")))?;
    let (nb, na) = validity(&leaf);
    Ok((
        key,
        LeafInfo {
            subject: name_of(&leaf),
            issuer: leaf.tbs_certificate().issuer().to_string(),
            sans,
            anchor: name_of(anchor),
            not_before: nb,
            not_after: na,
            fingerprint: hex::encode(sha2::Sha256::digest(leaf_der)),
        },
    ))
}

/// Human-readable UTC time of a Unix timestamp.
pub fn format_unix(secs: u64) -> String {
    fmt_time(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting() {
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(1_740_787_200), "2025-03-01T00:00:00Z");
        assert_eq!(fmt_time(951_782_400), "2000-02-29T00:00:00Z");
    }
}

//! Verifying an OMS bundle against a model, with precise diagnostics.
//!
//! Order: bundle structure -> media type -> DSSE envelope -> key material vs. what the
//! verifier trusts -> signature over the PAE -> statement (only once its signature holds) ->
//! root digest -> enumerate and hash the model -> compare file by file.

use crate::certs::{self, CertProblem, CertTime, LeafInfo};
use crate::error::Error;
use crate::hashing;
use crate::keys::{Curve, PublicKey, SigProblem};
use crate::oms::{self, Material, Method, Statement};
use crate::sign::relative_inside;
use crate::walk::{self, FileEntry, HF_LOCAL_CACHE, IgnoreSet, WalkIssue};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use x509_cert::Certificate;

/// What the verifier trusts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Key method: this public key.
    Key(PublicKey),
    /// Certificate method: chains must end at one of these anchors.
    Certificates {
        anchors: Vec<Certificate>,
        time: CertTime,
        /// If not empty, the leaf must carry one of these SANs (email, URI or DNS).
        identities: Vec<String>,
    },
}

/// Options of a verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub trust: Trust,
    /// Extra model-relative paths to leave out (on top of the signed `ignore_paths`).
    pub ignore_paths: Vec<String>,
    /// Files on disk that the signature does not list are tolerated (model-signing's
    /// `--ignore_unsigned_files`). Missing or changed files still fail.
    pub ignore_unsigned_files: bool,
    /// The bundle's own path: skipped when it lies inside the model.
    pub signature_path: Option<std::path::PathBuf>,
    /// Tolerate unsigned `huggingface_hub` bookkeeping files (`.cache/huggingface/**/*.lock`,
    /// `*.metadata`, `.gitignore`, `CACHEDIR.TAG`) that differ per download.
    pub tolerate_hf_cache: bool,
    /// In a Hugging Face hub cache snapshot (`models--org--name/snapshots/<rev>`), follow the
    /// symlinks that point into the repository's own `blobs/` store (that is how the hub
    /// stores every file); other symlinks are still refused.
    pub follow_hf_cache_links: bool,
}

impl VerifyOptions {
    pub fn new(trust: Trust) -> VerifyOptions {
        VerifyOptions {
            trust,
            ignore_paths: Vec::new(),
            ignore_unsigned_files: false,
            signature_path: None,
            tolerate_hf_cache: true,
            follow_hf_cache_links: true,
        }
    }
}

/// One reason why verification failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    MalformedBundle(String),
    UnsupportedMediaType(String),
    WrongPayloadType(String),
    SignatureCount(usize),
    /// The bundle was made with another method than the verifier expects.
    MethodMismatch {
        bundle: &'static str,
        trusted: &'static str,
    },
    /// The bundle's key hint (or raw key) names another key than the trusted one.
    WrongKey {
        bundle_hint: String,
        trusted_hint: String,
    },
    UnsupportedKey(String),
    SignatureNotDer,
    /// The signature does not verify (wrong key or edited bytes).
    BadSignature,
    Certificate(CertProblem),
    MalformedPayload(String),
    RootDigestMismatch {
        signed: String,
        computed: String,
    },
    EmptyModel,
    Modified {
        name: String,
        detail: String,
    },
    Added(String),
    Removed(String),
    Renamed {
        from: String,
        to: String,
    },
    Swapped {
        a: String,
        b: String,
    },
    Tree(WalkIssue),
}

impl Problem {
    /// Stable short code for machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::MalformedBundle(_) => "malformed-bundle",
            Problem::UnsupportedMediaType(_) => "unsupported-media-type",
            Problem::WrongPayloadType(_) => "wrong-payload-type",
            Problem::SignatureCount(_) => "signature-count",
            Problem::MethodMismatch { .. } => "method-mismatch",
            Problem::WrongKey { .. } => "wrong-key",
            Problem::UnsupportedKey(_) => "unsupported-key",
            Problem::SignatureNotDer => "signature-not-der",
            Problem::BadSignature => "bad-signature",
            Problem::Certificate(c) => match c {
                CertProblem::Expired { .. } => "cert-expired",
                CertProblem::NotYetValid { .. } => "cert-not-yet-valid",
                CertProblem::UntrustedRoot(_) => "untrusted-root",
                CertProblem::WrongUsage(_) => "cert-wrong-usage",
                CertProblem::IdentityMismatch { .. } => "identity-mismatch",
                CertProblem::Malformed(_) => "cert-malformed",
                CertProblem::Unsupported(_) => "cert-unsupported",
            },
            Problem::MalformedPayload(_) => "malformed-payload",
            Problem::RootDigestMismatch { .. } => "root-digest-mismatch",
            Problem::EmptyModel => "empty-model",
            Problem::Modified { .. } => "file-modified",
            Problem::Added(_) => "file-added",
            Problem::Removed(_) => "file-removed",
            Problem::Renamed { .. } => "file-renamed",
            Problem::Swapped { .. } => "files-swapped",
            Problem::Tree(WalkIssue::Symlink(_)) => "symlink",
            Problem::Tree(WalkIssue::Special { .. }) => "special-file",
            Problem::Tree(WalkIssue::NonUtf8(_)) => "non-utf8-name",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MalformedBundle(m) => write!(f, "malformed signature bundle: {m}"),
            Problem::UnsupportedMediaType(m) => write!(
                f,
                "unsupported bundle media type {m:?} (OMS v1.0 needs {:?})",
                oms::BUNDLE_MEDIA_TYPE
            ),
            Problem::WrongPayloadType(t) => write!(
                f,
                "DSSE payloadType is {t:?}, expected {:?}",
                oms::IN_TOTO_PAYLOAD_TYPE
            ),
            Problem::SignatureCount(n) => {
                write!(
                    f,
                    "the DSSE envelope has {n} signatures; OMS requires exactly one"
                )
            }
            Problem::MethodMismatch { bundle, trusted } => write!(
                f,
                "the signature was made with the {bundle} method, but a {trusted} was given to verify it"
            ),
            Problem::WrongKey {
                bundle_hint,
                trusted_hint,
            } => write!(
                f,
                "wrong key: the signature names key {bundle_hint}, the trusted key is {trusted_hint}"
            ),
            Problem::UnsupportedKey(m) => write!(f, "unsupported key: {m}"),
            Problem::SignatureNotDer => write!(
                f,
                "bad signature: not a DER-encoded ECDSA signature (raw r||s is not allowed)"
            ),
            Problem::BadSignature => write!(
                f,
                "bad signature: the signature does not match the signed statement and the trusted key (statement or signature edited, or signed by another key)"
            ),
            Problem::Certificate(c) => write!(f, "{c}"),
            Problem::MalformedPayload(m) => write!(f, "malformed signed statement: {m}"),
            Problem::RootDigestMismatch { signed, computed } => write!(
                f,
                "manifest is inconsistent: the signed root digest is {signed}, the listed files hash to {computed}"
            ),
            Problem::EmptyModel => write!(f, "the signature covers no files (empty model)"),
            Problem::Modified { name, detail } => write!(f, "{name}: content changed ({detail})"),
            Problem::Added(n) => write!(f, "{n}: file added (not in the signature)"),
            Problem::Removed(n) => write!(f, "{n}: file removed (signed, but missing)"),
            Problem::Renamed { from, to } => {
                if from.to_lowercase() == to.to_lowercase() {
                    write!(f, "{from} -> {to}: file renamed (case change only)")
                } else if from.rsplit('/').next() == to.rsplit('/').next() {
                    write!(f, "{from} -> {to}: file moved")
                } else {
                    write!(f, "{from} -> {to}: file renamed")
                }
            }
            Problem::Swapped { a, b } => write!(f, "{a} <-> {b}: contents swapped"),
            Problem::Tree(w) => write!(f, "{w}"),
        }
    }
}

/// Who made a valid signature.
#[derive(Debug, Clone)]
pub enum SignerInfo {
    Key { curve: Curve, hint: String },
    Certificate(LeafInfo),
}

/// The verdict and everything learnt on the way.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Set once the signature itself verified.
    pub signer: Option<SignerInfo>,
    /// Signed root digest (hex), once the statement was read.
    pub root_digest: Option<String>,
    pub method: Option<Method>,
    pub hash: Option<&'static str>,
    pub files_checked: usize,
    pub signed_resources: usize,
    /// The signed `ignore_paths` (what the signer chose to leave out).
    pub ignore_paths: Vec<String>,
}

impl Outcome {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && self.signer.is_some()
    }
}

fn fail(mut out: Outcome, p: Problem) -> Outcome {
    out.problems.push(p);
    out
}

/// Check a bundle's structure, key material and DSSE signature against `trust`. On success
/// `out.signer` is set and the parsed bundle (whose payload is now authenticated) returned;
/// otherwise the reasons are in `out.problems`.
pub fn verify_envelope(
    bundle: &[u8],
    trust: &Trust,
    out: &mut Outcome,
) -> Result<Option<oms::Bundle>, Error> {
    let b = match oms::parse_bundle(bundle) {
        Ok(b) => b,
        Err(e) => return Ok(reject(out, Problem::MalformedBundle(e))),
    };
    if b.media_type != oms::BUNDLE_MEDIA_TYPE && b.media_type != oms::BUNDLE_MEDIA_TYPE_ALT {
        return Ok(reject(out, Problem::UnsupportedMediaType(b.media_type)));
    }
    if b.payload_type != oms::IN_TOTO_PAYLOAD_TYPE {
        return Ok(reject(out, Problem::WrongPayloadType(b.payload_type)));
    }
    let sig = match b.signatures.as_slice() {
        [one] => one.clone(),
        other => return Ok(reject(out, Problem::SignatureCount(other.len()))),
    };
    let pae = oms::pae(&b.payload_type, &b.payload);

    // Key material and signature.
    let signer = match (trust, &b.material) {
        (Trust::Key(key), Material::PublicKey { hint, raw }) => {
            let trusted_hint = key.hint()?;
            if let Some(h) = hint
                && !h.eq_ignore_ascii_case(&trusted_hint)
            {
                return Ok(reject(
                    out,
                    Problem::WrongKey {
                        bundle_hint: h.clone(),
                        trusted_hint,
                    },
                ));
            }
            if let Some(raw) = raw {
                let same = key.to_spki_der()? == *raw
                    || PublicKey::from_spki_der(raw)
                        .ok()
                        .and_then(|k| k.to_spki_der().ok())
                        .is_some_and(|d| Some(d) == key.to_spki_der().ok());
                if !same {
                    return Ok(reject(
                        out,
                        Problem::WrongKey {
                            bundle_hint: "(rawBytes key in bundle)".into(),
                            trusted_hint,
                        },
                    ));
                }
            }
            if hint.is_none() && raw.is_none() {
                out.warnings.push(
                    "the bundle does not name its key (no publicKey.hint); verified with the given key".into(),
                );
            }
            match key.verify(&pae, &sig) {
                Ok(()) => {}
                Err(SigProblem::NotDer) => return Ok(reject(out, Problem::SignatureNotDer)),
                Err(SigProblem::Invalid) => return Ok(reject(out, Problem::BadSignature)),
            }
            Some(SignerInfo::Key {
                curve: key.curve(),
                hint: trusted_hint,
            })
        }
        (
            Trust::Certificates {
                anchors,
                time,
                identities,
            },
            Material::CertChain(chain),
        ) => verify_cert(out, chain, anchors, *time, identities, &pae, &sig)?,
        (
            Trust::Certificates {
                anchors,
                time,
                identities,
            },
            Material::Certificate(leaf),
        ) => {
            if b.tlog_entries > 0 {
                out.warnings.push(
                    "transparency-log entries are not checked (keyless Sigstore verification is not built in)".into(),
                );
            }
            verify_cert(
                out,
                std::slice::from_ref(leaf),
                anchors,
                *time,
                identities,
                &pae,
                &sig,
            )?
        }
        (Trust::Key(_), Material::CertChain(_) | Material::Certificate(_)) => {
            return Ok(reject(
                out,
                Problem::MethodMismatch {
                    bundle: "certificate",
                    trusted: "public key",
                },
            ));
        }
        (Trust::Certificates { .. }, Material::PublicKey { .. }) => {
            return Ok(reject(
                out,
                Problem::MethodMismatch {
                    bundle: "key",
                    trusted: "certificate chain",
                },
            ));
        }
    };
    let Some(signer) = signer else {
        return Ok(None);
    };
    out.signer = Some(signer);
    Ok(Some(b))
}

fn reject(out: &mut Outcome, p: Problem) -> Option<oms::Bundle> {
    out.problems.push(p);
    None
}

/// Verify `bundle` (the bytes of a `.sig` file) against `model`.
///
/// `Err` only for setup failures (I/O errors while reading the model); every reason to
/// reject the signature is a [`Problem`] in the returned [`Outcome`].
pub fn verify(model: &Path, bundle: &[u8], opts: &VerifyOptions) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    let Some(b) = verify_envelope(bundle, &opts.trust, &mut out)? else {
        return Ok(out);
    };

    // The statement is trusted from here on.
    let st = match oms::parse_statement(&b.payload) {
        Ok(s) => s,
        Err(e) => return Ok(fail(out, Problem::MalformedPayload(e))),
    };
    out.warnings.extend(st.warnings.iter().cloned());
    out.root_digest = Some(hex::encode(&st.root_digest));
    out.method = Some(st.serialization.method);
    out.hash = Some(st.serialization.hash.name());
    out.signed_resources = st.resources.len();
    out.ignore_paths = st.serialization.ignore_paths.clone();
    let computed = oms::root_digest(&st.resources);
    if computed.as_slice() != st.root_digest.as_slice() {
        return Ok(fail(
            out,
            Problem::RootDigestMismatch {
                signed: hex::encode(&st.root_digest),
                computed: hex::encode(computed),
            },
        ));
    }
    if st.resources.is_empty() {
        return Ok(fail(out, Problem::EmptyModel));
    }
    check_model(model, &st, opts, &mut out)?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn verify_cert(
    out: &mut Outcome,
    chain: &[Vec<u8>],
    anchors: &[Certificate],
    time: CertTime,
    identities: &[String],
    pae: &[u8],
    sig: &[u8],
) -> Result<Option<SignerInfo>, Error> {
    if time == CertTime::LeafNotBefore {
        out.warnings.push(
            "certificates checked at the leaf's notBefore (model-signing compatibility), not now"
                .into(),
        );
    }
    let (key, leaf) = match certs::validate_chain(chain, anchors, time, identities) {
        Ok(v) => v,
        Err(p) => {
            out.problems.push(Problem::Certificate(p));
            return Ok(None);
        }
    };
    match key.verify(pae, sig) {
        Ok(()) => Ok(Some(SignerInfo::Certificate(leaf))),
        Err(SigProblem::NotDer) => {
            out.problems.push(Problem::SignatureNotDer);
            Ok(None)
        }
        Err(SigProblem::Invalid) => {
            out.problems.push(Problem::BadSignature);
            Ok(None)
        }
    }
}

fn is_hf_bookkeeping(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(HF_LOCAL_CACHE) else {
        return false;
    };
    if !rest.starts_with('/') {
        return false;
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    base.ends_with(".lock")
        || base.ends_with(".metadata")
        || base == ".gitignore"
        || base == "CACHEDIR.TAG"
}

fn check_model(
    model: &Path,
    st: &Statement,
    opts: &VerifyOptions,
    out: &mut Outcome,
) -> Result<(), Error> {
    let ser = &st.serialization;
    let mut ignore = IgnoreSet::defaults();
    for p in ser.ignore_paths.iter().chain(opts.ignore_paths.iter()) {
        if !ignore.add(p) {
            out.warnings.push(format!(
                "ignore path {p:?} is not a model-relative path; not applied"
            ));
        }
    }
    if let Some(sig) = &opts.signature_path
        && let Some(rel) = relative_inside(model, sig)
    {
        ignore.add(&rel);
    }
    if ser.allow_symlinks {
        out.warnings.push(
            "the signature was made with allow_symlinks=true: link targets are hashed under the link names"
                .into(),
        );
    }
    let links = if ser.allow_symlinks {
        walk::Links::Follow
    } else if let Some(blobs) = opts
        .follow_hf_cache_links
        .then(|| walk::hf_snapshot_blobs(model))
        .flatten()
    {
        out.warnings.push(format!(
            "Hugging Face cache snapshot: following links into {} only",
            blobs.display()
        ));
        walk::Links::HfBlobs(blobs)
    } else {
        walk::Links::Refuse
    };
    let w = walk::walk_links(model, &ignore, &links)?;
    out.problems
        .extend(w.issues.iter().cloned().map(Problem::Tree));
    let mut files: Vec<FileEntry> = Vec::with_capacity(w.files.len());
    for f in w.files {
        if opts.tolerate_hf_cache && is_hf_bookkeeping(&f.name) {
            continue;
        }
        files.push(f);
    }
    // A single-file model: model-signing names it ".", the spec names it by its file name.
    let single_alias = if w.single_file {
        model
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
    } else {
        None
    };
    out.files_checked = files.len();
    match ser.method {
        Method::Files => compare_files(st, &files, single_alias.as_deref(), opts, out)?,
        Method::Shards { size } => {
            compare_shards(st, &files, size, single_alias.as_deref(), opts, out)?
        }
    }
    Ok(())
}

fn signed_name(name: &str, single_alias: Option<&str>) -> String {
    match single_alias {
        Some(alias) if name == alias => ".".into(),
        _ => name.to_string(),
    }
}

fn hexs(d: &[u8]) -> String {
    let h = hex::encode(d);
    h.get(..12).unwrap_or(&h).to_string()
}

fn compare_files(
    st: &Statement,
    files: &[FileEntry],
    single_alias: Option<&str>,
    opts: &VerifyOptions,
    out: &mut Outcome,
) -> Result<(), Error> {
    let expected: BTreeMap<String, &[u8]> = st
        .resources
        .iter()
        .map(|r| (signed_name(&r.name, single_alias), r.digest.as_slice()))
        .collect();
    let digests = hashing::hash_files(files, st.serialization.hash)?;
    let disk: HashMap<&str, &[u8]> = files
        .iter()
        .zip(digests.iter())
        .map(|(f, d)| (f.name.as_str(), d.as_slice()))
        .collect();

    let mut modified = Vec::new();
    let mut removed = Vec::new();
    for (name, want) in &expected {
        match disk.get(name.as_str()) {
            Some(got) if got == want => {}
            Some(got) => modified.push((name.clone(), *want, *got)),
            None => removed.push((name.clone(), *want)),
        }
    }
    let mut added: Vec<(&str, &[u8])> = files
        .iter()
        .filter(|f| !expected.contains_key(&f.name))
        .filter_map(|f| disk.get(f.name.as_str()).map(|d| (f.name.as_str(), *d)))
        .collect();
    added.sort();

    // Renames: a removed file's signed digest shows up under an added name.
    let mut paired_added = HashSet::new();
    let mut still_removed = Vec::new();
    for (name, want) in removed {
        let hit = added
            .iter()
            .find(|(a, d)| !paired_added.contains(*a) && *d == want)
            .map(|(a, _)| *a);
        match hit {
            Some(a) => {
                paired_added.insert(a);
                out.problems.push(Problem::Renamed {
                    from: name,
                    to: a.to_string(),
                });
            }
            None => still_removed.push(name),
        }
    }
    // Swaps: two changed files each hold the other's signed content.
    let mut swapped = HashSet::new();
    for (i, (a, want_a, got_a)) in modified.iter().enumerate() {
        for (b, want_b, got_b) in modified.iter().skip(i + 1) {
            if got_a == want_b && got_b == want_a && !swapped.contains(a) && !swapped.contains(b) {
                swapped.insert(a.clone());
                swapped.insert(b.clone());
                out.problems.push(Problem::Swapped {
                    a: a.clone(),
                    b: b.clone(),
                });
            }
        }
    }
    for (name, want, got) in &modified {
        if !swapped.contains(name) {
            out.problems.push(Problem::Modified {
                name: name.clone(),
                detail: format!(
                    "{} {}… signed, {}… on disk",
                    st.serialization.hash.name(),
                    hexs(want),
                    hexs(got)
                ),
            });
        }
    }
    for name in still_removed {
        out.problems.push(Problem::Removed(name));
    }
    for (a, _) in added {
        if paired_added.contains(a) {
            continue;
        }
        if opts.ignore_unsigned_files {
            out.warnings
                .push(format!("{a}: not covered by the signature (tolerated)"));
        } else {
            out.problems.push(Problem::Added(a.to_string()));
        }
    }
    Ok(())
}

/// `(start, end, digest)` of each shard of one file.
type ShardList<'a> = Vec<(u64, u64, &'a [u8])>;

fn compare_shards(
    st: &Statement,
    files: &[FileEntry],
    size: u64,
    single_alias: Option<&str>,
    opts: &VerifyOptions,
    out: &mut Outcome,
) -> Result<(), Error> {
    // path -> [(start, end, digest)]
    let mut expected: BTreeMap<String, ShardList> = BTreeMap::new();
    for r in &st.resources {
        let Some(sn) = oms::parse_shard_name(&r.name) else {
            out.problems.push(Problem::MalformedPayload(format!(
                "shard name {:?} is not <path>:<start>:<end>",
                r.name
            )));
            return Ok(());
        };
        expected
            .entry(signed_name(&sn.path, single_alias))
            .or_default()
            .push((sn.start, sn.end, r.digest.as_slice()));
    }
    for v in expected.values_mut() {
        v.sort_by_key(|(s, e, _)| (*s, *e));
    }
    let jobs = hashing::shard_jobs(files, size);
    let digests = hashing::hash_shards(files, &jobs, st.serialization.hash)?;
    let mut disk: BTreeMap<&str, ShardList> = BTreeMap::new();
    for (j, d) in jobs.iter().zip(digests.iter()) {
        if let Some(f) = files.get(j.file) {
            disk.entry(f.name.as_str())
                .or_default()
                .push((j.start, j.end, d.as_slice()));
        }
    }
    for f in files {
        if f.size == 0 && !expected.contains_key(&f.name) {
            out.warnings.push(format!(
                "{}: empty file, invisible to shard signatures (shard manifests omit empty files)",
                f.name
            ));
        }
    }
    let mut removed = Vec::new();
    for (name, want) in &expected {
        match disk.get(name.as_str()) {
            None => removed.push(name.clone()),
            Some(got) => {
                let want_len = want.last().map_or(0, |(_, e, _)| *e);
                let got_len = got.last().map_or(0, |(_, e, _)| *e);
                if want_len != got_len {
                    out.problems.push(Problem::Modified {
                        name: name.clone(),
                        detail: format!("{want_len} bytes signed, {got_len} bytes on disk"),
                    });
                    continue;
                }
                let ranges_w: Vec<_> = want.iter().map(|(s, e, _)| (*s, *e)).collect();
                let ranges_g: Vec<_> = got.iter().map(|(s, e, _)| (*s, *e)).collect();
                if ranges_w != ranges_g {
                    out.problems.push(Problem::Modified {
                        name: name.clone(),
                        detail: "signed shard ranges do not cover the file".into(),
                    });
                    continue;
                }
                let bad: Vec<String> = want
                    .iter()
                    .zip(got.iter())
                    .filter(|(w, g)| w.2 != g.2)
                    .map(|(w, _)| format!("{}..{}", w.0, w.1))
                    .collect();
                if !bad.is_empty() {
                    let shown: Vec<_> = bad.iter().take(4).cloned().collect();
                    let more = if bad.len() > 4 {
                        format!(" and {} more", bad.len() - 4)
                    } else {
                        String::new()
                    };
                    out.problems.push(Problem::Modified {
                        name: name.clone(),
                        detail: format!("bytes {}{more} differ", shown.join(", ")),
                    });
                }
            }
        }
    }
    let added: Vec<&str> = disk
        .keys()
        .filter(|n| !expected.contains_key(**n))
        .copied()
        .collect();
    let mut paired = HashSet::new();
    for name in removed {
        let want: Vec<&[u8]> = expected
            .get(&name)
            .map(|v| v.iter().map(|x| x.2).collect())
            .unwrap_or_default();
        let hit = added.iter().find(|a| {
            !paired.contains(**a)
                && disk
                    .get(**a)
                    .is_some_and(|g| g.iter().map(|x| x.2).collect::<Vec<_>>() == want)
        });
        match hit {
            Some(a) => {
                paired.insert(*a);
                out.problems.push(Problem::Renamed {
                    from: name,
                    to: a.to_string(),
                });
            }
            None => out.problems.push(Problem::Removed(name)),
        }
    }
    for a in added {
        if paired.contains(a) {
            continue;
        }
        if opts.ignore_unsigned_files {
            out.warnings
                .push(format!("{a}: not covered by the signature (tolerated)"));
        } else {
            out.problems.push(Problem::Added(a.to_string()));
        }
    }
    Ok(())
}

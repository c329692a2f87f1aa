//! Trust policy for `modelgate gate`: who must have signed the model, which formats are
//! allowed, how severe scan findings may be, and where the model may come from.
//!
//! The policy file is TOML (documented in `docs/policy.md`). Unknown keys are errors, so a
//! typo never silently weakens a policy. Scan results come in as a [`ScanSummary`] so this
//! crate does not depend on the scan engine.

use crate::certs::{self, CertTime};
use crate::error::Error;
use crate::keys::PublicKey;
use crate::verify::{self, Outcome, SignerInfo, Trust, VerifyOptions};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Finding severity, ordered like modelgate-core's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One finding of the scan, as the gate needs it.
#[derive(Debug, Clone)]
pub struct ScanFinding {
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

/// One scanned file.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    pub path: String,
    pub format: String,
    pub can_execute_code: bool,
    pub findings: Vec<ScanFinding>,
}

/// What `scan` found, reduced to what the policy looks at.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    pub files: Vec<ScannedFile>,
    pub errors: Vec<String>,
}

// ---- policy file ------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub signature: Option<SignatureSection>,
    #[serde(default)]
    pub formats: Option<FormatSection>,
    #[serde(default)]
    pub scan: Option<ScanSection>,
    #[serde(default)]
    pub source: Option<SourceSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSection {
    /// A valid signature by a trusted signer is required (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Distinct trusted signers needed (each signs into its own bundle file).
    #[serde(default = "one")]
    pub min_signers: usize,
    /// Bundle files, relative to the model directory (default `["model.sig"]`; a
    /// single-file model also looks for `<file>.sig` next to it).
    #[serde(default)]
    pub bundles: Vec<String>,
    /// Tolerate files that no signature lists.
    #[serde(default)]
    pub allow_unsigned_files: bool,
    /// `now` (default) or `signing` (the leaf's notBefore, as model-signing does).
    #[serde(default)]
    pub cert_time: Option<String>,
    /// Allowed file hash algorithms (default: any the verifier supports).
    #[serde(default)]
    pub allowed_hashes: Vec<String>,
    /// Refuse signatures whose signed `ignore_paths` leave out more than the OMS defaults,
    /// `.cache/huggingface` and the bundle itself (anything else there may change freely).
    #[serde(default)]
    pub restrict_ignore_paths: bool,
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    #[serde(default)]
    pub certificates: Vec<CertEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub name: String,
    /// PEM public key, relative to the policy file.
    pub public_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertEntry {
    pub name: String,
    /// PEM trust anchors, relative to the policy file.
    pub roots: Vec<String>,
    /// Accepted leaf SANs (email, URI, DNS); `*` matches any run of characters. Empty:
    /// any leaf under these roots.
    #[serde(default)]
    pub identities: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatSection {
    /// If not empty, every file's format must be one of these (names as `scan` reports them).
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
    /// Refuse any file that can run code when loaded (pickle, pytorch, joblib, keras lambdas...).
    #[serde(default)]
    pub deny_code_execution: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    /// Highest tolerated finding severity: info, low, medium, high, critical.
    pub max_severity: String,
    /// A file the scanner could not read fails the gate (default true).
    #[serde(default = "yes")]
    pub fail_on_errors: bool,
    /// Finding codes never counted (e.g. accepted risks).
    #[serde(default)]
    pub ignore_codes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// Allowed publishers: `org`, `org/repo`, with `*` wildcards (Hugging Face repo ids).
    #[serde(default)]
    pub allowed_publishers: Vec<String>,
    /// Fail when the origin cannot be determined (default true when a list is given).
    #[serde(default)]
    pub require_known_source: Option<bool>,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}

/// A loaded policy: the parsed file plus resolved keys and anchors.
#[derive(Debug, Clone)]
pub struct Policy {
    pub file: PolicyFile,
    keys: Vec<(String, PublicKey)>,
    certs: Vec<(String, Vec<x509_cert::Certificate>, Vec<String>)>,
    max_severity: Option<Severity>,
    cert_time: CertTime,
}

impl Policy {
    /// Parse a policy; relative key/root paths are resolved against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Policy, Error> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| Error::Usage(format!("policy: {e}")))?;
        let mut keys = Vec::new();
        let mut certs_out = Vec::new();
        let mut cert_time = CertTime::Now;
        if let Some(sig) = &file.signature {
            for k in &sig.keys {
                let p = base_dir.join(&k.public_key);
                let pem = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
                let key = PublicKey::from_pem(&pem).map_err(|e| {
                    Error::Usage(format!("policy key {:?} ({}): {e}", k.name, p.display()))
                })?;
                keys.push((k.name.clone(), key));
            }
            for c in &sig.certificates {
                let mut anchors = Vec::new();
                for r in &c.roots {
                    let p = base_dir.join(r);
                    let pem = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
                    anchors.extend(certs::load_pem_certs(&pem).map_err(|e| {
                        Error::Usage(format!("policy roots {:?} ({}): {e}", c.name, p.display()))
                    })?);
                }
                if anchors.is_empty() {
                    return Err(Error::Usage(format!(
                        "policy certificate entry {:?} has no roots",
                        c.name
                    )));
                }
                certs_out.push((c.name.clone(), anchors, c.identities.clone()));
            }
            if sig.required && sig.min_signers > 0 && keys.is_empty() && certs_out.is_empty() {
                return Err(Error::Usage(
                    "policy requires a signature but lists no [[signature.keys]] or [[signature.certificates]]".into(),
                ));
            }
            cert_time = match sig.cert_time.as_deref() {
                None | Some("now") => CertTime::Now,
                Some("signing") => CertTime::LeafNotBefore,
                Some(other) => {
                    return Err(Error::Usage(format!(
                        "policy: cert_time {other:?} (use \"now\" or \"signing\")"
                    )));
                }
            };
            for h in &sig.allowed_hashes {
                if crate::hashing::HashAlgo::parse(h).is_none() {
                    return Err(Error::Usage(format!("policy: unknown hash {h:?}")));
                }
            }
        }
        let max_severity = match &file.scan {
            Some(s) => Some(Severity::parse(&s.max_severity).ok_or_else(|| {
                Error::Usage(format!(
                    "policy: max_severity {:?} (use info, low, medium, high or critical)",
                    s.max_severity
                ))
            })?),
            None => None,
        };
        Ok(Policy {
            file,
            keys,
            certs: certs_out,
            max_severity,
            cert_time,
        })
    }

    /// Load a policy file.
    pub fn load(path: &Path) -> Result<Policy, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Policy::from_toml(&text, base)
    }

    /// Whether the policy needs a scan of the model (formats or findings).
    pub fn needs_scan(&self) -> bool {
        self.file.scan.is_some() || self.file.formats.is_some()
    }
}

// ---- evaluation -------------------------------------------------------------------------

/// Result of one policy section.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    /// What was found (passing or failing lines).
    pub details: Vec<String>,
}

/// The gate's verdict.
#[derive(Debug, Clone, Default)]
pub struct GateReport {
    pub checks: Vec<Check>,
    /// Root digest of the verified model, when a signature verified.
    pub root_digest: Option<String>,
    pub origin: Option<Origin>,
}

impl GateReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `org/name`.
    pub repo_id: String,
    pub revision: Option<String>,
    /// How it was determined: `hf-cache` or `declared`.
    pub how: &'static str,
}

/// Recognise the Hugging Face hub cache layout:
/// `.../models--{org}--{name}/snapshots/{revision}[/...]`.
pub fn hf_cache_origin(path: &Path) -> Option<Origin> {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let comps: Vec<&str> = abs.iter().filter_map(|c| c.to_str()).collect();
    for (i, c) in comps.iter().enumerate() {
        if let Some(rest) = c.strip_prefix("models--") {
            if comps.get(i + 1) != Some(&"snapshots") {
                continue;
            }
            let repo_id = match rest.split_once("--") {
                Some((org, name)) => format!("{org}/{}", name.replace("--", "/")),
                None => rest.to_string(),
            };
            return Some(Origin {
                repo_id,
                revision: comps.get(i + 2).map(|s| s.to_string()),
                how: "hf-cache",
            });
        }
    }
    None
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = s.get(first.len()..s.len() - last.len()).unwrap_or("");
    for mid in parts.iter().skip(1).take(parts.len().saturating_sub(2)) {
        match rest.find(mid) {
            Some(i) => rest = rest.get(i + mid.len()..).unwrap_or(""),
            None => return false,
        }
    }
    true
}

fn publisher_allowed(patterns: &[String], repo_id: &str) -> bool {
    let org = repo_id.split('/').next().unwrap_or(repo_id);
    patterns.iter().any(|p| {
        if p.contains('/') {
            glob_match(p, repo_id)
        } else {
            glob_match(p, org)
        }
    })
}

/// What to evaluate.
#[derive(Debug, Clone, Default)]
pub struct GateInput {
    pub model: PathBuf,
    /// Bundle files to use instead of the policy's list.
    pub bundles: Vec<PathBuf>,
    /// A declared origin (`org/name`), e.g. from the registry that serves the model.
    pub origin: Option<String>,
    /// Scan results, when the policy needs them.
    pub scan: Option<ScanSummary>,
}

fn default_bundles(model: &Path, listed: &[String]) -> Vec<PathBuf> {
    if !listed.is_empty() {
        let base = if model.is_dir() {
            model.to_path_buf()
        } else {
            model.parent().unwrap_or(Path::new(".")).to_path_buf()
        };
        return listed.iter().map(|b| base.join(b)).collect();
    }
    if model.is_dir() {
        vec![model.join("model.sig")]
    } else {
        let mut s = model.as_os_str().to_owned();
        s.push(".sig");
        vec![PathBuf::from(s)]
    }
}

fn signer_label(s: &SignerInfo) -> String {
    match s {
        SignerInfo::Key { curve, hint } => {
            format!("key {} {}…", curve.name(), hint.get(..16).unwrap_or(hint))
        }
        SignerInfo::Certificate(l) => format!("certificate {:?} SANs {:?}", l.subject, l.sans),
    }
}

fn check_signatures(
    policy: &Policy,
    sec: &SignatureSection,
    input: &GateInput,
) -> Result<(Check, Option<String>), Error> {
    let mut details = Vec::new();
    let bundles = if input.bundles.is_empty() {
        default_bundles(&input.model, &sec.bundles)
    } else {
        input.bundles.clone()
    };
    let mut trusted_signers: Vec<String> = Vec::new();
    let mut root: Option<String> = None;
    let mut content_failed = false;
    for b in &bundles {
        let bytes = match std::fs::read(b) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                details.push(format!("{}: no signature bundle there", b.display()));
                continue;
            }
            Err(e) => {
                details.push(format!("{}: cannot read ({e})", b.display()));
                continue;
            }
        };
        let mut best: Option<(String, Outcome)> = None;
        let mut trusts: Vec<(String, Trust)> = policy
            .keys
            .iter()
            .map(|(n, k)| (n.clone(), Trust::Key(k.clone())))
            .collect();
        for (n, anchors, _) in &policy.certs {
            trusts.push((
                n.clone(),
                Trust::Certificates {
                    anchors: anchors.clone(),
                    time: policy.cert_time,
                    identities: vec![],
                },
            ));
        }
        let mut rejections = Vec::new();
        for (name, trust) in trusts {
            let mut opts = VerifyOptions::new(trust);
            opts.signature_path = Some(b.clone());
            // co-signatures stored in the model are not model files either
            opts.ignore_paths = bundles
                .iter()
                .filter_map(|o| crate::sign::relative_inside(&input.model, o))
                .collect();
            opts.ignore_unsigned_files = sec.allow_unsigned_files;
            let o = verify::verify(&input.model, &bytes, &opts)?;
            if o.signer.is_some() {
                best = Some((name, o));
                break;
            }
            rejections.push(format!(
                "{name}: {}",
                o.problems
                    .first()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            ));
        }
        let Some((name, o)) = best else {
            details.push(format!(
                "{}: not signed by a trusted signer ({})",
                b.display(),
                rejections.join("; ")
            ));
            continue;
        };
        // identity constraint for certificate entries
        if let Some(SignerInfo::Certificate(leaf)) = &o.signer
            && let Some((_, _, ids)) = policy.certs.iter().find(|(n, _, _)| *n == name)
            && !ids.is_empty()
            && !ids
                .iter()
                .any(|p| leaf.sans.iter().any(|s| glob_match(p, s)))
        {
            details.push(format!(
                "{}: signed under {name:?} by {:?} whose SANs {:?} match none of {:?}",
                b.display(),
                leaf.subject,
                leaf.sans,
                ids
            ));
            continue;
        }
        if !o.problems.is_empty() {
            content_failed = true;
            details.push(format!(
                "{}: valid signature by {name:?}, but the model does not match it:",
                b.display()
            ));
            for p in o.problems.iter().take(20) {
                details.push(format!("  [{}] {p}", p.code()));
            }
            continue;
        }
        if sec.restrict_ignore_paths {
            let own = b.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let extra: Vec<&String> = o
                .ignore_paths
                .iter()
                .filter(|p| {
                    !crate::walk::DEFAULT_IGNORES.contains(&p.as_str())
                        && p.as_str() != crate::walk::HF_LOCAL_CACHE
                        && p.as_str() != own
                })
                .collect();
            if !extra.is_empty() {
                details.push(format!(
                    "{}: the signature leaves out {extra:?} (restrict_ignore_paths)",
                    b.display()
                ));
                continue;
            }
        }
        if !sec.allowed_hashes.is_empty()
            && let Some(h) = o.hash
            && !sec
                .allowed_hashes
                .iter()
                .any(|a| crate::hashing::HashAlgo::parse(a).map(|x| x.name()) == Some(h))
        {
            details.push(format!(
                "{}: hash {h} is not allowed by the policy ({:?})",
                b.display(),
                sec.allowed_hashes
            ));
            continue;
        }
        for w in &o.warnings {
            details.push(format!("{}: warning: {w}", b.display()));
        }
        details.push(format!(
            "{}: valid, signed by {name:?} ({}), {} files",
            b.display(),
            o.signer.as_ref().map(signer_label).unwrap_or_default(),
            o.files_checked
        ));
        if let Some(r) = &o.root_digest {
            if let Some(prev) = &root
                && prev != r
            {
                details.push(format!(
                    "{}: covers a different file set (root {r}) than another signature ({prev})",
                    b.display()
                ));
                content_failed = true;
                continue;
            }
            root = Some(r.clone());
        }
        if !trusted_signers.contains(&name) {
            trusted_signers.push(name);
        }
    }
    let need = if sec.required {
        sec.min_signers.max(1)
    } else {
        0
    };
    let passed = !content_failed && trusted_signers.len() >= need;
    if !passed && trusted_signers.len() < need {
        details.push(format!(
            "{} distinct trusted signer(s), the policy needs {need}",
            trusted_signers.len()
        ));
    }
    Ok((
        Check {
            name: "signature",
            passed,
            details,
        },
        root,
    ))
}

fn check_formats(sec: &FormatSection, scan: &ScanSummary) -> Check {
    let mut details = Vec::new();
    let mut passed = true;
    for f in &scan.files {
        let fmt = f.format.as_str();
        if sec.deny.iter().any(|d| d == fmt) {
            passed = false;
            details.push(format!("{}: format {fmt} is denied", f.path));
        } else if !sec.allow.is_empty() && !sec.allow.iter().any(|a| a == fmt) {
            passed = false;
            details.push(format!(
                "{}: format {fmt} is not in the allowed list {:?}",
                f.path, sec.allow
            ));
        } else if sec.deny_code_execution && f.can_execute_code {
            passed = false;
            details.push(format!(
                "{}: format {fmt} can execute code when loaded (deny_code_execution)",
                f.path
            ));
        }
    }
    if passed {
        let mut kinds: Vec<&str> = scan.files.iter().map(|f| f.format.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        details.push(format!("{} files, formats {:?}", scan.files.len(), kinds));
    }
    Check {
        name: "formats",
        passed,
        details,
    }
}

fn check_scan(sec: &ScanSection, max: Severity, scan: &ScanSummary) -> Check {
    let mut details = Vec::new();
    let mut passed = true;
    let mut counted = 0usize;
    for f in &scan.files {
        for x in &f.findings {
            if sec.ignore_codes.iter().any(|c| c == &x.code) {
                continue;
            }
            counted += 1;
            if x.severity > max {
                passed = false;
                details.push(format!(
                    "{}: {} {} > {}: {}",
                    f.path,
                    x.code,
                    x.severity.as_str(),
                    max.as_str(),
                    x.message
                ));
            }
        }
    }
    if sec.fail_on_errors {
        for e in &scan.errors {
            passed = false;
            details.push(format!("scan error: {e}"));
        }
    }
    if passed {
        details.push(format!(
            "{} finding(s), none above {}",
            counted,
            max.as_str()
        ));
    }
    Check {
        name: "scan",
        passed,
        details,
    }
}

fn check_source(sec: &SourceSection, origin: Option<&Origin>) -> Check {
    let require = sec
        .require_known_source
        .unwrap_or(!sec.allowed_publishers.is_empty());
    let (passed, detail) = match origin {
        None if require => (
            false,
            "origin unknown: not in a Hugging Face cache layout and no --origin declared"
                .to_string(),
        ),
        None => (true, "origin unknown (not required)".to_string()),
        Some(o) => {
            let rev = o
                .revision
                .as_deref()
                .map(|r| format!("@{r}"))
                .unwrap_or_default();
            if sec.allowed_publishers.is_empty()
                || publisher_allowed(&sec.allowed_publishers, &o.repo_id)
            {
                (true, format!("{}{rev} ({}) is allowed", o.repo_id, o.how))
            } else {
                (
                    false,
                    format!(
                        "{}{rev} ({}) is not from an allowed publisher {:?}",
                        o.repo_id, o.how, sec.allowed_publishers
                    ),
                )
            }
        }
    };
    Check {
        name: "source",
        passed,
        details: vec![detail],
    }
}

/// Apply `policy` to a model.
pub fn evaluate(policy: &Policy, input: &GateInput) -> Result<GateReport, Error> {
    let mut report = GateReport::default();
    let origin = match &input.origin {
        Some(id) => Some(Origin {
            repo_id: id.clone(),
            revision: None,
            how: "declared",
        }),
        None => hf_cache_origin(&input.model),
    };
    if let Some(sig) = &policy.file.signature {
        let (c, root) = check_signatures(policy, sig, input)?;
        report.checks.push(c);
        report.root_digest = root;
    }
    if policy.needs_scan() {
        let empty = ScanSummary::default();
        let scan = match &input.scan {
            Some(s) => s,
            None => {
                report.checks.push(Check {
                    name: "scan",
                    passed: false,
                    details: vec!["the policy needs scan results, but none were given".into()],
                });
                &empty
            }
        };
        if let Some(f) = &policy.file.formats {
            report.checks.push(check_formats(f, scan));
        }
        if let (Some(s), Some(max)) = (&policy.file.scan, policy.max_severity) {
            report.checks.push(check_scan(s, max, scan));
        }
    }
    if let Some(src) = &policy.file.source {
        report.checks.push(check_source(src, origin.as_ref()));
    }
    if report.checks.is_empty() {
        report.checks.push(Check {
            name: "policy",
            passed: false,
            details: vec!["the policy has no sections: nothing would be checked".into()],
        });
    }
    report.origin = origin;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("meta-llama", "meta-llama"));
        assert!(!glob_match("meta-llama", "meta-llama2"));
        assert!(glob_match("google/*", "google/gemma-2b"));
        assert!(glob_match("*@publisher.example", "bot@publisher.example"));
        assert!(!glob_match(
            "*@publisher.example",
            "bot@publisher.example.evil"
        ));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-c"));
        assert!(publisher_allowed(
            &["mistralai".into()],
            "mistralai/Mistral-7B"
        ));
        assert!(!publisher_allowed(
            &["mistralai".into()],
            "mistral-ai/Mistral-7B"
        ));
    }

    #[test]
    fn hf_cache_layout_gives_repo_and_revision() {
        let p = Path::new(
            "/nonexistent/hub/models--meta-llama--Llama-3-8B/snapshots/abc123/config.json",
        );
        let o = hf_cache_origin(p);
        assert_eq!(
            o,
            Some(Origin {
                repo_id: "meta-llama/Llama-3-8B".into(),
                revision: Some("abc123".into()),
                how: "hf-cache"
            })
        );
        assert_eq!(hf_cache_origin(Path::new("/tmp/models/llama")), None);
    }

    #[test]
    fn policy_typos_and_bad_values_are_errors() {
        let base = Path::new(".");
        let e = Policy::from_toml("[scan]\nmax_severty = \"low\"\n", base);
        assert!(e.is_err_and(|e| e.to_string().contains("max_severty")));
        let e = Policy::from_toml("[scan]\nmax_severity = \"bad\"\n", base);
        assert!(e.is_err_and(|e| e.to_string().contains("max_severity")));
        let e = Policy::from_toml("[signature]\nrequired = true\n", base);
        assert!(e.is_err_and(|e| e.to_string().contains("lists no")));
        let p = Policy::from_toml("[formats]\ndeny_code_execution = true\n", base);
        assert!(p.is_ok_and(|p| p.needs_scan()));
    }

    #[test]
    fn scan_and_format_checks() -> Result<(), Error> {
        let p = Policy::from_toml(
            "[formats]\nallow = [\"safetensors\", \"json\"]\n[scan]\nmax_severity = \"low\"\nignore_codes = [\"X9\"]\n",
            Path::new("."),
        )?;
        let file =
            |path: &str, format: &str, code: bool, sev: Option<(&str, Severity)>| ScannedFile {
                path: path.into(),
                format: format.into(),
                can_execute_code: code,
                findings: sev
                    .map(|(c, s)| ScanFinding {
                        code: c.into(),
                        severity: s,
                        message: "m".into(),
                    })
                    .into_iter()
                    .collect(),
            };
        let clean = ScanSummary {
            files: vec![
                file(
                    "a.safetensors",
                    "safetensors",
                    false,
                    Some(("X1", Severity::Low)),
                ),
                file("c.json", "json", false, Some(("X9", Severity::Critical))),
            ],
            errors: vec![],
        };
        let input = GateInput {
            model: PathBuf::from("."),
            scan: Some(clean),
            ..GateInput::default()
        };
        assert!(evaluate(&p, &input)?.passed());
        let bad = ScanSummary {
            files: vec![file(
                "m.pt",
                "pytorch-zip",
                true,
                Some(("PKL001", Severity::Critical)),
            )],
            errors: vec!["x: unreadable".into()],
        };
        let r = evaluate(
            &p,
            &GateInput {
                scan: Some(bad),
                ..input.clone()
            },
        )?;
        assert!(!r.passed());
        let failed: Vec<_> = r
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(failed, ["formats", "scan"]);
        let no_scan = evaluate(
            &p,
            &GateInput {
                scan: None,
                ..input
            },
        )?;
        assert!(!no_scan.passed());
        Ok(())
    }
}

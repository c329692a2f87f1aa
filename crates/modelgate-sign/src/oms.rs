//! The OMS v1.0 wire format: in-toto statement, DSSE envelope and Sigstore bundle v0.3.
//!
//! Writing produces the canonical form (compact UTF-8 JSON, fixed key order, resources in
//! model-signing's component order, sorted `ignore_paths`), so our bundles are
//! byte-reproducible. Reading is tolerant of every variant the spec allows and precise about
//! what is wrong otherwise.

use crate::hashing::HashAlgo;
use crate::walk::{is_canonical_name, ms_cmp};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The older spelling of the same v0.3 media type (Sigstore bundle spec).
pub const BUNDLE_MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
pub const LEGACY_PREDICATE_TYPE: &str = "https://model_signing/Digests/v0.1";

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Serialization method of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Files,
    Shards { size: u64 },
}

/// `predicate.serialization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serialization {
    pub method: Method,
    pub hash: HashAlgo,
    pub allow_symlinks: bool,
    pub ignore_paths: Vec<String>,
}

/// One entry of `predicate.resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub name: String,
    pub digest: Vec<u8>,
    pub algorithm: String,
}

/// A shard resource name split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardName {
    pub path: String,
    pub start: u64,
    pub end: u64,
}

/// Split `"<path>:<start>:<end>"` at the last two colons (paths may contain `:`).
pub fn parse_shard_name(name: &str) -> Option<ShardName> {
    let mut it = name.rsplitn(3, ':');
    let end = it.next()?.parse::<u64>().ok()?;
    let start = it.next()?.parse::<u64>().ok()?;
    let path = it.next()?.to_string();
    Some(ShardName { path, start, end })
}

/// The parsed, checked statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub subject_name: Option<String>,
    pub root_digest: Vec<u8>,
    pub serialization: Serialization,
    pub resources: Vec<Resource>,
    /// Tolerated oddities worth telling the user (extra fields, ...).
    pub warnings: Vec<String>,
}

/// SHA-256 over the concatenated raw digests, in the given order.
pub fn root_digest(resources: &[Resource]) -> [u8; 32] {
    let mut h = Sha256::new();
    for r in resources {
        h.update(&r.digest);
    }
    h.finalize().into()
}

/// Sort resources in model-signing order: path components, then shard start/end as integers.
pub fn sort_resources(resources: &mut [Resource], method: Method) {
    match method {
        Method::Files => resources.sort_by(|a, b| ms_cmp(&a.name, &b.name)),
        Method::Shards { .. } => {
            resources.sort_by(
                |a, b| match (parse_shard_name(&a.name), parse_shard_name(&b.name)) {
                    (Some(x), Some(y)) => ms_cmp(&x.path, &y.path)
                        .then(x.start.cmp(&y.start))
                        .then(x.end.cmp(&y.end)),
                    _ => a.name.cmp(&b.name),
                },
            )
        }
    }
}

// ---- canonical writer -------------------------------------------------------------------

#[derive(Serialize)]
struct StatementOut<'a> {
    #[serde(rename = "_type")]
    typ: &'a str,
    subject: [SubjectOut<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: PredicateOut<'a>,
}

#[derive(Serialize)]
struct SubjectOut<'a> {
    name: &'a str,
    digest: DigestOut,
}

#[derive(Serialize)]
struct DigestOut {
    sha256: String,
}

#[derive(Serialize)]
struct PredicateOut<'a> {
    resources: Vec<ResourceOut<'a>>,
    serialization: SerializationOut<'a>,
}

#[derive(Serialize)]
struct ResourceOut<'a> {
    name: &'a str,
    digest: String,
    algorithm: &'a str,
}

#[derive(Serialize)]
struct SerializationOut<'a> {
    method: &'a str,
    hash_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard_size: Option<u64>,
    allow_symlinks: bool,
    ignore_paths: Vec<String>,
}

/// Build the canonical statement bytes (the DSSE payload). `resources` must already be in
/// the intended order; the root digest is computed here.
pub fn canonical_statement(
    subject_name: &str,
    resources: &[Resource],
    ser: &Serialization,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut ignore = ser.ignore_paths.clone();
    ignore.sort();
    ignore.dedup();
    let (method, shard_size) = match ser.method {
        Method::Files => ("files", None),
        Method::Shards { size } => ("shards", Some(size)),
    };
    let st = StatementOut {
        typ: STATEMENT_TYPE,
        subject: [SubjectOut {
            name: subject_name,
            digest: DigestOut {
                sha256: hex::encode(root_digest(resources)),
            },
        }],
        predicate_type: PREDICATE_TYPE,
        predicate: PredicateOut {
            resources: resources
                .iter()
                .map(|r| ResourceOut {
                    name: &r.name,
                    digest: hex::encode(&r.digest),
                    algorithm: &r.algorithm,
                })
                .collect(),
            serialization: SerializationOut {
                method,
                hash_type: ser.hash.name(),
                shard_size,
                allow_symlinks: ser.allow_symlinks,
                ignore_paths: ignore,
            },
        },
    };
    serde_json::to_vec(&st)
}

/// What identifies the signer inside the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// Key method: `publicKey.hint` (or pre-1.1 `rawBytes`).
    PublicKey {
        hint: Option<String>,
        raw: Option<Vec<u8>>,
    },
    /// Certificate method: leaf first, then intermediates (DER).
    CertChain(Vec<Vec<u8>>),
    /// Sigstore keyless: a single (Fulcio) leaf certificate (DER).
    Certificate(Vec<u8>),
}

#[derive(Serialize)]
struct BundleOut<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    #[serde(rename = "verificationMaterial")]
    verification_material: MaterialOut,
    #[serde(rename = "dsseEnvelope")]
    dsse_envelope: EnvelopeOut<'a>,
}

#[derive(Serialize)]
struct MaterialOut {
    #[serde(rename = "publicKey", skip_serializing_if = "Option::is_none")]
    public_key: Option<HintOut>,
    #[serde(
        rename = "x509CertificateChain",
        skip_serializing_if = "Option::is_none"
    )]
    chain: Option<ChainOut>,
    #[serde(rename = "tlogEntries")]
    tlog_entries: [u8; 0],
}

#[derive(Serialize)]
struct HintOut {
    hint: String,
}

#[derive(Serialize)]
struct ChainOut {
    certificates: Vec<RawBytesOut>,
}

#[derive(Serialize)]
struct RawBytesOut {
    #[serde(rename = "rawBytes")]
    raw_bytes: String,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: &'a str,
    signatures: [SigOut; 1],
}

#[derive(Serialize)]
struct SigOut {
    sig: String,
    keyid: &'static str,
}

/// Write a bundle in the compact layout model-signing uses.
pub fn write_bundle(
    material: &Material,
    payload: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, serde_json::Error> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let vm = match material {
        Material::PublicKey { hint, .. } => MaterialOut {
            public_key: Some(HintOut {
                hint: hint.clone().unwrap_or_default(),
            }),
            chain: None,
            tlog_entries: [],
        },
        Material::CertChain(certs) => MaterialOut {
            public_key: None,
            chain: Some(ChainOut {
                certificates: certs
                    .iter()
                    .map(|c| RawBytesOut {
                        raw_bytes: b64.encode(c),
                    })
                    .collect(),
            }),
            tlog_entries: [],
        },
        Material::Certificate(c) => MaterialOut {
            public_key: None,
            chain: Some(ChainOut {
                certificates: vec![RawBytesOut {
                    raw_bytes: b64.encode(c),
                }],
            }),
            tlog_entries: [],
        },
    };
    let b = BundleOut {
        media_type: BUNDLE_MEDIA_TYPE,
        verification_material: vm,
        dsse_envelope: EnvelopeOut {
            payload: b64.encode(payload),
            payload_type: IN_TOTO_PAYLOAD_TYPE,
            signatures: [SigOut {
                sig: b64.encode(signature),
                keyid: "",
            }],
        },
    };
    serde_json::to_vec(&b)
}

// ---- tolerant reader --------------------------------------------------------------------

/// A parsed bundle (structure only; nothing is verified yet).
#[derive(Debug, Clone)]
pub struct Bundle {
    pub media_type: String,
    pub material: Material,
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Vec<u8>>,
    pub tlog_entries: usize,
}

/// Decode base64 as DSSE allows: standard or URL-safe alphabet, padded or not.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

fn get_str<'a>(o: &'a Map<String, Value>, key: &str, ctx: &str) -> Result<&'a str, String> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{ctx}.{key} is not a string")),
        None => Err(format!("{ctx}.{key} is missing")),
    }
}

fn get_obj<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    ctx: &str,
) -> Result<&'a Map<String, Value>, String> {
    match o.get(key) {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(format!("{ctx}.{key} is not an object")),
        None => Err(format!("{ctx}.{key} is missing")),
    }
}

fn get_arr<'a>(o: &'a Map<String, Value>, key: &str, ctx: &str) -> Result<&'a [Value], String> {
    match o.get(key) {
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(format!("{ctx}.{key} is not an array")),
        None => Err(format!("{ctx}.{key} is missing")),
    }
}

fn raw_bytes(v: &Value, ctx: &str) -> Result<Vec<u8>, String> {
    let o = v
        .as_object()
        .ok_or_else(|| format!("{ctx} is not an object"))?;
    let s = get_str(o, "rawBytes", ctx)?;
    b64_decode(s).ok_or_else(|| format!("{ctx}.rawBytes is not base64"))
}

/// Parse a Sigstore bundle (JSON). Errors say which field is wrong.
pub fn parse_bundle(bytes: &[u8]) -> Result<Bundle, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let o = v.as_object().ok_or("bundle is not a JSON object")?;
    let media_type = get_str(o, "mediaType", "bundle")?.to_string();
    let vm = get_obj(o, "verificationMaterial", "bundle")?;
    let ctx = "verificationMaterial";
    let mut kinds = Vec::new();
    if let Some(pk) = vm.get("publicKey") {
        let pk = pk
            .as_object()
            .ok_or("verificationMaterial.publicKey is not an object")?;
        let hint = match pk.get("hint") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("verificationMaterial.publicKey.hint is not a string".into()),
        };
        let raw = match pk.get("rawBytes") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(b64_decode(s).ok_or("verificationMaterial.publicKey.rawBytes is not base64")?)
            }
            Some(_) => return Err("verificationMaterial.publicKey.rawBytes is not a string".into()),
        };
        kinds.push(Material::PublicKey { hint, raw });
    }
    if let Some(ch) = vm.get("x509CertificateChain") {
        let ch = ch
            .as_object()
            .ok_or("verificationMaterial.x509CertificateChain is not an object")?;
        let certs = get_arr(
            ch,
            "certificates",
            "verificationMaterial.x509CertificateChain",
        )?;
        let mut out = Vec::new();
        for (i, c) in certs.iter().enumerate() {
            out.push(raw_bytes(
                c,
                &format!("{ctx}.x509CertificateChain.certificates[{i}]"),
            )?);
        }
        if out.is_empty() {
            return Err("verificationMaterial.x509CertificateChain.certificates is empty".into());
        }
        kinds.push(Material::CertChain(out));
    }
    if let Some(c) = vm.get("certificate") {
        kinds.push(Material::Certificate(raw_bytes(
            c,
            "verificationMaterial.certificate",
        )?));
    }
    let material = match kinds.len() {
        0 => {
            return Err(
                "verificationMaterial has none of publicKey, x509CertificateChain, certificate"
                    .into(),
            );
        }
        1 => kinds.remove(0),
        _ => return Err("verificationMaterial has more than one kind of key material".into()),
    };
    let tlog_entries = match vm.get("tlogEntries") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(a)) => a.len(),
        Some(_) => return Err("verificationMaterial.tlogEntries is not an array".into()),
    };
    if o.contains_key("messageSignature") {
        return Err(
            "bundle holds a messageSignature, not a DSSE envelope (not an OMS signature)".into(),
        );
    }
    let env = get_obj(o, "dsseEnvelope", "bundle")?;
    let payload_b64 = get_str(env, "payload", "dsseEnvelope")?;
    let payload = b64_decode(payload_b64).ok_or("dsseEnvelope.payload is not base64")?;
    let payload_type = get_str(env, "payloadType", "dsseEnvelope")?.to_string();
    let sigs = get_arr(env, "signatures", "dsseEnvelope")?;
    let mut signatures = Vec::new();
    for (i, s) in sigs.iter().enumerate() {
        let so = s
            .as_object()
            .ok_or_else(|| format!("dsseEnvelope.signatures[{i}] is not an object"))?;
        let sig = get_str(so, "sig", &format!("dsseEnvelope.signatures[{i}]"))?;
        signatures.push(
            b64_decode(sig)
                .ok_or_else(|| format!("dsseEnvelope.signatures[{i}].sig is not base64"))?,
        );
        match so.get("keyid") {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(_) => {
                return Err(format!(
                    "dsseEnvelope.signatures[{i}].keyid is not a string"
                ));
            }
        }
    }
    Ok(Bundle {
        media_type,
        material,
        payload_type,
        payload,
        signatures,
        tlog_entries,
    })
}

fn hex_digest(s: &str, algo: HashAlgo, ctx: &str) -> Result<Vec<u8>, String> {
    let d = hex::decode(s).map_err(|_| format!("{ctx}: digest {s:?} is not hex"))?;
    if d.len() != algo.digest_len() {
        return Err(format!(
            "{ctx}: digest has {} bytes, {} needs {}",
            d.len(),
            algo.name(),
            algo.digest_len()
        ));
    }
    Ok(d)
}

fn shard_size_of(v: &Value) -> Result<u64, String> {
    // model-signing writes 4096.0 (a protobuf Struct float); the spec says an integer.
    if let Some(n) = v.as_u64() {
        if n == 0 {
            return Err("serialization.shard_size must be positive".into());
        }
        return Ok(n);
    }
    if let Some(f) = v.as_f64()
        && f.is_finite()
        && f >= 1.0
        && f.fract() == 0.0
        && f <= 9_007_199_254_740_992.0
    {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(f as u64);
    }
    Err(format!(
        "serialization.shard_size {v} is not a positive integer"
    ))
}

const KNOWN_STATEMENT_KEYS: [&str; 4] = ["_type", "subject", "predicateType", "predicate"];
const KNOWN_PREDICATE_KEYS: [&str; 2] = ["resources", "serialization"];
const KNOWN_SER_KEYS: [&str; 5] = [
    "method",
    "hash_type",
    "shard_size",
    "allow_symlinks",
    "ignore_paths",
];

/// Parse and check the in-toto statement (the *verified* DSSE payload).
pub fn parse_statement(bytes: &[u8]) -> Result<Statement, String> {
    let mut warnings = Vec::new();
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("payload is not valid JSON: {e}"))?;
    let o = v.as_object().ok_or("payload is not a JSON object")?;
    let typ = get_str(o, "_type", "statement")?;
    if typ != STATEMENT_TYPE {
        return Err(format!(
            "statement _type is {typ:?}, expected {STATEMENT_TYPE:?}"
        ));
    }
    let pt = get_str(o, "predicateType", "statement")?;
    if pt == LEGACY_PREDICATE_TYPE {
        return Err(format!(
            "predicateType {pt:?} is the pre-1.0 model-signing format; re-sign with OMS v1.0"
        ));
    }
    if pt != PREDICATE_TYPE {
        return Err(format!(
            "predicateType is {pt:?}, expected {PREDICATE_TYPE:?} (not a model signature)"
        ));
    }
    for k in o.keys() {
        if !KNOWN_STATEMENT_KEYS.contains(&k.as_str()) {
            warnings.push(format!("statement has an unknown field {k:?} (ignored)"));
        }
    }
    let subject = get_arr(o, "subject", "statement")?;
    if subject.len() != 1 {
        return Err(format!(
            "statement has {} subjects, OMS requires exactly one",
            subject.len()
        ));
    }
    let so = subject
        .first()
        .and_then(Value::as_object)
        .ok_or("subject[0] is not an object")?;
    let subject_name = so.get("name").and_then(Value::as_str).map(str::to_owned);
    let sd = get_obj(so, "digest", "subject[0]")?;
    let root_hex = get_str(sd, "sha256", "subject[0].digest")?;
    let root_digest = hex_digest(root_hex, HashAlgo::Sha256, "subject[0].digest.sha256")?;

    let pred = get_obj(o, "predicate", "statement")?;
    for k in pred.keys() {
        if !KNOWN_PREDICATE_KEYS.contains(&k.as_str()) {
            warnings.push(format!("predicate has an unknown field {k:?} (ignored)"));
        }
    }
    let ser = get_obj(pred, "serialization", "predicate")?;
    for k in ser.keys() {
        if !KNOWN_SER_KEYS.contains(&k.as_str()) {
            warnings.push(format!(
                "serialization has an unknown field {k:?} (ignored)"
            ));
        }
    }
    let hash_name = get_str(ser, "hash_type", "serialization")?;
    let hash = match HashAlgo::parse(hash_name) {
        Some(h) if h.is_supported() => h,
        Some(h) => {
            return Err(format!(
                "hash type {} is not supported by this build",
                h.name()
            ));
        }
        None => return Err(format!("unsupported hash type {hash_name:?}")),
    };
    let method = match get_str(ser, "method", "serialization")? {
        "files" => Method::Files,
        "shards" => Method::Shards {
            size: shard_size_of(
                ser.get("shard_size")
                    .ok_or("serialization.shard_size is missing (required for shards)")?,
            )?,
        },
        other => return Err(format!("unsupported serialization method {other:?}")),
    };
    let allow_symlinks = match ser.get("allow_symlinks") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("serialization.allow_symlinks is not a boolean".into()),
    };
    let mut ignore_paths = Vec::new();
    match ser.get("ignore_paths") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for p in a {
                let s = p
                    .as_str()
                    .ok_or("serialization.ignore_paths has a non-string entry")?;
                ignore_paths.push(s.to_string());
            }
        }
        Some(_) => return Err("serialization.ignore_paths is not an array".into()),
    }

    let res = get_arr(pred, "resources", "predicate")?;
    let mut resources = Vec::with_capacity(res.len());
    let mut seen = std::collections::HashSet::new();
    let sharded_alg = match method {
        Method::Shards { size } => Some(format!("{}-sharded-{size}", hash.name())),
        Method::Files => None,
    };
    for (i, r) in res.iter().enumerate() {
        let ctx = format!("resources[{i}]");
        let ro = r
            .as_object()
            .ok_or_else(|| format!("{ctx} is not an object"))?;
        let name = get_str(ro, "name", &ctx)?.to_string();
        let algorithm = get_str(ro, "algorithm", &ctx)?.to_string();
        let ok_alg = algorithm == hash.name() || sharded_alg.as_deref() == Some(algorithm.as_str());
        if !ok_alg {
            return Err(format!(
                "{ctx} ({name:?}): algorithm {algorithm:?} does not match hash_type {:?}",
                hash.name()
            ));
        }
        let digest = hex_digest(get_str(ro, "digest", &ctx)?, hash, &ctx)?;
        let path_part = match method {
            Method::Files => name.clone(),
            Method::Shards { size } => {
                let sn = parse_shard_name(&name).ok_or_else(|| {
                    format!("{ctx}: shard name {name:?} is not <path>:<start>:<end>")
                })?;
                if sn.start >= sn.end || sn.end - sn.start > size || sn.start % size != 0 {
                    return Err(format!(
                        "{ctx}: shard {name:?} is not a valid range for shard_size {size}"
                    ));
                }
                sn.path
            }
        };
        if path_part != "." && !is_canonical_name(&path_part) {
            return Err(format!(
                "{ctx}: resource name {name:?} is not canonical (relative, '/'-separated, no '.', '..' or empty components)"
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("{ctx}: duplicate resource name {name:?}"));
        }
        resources.push(Resource {
            name,
            digest,
            algorithm,
        });
    }
    // "." is model-signing's name for a single-file model; it must then be the only file.
    if resources.len() > 1
        && resources.iter().any(|r| match method {
            Method::Files => r.name == ".",
            Method::Shards { .. } => parse_shard_name(&r.name).is_some_and(|s| s.path == "."),
        })
    {
        let single = match method {
            Method::Files => false,
            Method::Shards { .. } => resources
                .iter()
                .all(|r| parse_shard_name(&r.name).is_some_and(|s| s.path == ".")),
        };
        if !single {
            return Err("resource name \".\" is only valid for a single-file model".into());
        }
    }
    Ok(Statement {
        subject_name,
        root_digest,
        serialization: Serialization {
            method,
            hash,
            allow_symlinks,
            ignore_paths,
        },
        resources,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_dsse_spec_example() {
        // DSSE spec: PAE("http://example.com/HelloWorld", "hello world")
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn shard_names_split_at_last_two_colons() {
        assert_eq!(
            parse_shard_name("a:b/c.bin:4096:8192"),
            Some(ShardName {
                path: "a:b/c.bin".into(),
                start: 4096,
                end: 8192
            })
        );
        assert_eq!(parse_shard_name("x:1"), None);
        assert_eq!(parse_shard_name("x:a:1"), None);
    }

    #[test]
    fn shard_order_is_numeric() {
        let r = |n: &str| Resource {
            name: n.into(),
            digest: vec![],
            algorithm: "sha256".into(),
        };
        let mut v = vec![r("w:114688:118784"), r("w:98304:102400"), r("a/b:0:1")];
        sort_resources(&mut v, Method::Shards { size: 4096 });
        let names: Vec<_> = v.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a/b:0:1", "w:98304:102400", "w:114688:118784"]);
    }

    #[test]
    fn shard_size_float_accepted_fraction_rejected() {
        assert_eq!(shard_size_of(&serde_json::json!(4096.0)), Ok(4096));
        assert_eq!(shard_size_of(&serde_json::json!(4096)), Ok(4096));
        assert!(shard_size_of(&serde_json::json!(4096.5)).is_err());
        assert!(shard_size_of(&serde_json::json!(0)).is_err());
        assert!(shard_size_of(&serde_json::json!("4096")).is_err());
    }

    #[test]
    fn malformed_bundles_give_field_errors() {
        assert!(parse_bundle(b"{").is_err_and(|e| e.contains("not valid JSON")));
        assert!(parse_bundle(b"[]").is_err_and(|e| e.contains("not a JSON object")));
        let e = parse_bundle(br#"{"mediaType":"x","verificationMaterial":{}}"#);
        assert!(e.is_err_and(|e| e.contains("none of publicKey")));
        let e = parse_bundle(
            br#"{"mediaType":"x","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"!!","payloadType":"t","signatures":[]}}"#,
        );
        assert!(e.is_err_and(|e| e.contains("payload is not base64")));
    }
}

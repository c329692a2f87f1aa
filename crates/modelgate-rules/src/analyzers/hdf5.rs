//! HDF5 (h5py files, Keras 2-style `.h5` models): the structure is read by modelgate's own
//! bounded reader; a Keras model's `model_config` / `training_config` attributes go through
//! the same Keras rules as a `.keras` config; attribute values, the contents of byte,
//! string and opaque datasets (numeric datasets are never read; see
//! [`hdf5::DatasetData`] for the read policy) and the user block are sniffed for hidden
//! payloads. Plain HDF5 data files are inventoried, not flagged.

use crate::analyzers::safetensors::{decodings, is_payload};
use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::hdf5::{hidden_payload, malformed, not_fully_read};
use crate::rules::keras;
use modelgate_core::{Blob, FormatId, Severity, VirtualPath};
use modelgate_formats::hdf5::{self, Error, Hdf5File, ObjectKind, Value};
use serde_json::Value as Json;

pub struct Hdf5Analyzer;

/// Most structural problems reported one by one; the rest are summarised.
const MAX_ISSUES: usize = 32;
/// Most raw-byte config candidates tried when the structure cannot be read.
const MAX_RAW_CONFIGS: usize = 16;
/// Most elements of one attribute sniffed for a payload (the rest: an info finding).
const MAX_ATTRIBUTE_ELEMENTS: usize = 64;
/// Most elements of one string dataset sniffed for a payload (the rest: an info finding).
const MAX_DATASET_ELEMENTS: usize = 65_536;
/// Keras attributes that hold JSON configs.
const CONFIG_ATTRIBUTES: &[&str] = &["model_config", "training_config"];

impl Analyzer for Hdf5Analyzer {
    fn id(&self) -> &'static str {
        "hdf5"
    }

    fn handles(&self, format: FormatId) -> bool {
        matches!(format, FormatId::Hdf5 | FormatId::KerasH5)
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        let file = match hdf5::parse(d, &hdf5::Limits::default()) {
            Ok(f) => f,
            Err(e) => {
                cx.emit(problem(&e).finding(located(art, &e), format!("HDF5: {e}")));
                raw_configs(cx, art);
                return;
            }
        };
        inventory(cx, art, &file);
        let shown = file.issues.len().min(MAX_ISSUES);
        for issue in file.issues.iter().take(shown) {
            let mut f = problem(&issue.error)
                .finding(located(art, &issue.error), format!("HDF5 {issue}"))
                .with("object", issue.path.clone());
            // A large byte dataset is read from its start by design (a payload is
            // recognised by its leading bytes): information, not an incomplete scan.
            if matches!(&issue.error, Error::Limit { what, .. } if *what == hdf5::BYTE_DATASET_PREFIX)
            {
                f = f.severity(Severity::Info);
            }
            cx.emit(f);
        }
        if file.issues.len() > shown {
            cx.emit(malformed::META.finding(
                art.path.clone(),
                format!(
                    "{} further HDF5 problems not listed",
                    file.issues.len() - shown
                ),
            ));
        }
        let mut config_read = false;
        if let Some(root) = file.root() {
            for name in CONFIG_ATTRIBUTES {
                let Some(text) = root.attribute(name).and_then(|a| a.as_str()) else {
                    continue;
                };
                let at = art.path.join(format!("/{name}"));
                match serde_json::from_str::<Json>(&text) {
                    Ok(doc) => {
                        config_read |= *name == "model_config";
                        keras::check(cx, &at, &doc);
                    }
                    Err(e) => cx.emit(
                        malformed::META
                            .finding(at, format!("Keras {name} attribute is not JSON: {e}")),
                    ),
                }
            }
        }
        hidden_in_values(cx, art, &file);
        user_block(cx, art, &file);
        if !config_read && !file.issues.is_empty() {
            raw_configs(cx, art);
        }
    }
}

fn located(art: &Artifact, e: &Error) -> VirtualPath {
    match e.offset() {
        Some(at) if at < art.data.len() as u64 => art.path.at(at),
        _ => art.path.clone(),
    }
}

fn problem(e: &Error) -> &'static modelgate_core::RuleMeta {
    if e.is_limit() || e.is_unsupported() {
        &not_fully_read::META
    } else {
        &malformed::META
    }
}

fn inventory(cx: &mut ScanCx, art: &Artifact, file: &Hdf5File) {
    let groups = file
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Group)
        .count();
    let datasets = file
        .objects
        .iter()
        .filter(|o| matches!(o.kind, ObjectKind::Dataset { .. }))
        .count();
    let root = file.root();
    let text = |name: &str| {
        root.and_then(|r| r.attribute(name))
            .and_then(|a| a.as_str())
    };
    let keras = text("model_config").is_some();
    let mut notes = vec![format!(
        "HDF5 superblock v{}, {groups} group(s), {datasets} dataset(s)",
        file.version
    )];
    if keras {
        notes.push(format!(
            "Keras H5 model (keras_version {}, backend {})",
            text("keras_version").unwrap_or_else(|| "?".into()),
            text("backend").unwrap_or_else(|| "?".into())
        ));
    }
    if file.superblock_offset > 0 {
        notes.push(format!("user block of {} bytes", file.superblock_offset));
    }
    for a in &file.aliases {
        notes.push(format!(
            "{} {} -> {}",
            if a.cycle {
                "hard link cycle"
            } else {
                "hard link"
            },
            a.path,
            a.target
        ));
    }
    for o in &file.objects {
        for l in &o.other_links {
            notes.push(match &l.external_file {
                Some(f) => format!("external link {}/{} -> {f}:{}", o.path, l.name, l.target),
                None => format!("soft link {}/{} -> {}", o.path, l.name, l.target),
            });
        }
    }
    if let Some(inv) = cx.inventory_mut(&art.path) {
        if keras {
            inv.format = FormatId::KerasH5.name().to_string();
            inv.can_execute_code = true;
        }
        inv.notes.extend(notes.into_iter().take(16));
    }
}

/// Where a value was found, for messages and member paths.
struct Place<'a> {
    object: &'a str,
    /// Attribute name, or `None` for the dataset's own data.
    attribute: Option<&'a str>,
    at: u64,
}

impl Place<'_> {
    fn label(&self) -> String {
        let base = self.object.trim_end_matches('/');
        match self.attribute {
            Some(a) => format!("{base}/attrs/{a}"),
            None if base.is_empty() => "<data>".into(),
            None => format!("{base}/<data>"),
        }
    }

    fn subject(&self) -> String {
        match self.attribute {
            Some(a) => format!("attribute {a:?} of {}", self.object),
            None => format!("dataset {}", self.object),
        }
    }
}

/// Attribute values and byte/string dataset contents that are, or decode to, another
/// format.
fn hidden_in_values(cx: &mut ScanCx, art: &Artifact, file: &Hdf5File) {
    // PyTables pickles attribute values by design (and unpickles them on read).
    let pytables = file
        .root()
        .is_some_and(|r| r.attribute("PYTABLES_FORMAT_VERSION").is_some());
    for o in &file.objects {
        for a in &o.attributes {
            if o.path == "/" && CONFIG_ATTRIBUTES.contains(&a.name.as_str()) {
                continue;
            }
            let place = Place {
                object: &o.path,
                attribute: Some(&a.name),
                at: a.at,
            };
            sniff_value(cx, art, &a.value, &place, pytables, MAX_ATTRIBUTE_ELEMENTS);
        }
        if let Some(d) = &o.data {
            let place = Place {
                object: &o.path,
                attribute: None,
                at: d.at,
            };
            sniff_value(cx, art, &d.value, &place, false, MAX_DATASET_ELEMENTS);
        }
    }
}

/// Sniff the elements of one value (raw, and base64/hex decoded) for a payload format;
/// the first hit per element is reported and scanned as a member.
fn sniff_value(
    cx: &mut ScanCx,
    art: &Artifact,
    value: &Value,
    place: &Place<'_>,
    pytables: bool,
    max_elements: usize,
) {
    let values: Vec<&[u8]> = match value {
        Value::Strings(v) => v.iter().map(Vec::as_slice).collect(),
        Value::Bytes(b) => vec![b.as_slice()],
        _ => return,
    };
    let label = place.label();
    let subject = place.subject();
    if values.len() > max_elements {
        cx.emit(
            not_fully_read::META
                .finding(
                    art.path.at(place.at),
                    format!(
                        "only the first {max_elements} of {} elements of {subject} were searched for payloads",
                        values.len()
                    ),
                )
                .severity(Severity::Info)
                .with("object", place.object.to_string()),
        );
    }
    for (i, raw) in values.into_iter().enumerate().take(max_elements) {
        if raw.len() < 8 || cx.out_of_time(&art.path) {
            continue;
        }
        let mut candidates = vec![("raw", raw.to_vec())];
        if let Ok(text) = std::str::from_utf8(raw) {
            candidates.extend(decodings(text).into_iter().skip(1));
        }
        let label = if i == 0 {
            label.clone()
        } else {
            format!("{label}[{i}]")
        };
        for (how, bytes) in candidates {
            let format = modelgate_formats::sniff(&bytes, "");
            if !is_payload(format) {
                continue;
            }
            let msg = if how == "raw" {
                format!("{subject} is a {format}")
            } else {
                format!("{subject} decodes ({how}) to a {format}")
            };
            let mut f = hidden_payload::META
                .finding(art.path.at(place.at), msg)
                .with("object", place.object.to_string());
            f = match place.attribute {
                Some(a) => f.with("attribute", a.to_string()),
                None => f.with("region", "dataset data"),
            };
            if pytables && matches!(format, FormatId::Pickle { .. }) {
                f = f
                    .severity(Severity::Low)
                    .with("convention", "PyTables pickled attribute");
            }
            cx.emit(
                f.with("encoding", how)
                    .with("format", format.name())
                    .help("The payload is scanned below; model weights never need code in an attribute or a byte dataset"),
            );
            let member = if how == "raw" {
                label.clone()
            } else {
                format!("{label} ({how})")
            };
            cx.descend_as(art.path.join(member), Blob::from_vec(bytes), format);
            break;
        }
    }
}

/// The bytes before a superblock found at 512, 1024, ...
fn user_block(cx: &mut ScanCx, art: &Artifact, file: &Hdf5File) {
    let Ok(end) = usize::try_from(file.superblock_offset) else {
        return;
    };
    let Some(blob) = art.data.slice(0..end) else {
        return;
    };
    if blob.as_slice().iter().all(|b| *b == 0) {
        return;
    }
    let format = modelgate_formats::sniff(blob.as_slice(), "");
    if is_payload(format) {
        cx.emit(
            hidden_payload::META
                .finding(
                    art.path.at(0),
                    format!("the {end}-byte user block before the HDF5 superblock is a {format}"),
                )
                .with("region", "user block")
                .with("format", format.name()),
        );
        cx.descend_as(art.path.join("<user block>"), blob, format);
    }
}

/// When the structure is unreadable, find Keras configs in the raw bytes (variable-length
/// strings are stored whole in the global heap), so a Lambda is still reported.
fn raw_configs(cx: &mut ScanCx, art: &Artifact) {
    let d = art.data.as_slice();
    let needle = b"{\"class_name\"";
    let mut pos = 0usize;
    let mut tried = 0usize;
    while tried < MAX_RAW_CONFIGS {
        let Some(found) = d
            .get(pos..)
            .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
        else {
            break;
        };
        let start = pos + found;
        tried += 1;
        let Some(tail) = d.get(start..) else { break };
        let mut it = serde_json::Deserializer::from_slice(tail).into_iter::<Json>();
        match it.next() {
            Some(Ok(doc)) if modelgate_formats::keras::is_keras_config(&doc) => {
                let at: VirtualPath = art.path.join(format!("<raw config @{start:#x}>"));
                keras::check(cx, &at, &doc);
                pos = start + it.byte_offset().max(1);
            }
            _ => pos = start + 1,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::engine::scan_bytes;
    use modelgate_core::{Blob, FileReport, Limits, Severity, Verdict};

    fn scan(name: &str) -> FileReport {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/scan")
            .join(name);
        scan_bytes(
            name,
            Blob::from_vec(std::fs::read(p).unwrap()),
            &Limits::default(),
        )
    }

    fn codes(r: &FileReport) -> Vec<&str> {
        let mut c: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// Keras 3 (torch backend) `model.save("x.h5")` with a Lambda, hand-assembled code
    /// objects of CPython 3.8, 3.10 and 3.12, and real CPython 3.13 marshal data in the same
    /// file.
    #[test]
    fn keras_lambdas_show_their_calls_and_are_critical() {
        for (name, python, call) in [
            (
                "mal_keras_lambda_os_system.h5",
                "CPython 3.11",
                "os.system(\"echo modelgate-fixture\")",
            ),
            (
                "mal_keras_lambda_nested.h5",
                "CPython 3.11",
                "subprocess.run([\"echo\", \"nested\"])",
            ),
            (
                "mal_keras_lambda_import.h5",
                "CPython 3.11",
                "subprocess.run([\"echo\", \"modelgate-fixture\"])",
            ),
            (
                "mal_keras2_lambda_fixed_string.h5",
                "CPython 3.11",
                "os.system(\"echo modelgate-keras2\")",
            ),
            (
                "mal_keras_lambda_py38.h5",
                "CPython 3.8-3.10",
                "os.system(\"echo modelgate-py38\")",
            ),
            (
                "mal_keras_lambda_py310.h5",
                "CPython 3.8-3.10",
                "socket.create_connection((\"203.0.113.7\", 4444))",
            ),
            (
                "mal_keras_lambda_py312.h5",
                "CPython 3.12",
                "os.system(\"echo modelgate-py312\")",
            ),
            (
                "mal_keras_lambda_py313.h5",
                "CPython 3.13",
                "os.system(\"echo modelgate-py313\")",
            ),
        ] {
            let r = scan(name);
            assert_eq!(codes(&r), vec!["KRS001"], "{name}");
            let f = &r.findings[0];
            assert_eq!(f.severity, Severity::Critical, "{name}");
            assert_eq!(f.location.to_string(), format!("{name}!/model_config"));
            assert_eq!(f.evidence_value("python"), Some(python), "{name}");
            assert!(
                f.evidence
                    .iter()
                    .any(|e| e.key == "call" && e.value == call),
                "{name}: {:?}",
                f.evidence
            );
            assert!(f.message.contains(call), "{}", f.message);
            assert_eq!(r.verdict, Verdict::Malicious);
            assert_eq!(r.inventory[0].format, "keras-h5");
            assert!(r.inventory[0].can_execute_code);
        }
        let r = scan("mal_keras_lambda_import.h5");
        assert_eq!(r.findings[0].evidence_value("import"), Some("subprocess"));
        assert_eq!(
            r.findings[0].evidence_value("dangerous"),
            Some("subprocess.run")
        );
    }

    #[test]
    fn benign_files_are_inventoried_not_flagged() {
        let r = scan("ok_keras_dense.h5");
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.verdict, Verdict::Clean);
        assert_eq!(r.inventory[0].format, "keras-h5");
        assert!(
            r.inventory[0]
                .notes
                .iter()
                .any(|n| n == "Keras H5 model (keras_version 3.15.1, backend torch)")
        );
        for name in [
            "ok_h5py_plain.h5",
            "ok_h5py_latest.h5",
            "ok_h5py_userblock.h5",
            "ok_h5py_hardlink_cycle.h5",
        ] {
            let r = scan(name);
            assert!(r.findings.is_empty(), "{name}: {:?}", r.findings);
            assert_eq!(r.inventory[0].format, "hdf5");
            assert!(!r.inventory[0].can_execute_code);
        }
        let r = scan("ok_h5py_hardlink_cycle.h5");
        assert!(
            r.inventory[0]
                .notes
                .iter()
                .any(|n| n == "hard link cycle /g/up -> /"),
            "{:?}",
            r.inventory
        );
        let r = scan("ok_h5py_userblock.h5");
        assert!(
            r.inventory[0]
                .notes
                .iter()
                .any(|n| n == "user block of 512 bytes")
        );
    }

    #[test]
    fn payloads_in_attributes_and_user_blocks_are_scanned() {
        let r = scan("mal_h5_pickle_attr.h5");
        assert_eq!(codes(&r), vec!["HDF003", "PKL001"]);
        let pkl = r.findings.iter().find(|f| f.code == "PKL001").unwrap();
        assert!(
            pkl.location
                .to_string()
                .starts_with("mal_h5_pickle_attr.h5!/attrs/blob")
        );
        let r = scan("mal_h5_base64_pickle_attr.h5");
        assert!(
            r.findings.iter().any(|f| f.code == "PKL001"
                && f.location
                    .to_string()
                    .starts_with("mal_h5_base64_pickle_attr.h5!/g/attrs/cfg (base64)")),
            "{:?}",
            r.findings
        );
        let r = scan("mal_h5_userblock_pickle.h5");
        assert_eq!(codes(&r), vec!["HDF003", "PKL001"]);
        assert!(r.findings.iter().any(|f| {
            f.code == "PKL001"
                && f.location
                    .to_string()
                    .starts_with("mal_h5_userblock_pickle.h5!<user block>")
        }));
        assert_eq!(r.verdict, Verdict::Malicious);
    }

    /// A pickle stored as dataset data, in every layout h5py writes (contiguous, chunked
    /// with gzip+shuffle, compact, base64 in a vlen string; v4/v5 chunk indexes): each is
    /// found and scanned; the numeric dataset is not read.
    #[test]
    fn payloads_in_byte_datasets_are_scanned() {
        let r = scan("mal_h5_pickle_dataset.h5");
        assert_eq!(codes(&r), vec!["HDF003", "PKL001"], "{:?}", r.findings);
        assert_eq!(r.verdict, Verdict::Malicious);
        let locs: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.code == "PKL001")
            .map(|f| f.location.to_string())
            .collect();
        for member in [
            "/payload/contiguous/<data>",
            "/payload/chunked/<data>",
            "/payload/compact/<data>",
            "/payload/text/<data> (base64)",
        ] {
            let want = format!("mal_h5_pickle_dataset.h5!{member}");
            assert!(
                locs.iter().any(|l| l.starts_with(&want)),
                "{want}: {locs:?}"
            );
        }
        let hdf = r.findings.iter().filter(|f| f.code == "HDF003").count();
        assert_eq!(hdf, 4);
        for name in [
            "mal_h5_pickle_dataset_v4.h5",
            "mal_h5_pickle_dataset_unlimited.h5",
        ] {
            let r = scan(name);
            assert_eq!(
                codes(&r),
                vec!["HDF003", "PKL001"],
                "{name}: {:?}",
                r.findings
            );
            assert_eq!(r.verdict, Verdict::Malicious);
        }
        let r = scan("mal_h5_pickle_dataset_unlimited.h5");
        let hdf = r.findings.iter().filter(|f| f.code == "HDF003").count();
        assert_eq!(hdf, 5, "{:?}", r.findings);
        let r = scan("ok_h5py_byte_datasets.h5");
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        // More elements than are sniffed one by one: said, at info severity.
        let r = scan("ok_h5py_many_labels.h5");
        assert_eq!(codes(&r), vec!["HDF002"], "{:?}", r.findings);
        assert_eq!(r.findings[0].severity, Severity::Info);
        assert!(
            r.findings[0]
                .message
                .contains("only the first 64 of 100 elements of attribute \"labels\" of /"),
            "{}",
            r.findings[0].message
        );
        assert_eq!(r.verdict, Verdict::Clean);
    }

    /// Behind a deflate-filtered link heap (with a huge filtered link name), and behind
    /// shared messages (committed datatype, shared-message table): the byte dataset is
    /// reached and its pickle scanned; nothing is "not fully read".
    #[test]
    fn payloads_behind_filtered_heaps_and_shared_messages_are_scanned() {
        for (name, member) in [
            ("mal_h5_filtered_link_heap.h5", "/g/sub07/blob/<data>"),
            ("mal_h5_shared_messages.h5", "/blob/<data>"),
        ] {
            let r = scan(name);
            assert_eq!(
                codes(&r),
                vec!["HDF003", "PKL001"],
                "{name}: {:?}",
                r.findings
            );
            assert_eq!(r.verdict, Verdict::Malicious);
            let want = format!("{name}!{member}");
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.code == "PKL001" && f.location.to_string().starts_with(&want)),
                "{want}: {:?}",
                r.findings
            );
        }
        // The huge dense attribute is read now: the file is clean.
        let r = scan("h5py_dense_huge_attribute.h5");
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }

    #[test]
    fn broken_structure_is_malformed_and_the_raw_config_still_checked() {
        let r = scan("mal_h5_broken_root_lambda.h5");
        assert_eq!(codes(&r), vec!["HDF001", "KRS001"]);
        let k = r.findings.iter().find(|f| f.code == "KRS001").unwrap();
        assert!(
            k.location.to_string().contains("<raw config @0x"),
            "{}",
            k.location
        );
        assert_eq!(k.severity, Severity::Critical);
        for (name, want) in [
            ("mal_h5_truncated.h5", vec!["HDF001"]),
            ("mal_h5_continuation_cycle.h5", vec!["HDF001"]),
            ("mal_h5_huge_counts.h5", vec!["HDF001", "HDF002"]),
        ] {
            let r = scan(name);
            assert_eq!(codes(&r), want, "{name}: {:?}", r.findings);
            assert_eq!(r.verdict, Verdict::Malformed, "{name}");
        }
        // A bare signature: no readable superblock.
        let r = scan_bytes(
            "x.h5",
            Blob::from_vec(b"\x89HDF\r\n\x1a\n\x00".to_vec()),
            &Limits::default(),
        );
        assert_eq!(codes(&r), vec!["HDF001"]);
    }

    /// Scan a directory of real files (`H5_SURVEY=/dir cargo test scan_survey -- --ignored`).
    #[test]
    #[ignore]
    fn scan_survey() {
        let dir = std::env::var("H5_SURVEY").unwrap();
        let r = crate::engine::scan(
            &[std::path::PathBuf::from(dir)],
            &crate::engine::ScanOptions::default(),
        );
        for f in &r.files {
            println!("{} {} {} finding(s)", f.path, f.verdict, f.findings.len());
            for x in &f.findings {
                println!("    {} {}", x.code, x.message);
            }
        }
    }
}

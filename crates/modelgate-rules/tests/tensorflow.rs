//! TensorFlow SavedModel / GraphDef and TFLite analysis on fixtures made by real TensorFlow
//! (tests/fixtures/gen/make_tf_fixtures.py): what each finding says and where it points.

use modelgate_core::{Finding, Limits, Severity};
use modelgate_rules::{ScanOptions, scan};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn scan_all(path: PathBuf) -> modelgate_core::Report {
    scan(
        &[path],
        &ScanOptions {
            limits: Limits::default(),
            threads: Some(1),
            progress: None,
        },
    )
}

fn findings(name: &str) -> Vec<Finding> {
    let r = scan_all(root().join("scan").join(name));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.files.into_iter().flat_map(|f| f.findings).collect()
}

fn with_code<'a>(fs: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.code == code).collect()
}

fn dump(fs: &[Finding]) -> String {
    fs.iter()
        .map(|f| format!("{} {} {} {:?}", f.code, f.location, f.message, f.evidence))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn read_and_write_file_name_the_call_site_and_the_constant_path() {
    let fs = findings("mal_tf_read_write_file.pb");
    let read = with_code(&fs, "TFG002");
    assert_eq!(read.len(), 1, "{}", dump(&fs));
    let r = read[0];
    assert_eq!(r.evidence_value("path"), Some("/etc/passwd"));
    assert_eq!(r.severity, Severity::High, "absolute path");
    assert!(
        r.evidence_value("scope")
            .unwrap()
            .starts_with("function __inference")
    );
    assert_eq!(r.evidence_value("op"), Some("ReadFile"));
    assert!(r.location.offset.is_some(), "points at the node");
    let write = with_code(&fs, "TFG003");
    assert_eq!(write.len(), 1, "{}", dump(&fs));
    assert_eq!(
        write[0].evidence_value("path"),
        Some("../../../tmp/dropped.sh")
    );
    // The saver every SavedModel carries (SaveV2/RestoreV2 fed by a placeholder) is silent.
    assert!(with_code(&fs, "TFG004").is_empty(), "{}", dump(&fs));
}

#[test]
fn print_to_file_python_callback_and_checkpoint_paths() {
    let fs = findings("mal_tf_print_to_file.pb");
    let p = with_code(&fs, "TFG005");
    assert_eq!(p.len(), 1, "{}", dump(&fs));
    assert_eq!(
        p[0].evidence_value("output_stream"),
        Some("file:///tmp/exfil.log")
    );

    let fs = findings("mal_tf_py_function.pb");
    let py = with_code(&fs, "TFG001");
    assert_eq!(py.len(), 1, "{}", dump(&fs));
    assert_eq!(py[0].evidence_value("op"), Some("EagerPyFunc"));
    assert!(py[0].evidence_value("token").is_some());

    let fs = findings("mal_tf_checkpoint_paths.pb");
    let mut paths: Vec<&str> = with_code(&fs, "TFG004")
        .iter()
        .filter_map(|f| f.evidence_value("path"))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["../../outside/ckpt", "/tmp/../etc/cron.d/job"],
        "{}",
        dump(&fs)
    );
}

#[test]
fn remote_paths_rpc_grpc_debug_urls_and_unknown_ops() {
    let fs = findings("mal_tf_network_unknown_op.pb");
    let net = with_code(&fs, "TFG006");
    let targets: Vec<&str> = net
        .iter()
        .filter_map(|f| f.evidence_value("target"))
        .collect();
    assert!(
        targets.contains(&"gs://attacker-bucket/payload"),
        "{}",
        dump(&fs)
    );
    assert!(
        targets.contains(&"grpc://203.0.113.7:6064"),
        "{}",
        dump(&fs)
    );
    assert!(
        net.iter()
            .any(|f| f.evidence_value("op") == Some("RpcClient"))
    );
    // The remote path reaches ReadFile through an Identity node.
    let read = with_code(&fs, "TFG002");
    assert_eq!(
        read[0].evidence_value("path"),
        Some("gs://attacker-bucket/payload")
    );
    let unknown = with_code(&fs, "TFG007");
    assert_eq!(unknown.len(), 1, "{}", dump(&fs));
    assert_eq!(unknown[0].evidence_value("ops"), Some("Backdoor"));
    assert!(unknown[0].message.contains("node evil"));
}

#[test]
fn asset_traversal_is_found_and_rebound_asset_constants_are_not() {
    let fs = findings("mal_tf_asset_traversal.pb");
    let a = with_code(&fs, "TFG008");
    assert_eq!(a.len(), 1, "{}", dump(&fs));
    assert_eq!(a[0].evidence_value("asset"), Some("../../../../etc/passwd"));
    // InitializeTableFromTextFileV2 reads "/export/model/assets/vocab.txt", but that Const is
    // the asset tensor the loader rebinds.
    assert!(with_code(&fs, "TFG002").is_empty(), "{}", dump(&fs));
}

#[test]
fn a_whole_saved_model_directory_scans_clean() {
    let r = scan_all(root().join("tf/ok_savedmodel"));
    assert!(r.errors.is_empty());
    let names: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        names.iter().any(|n| n.ends_with("saved_model.pb")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.contains("variables/")), "{names:?}");
    for f in &r.files {
        let loud: Vec<&Finding> = f
            .findings
            .iter()
            .filter(|x| x.severity > Severity::Info)
            .collect();
        assert!(loud.is_empty(), "{}: {loud:?}", f.path);
        if f.path.ends_with("saved_model.pb") {
            assert_eq!(f.format, "tf-savedmodel");
        } else {
            assert!(
                !f.format.starts_with("tf-"),
                "{} sniffed as {}",
                f.path,
                f.format
            );
        }
    }
}

#[test]
fn tflite_custom_flex_and_metadata_payloads() {
    let fs = findings("mal_tflite_custom_op.tflite");
    let c = with_code(&fs, "TFL001");
    assert_eq!(c.len(), 1, "{}", dump(&fs));
    assert_eq!(c[0].severity, Severity::Medium);

    let fs = findings("ok_tflite_flex_ops.tflite");
    let flex = with_code(&fs, "TFL002");
    assert_eq!(flex.len(), 1, "{}", dump(&fs));
    assert!(
        flex[0]
            .evidence_value("ops")
            .unwrap()
            .contains("FlexStringSplitV2")
    );
    assert!(
        fs.iter().all(|f| f.severity == Severity::Info),
        "{}",
        dump(&fs)
    );

    // The Flex op's NodeDef (in its custom options) is checked like a graph node.
    let fs = findings("mal_tflite_flex_read_file.tflite");
    let read = with_code(&fs, "TFG002");
    assert_eq!(read.len(), 1, "{}", dump(&fs));
    assert_eq!(read[0].evidence_value("op"), Some("ReadFile"));
    assert!(
        read[0].evidence_value("scope").unwrap().contains("(Flex)"),
        "{}",
        dump(&fs)
    );

    let fs = findings("mal_tflite_flex_print_to_file.tflite");
    let p = with_code(&fs, "TFG005");
    assert_eq!(p.len(), 1, "{}", dump(&fs));
    assert_eq!(
        p[0].evidence_value("output_stream"),
        Some("file:///tmp/exfil.log")
    );

    let fs = findings("mal_tflite_metadata_pickle.tflite");
    assert_eq!(with_code(&fs, "TFL003").len(), 1, "{}", dump(&fs));
    let pkl = with_code(&fs, "PKL001");
    assert_eq!(pkl.len(), 1, "{}", dump(&fs));
    assert!(
        pkl[0].location.to_string().contains("metadata/extra"),
        "{}",
        pkl[0].location
    );
}

#[test]
fn malformed_inputs_are_findings() {
    for name in [
        "mal_tf_truncated_savedmodel.pb",
        "mal_tflite_truncated.tflite",
        "mal_tflite_bad_root.tflite",
    ] {
        let fs = findings(name);
        assert!(
            fs.iter()
                .any(|f| f.code == "GEN001" && !f.message.is_empty()),
            "{name}: {}",
            dump(&fs)
        );
    }
    let fs = findings("mal_tflite_bad_references.tflite");
    let msgs: Vec<&str> = with_code(&fs, "GEN001")
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("opcode index past")),
        "{}",
        dump(&fs)
    );
    assert!(
        msgs.iter().any(|m| m.contains("outside the file")),
        "{}",
        dump(&fs)
    );
    let fs = findings("mal_tf_deep_nesting.pb");
    assert!(
        with_code(&fs, "GEN003")[0]
            .message
            .contains("nested deeper"),
        "{}",
        dump(&fs)
    );
    assert_eq!(
        with_code(&fs, "TFG001")[0].evidence_value("node"),
        Some("hidden")
    );
}

/// Scan a local corpus of real models (`MODELGATE_TF_CORPUS=dir cargo test -p modelgate-rules
/// --test tensorflow -- --ignored`): every TF/TFLite file must parse and nothing may be
/// reported above low. Used on the models shipped in PyPI packages (see docs in the report).
#[test]
#[ignore]
fn local_corpus_of_real_models_is_clean() {
    let Some(dir) = std::env::var_os("MODELGATE_TF_CORPUS") else {
        return;
    };
    let r = scan_all(PathBuf::from(dir));
    let mut tf = 0;
    let mut loud = Vec::new();
    for f in &r.files {
        if f.format.starts_with("tf") {
            tf += 1;
            println!("{} {}", f.format, f.path);
        }
        for x in &f.findings {
            println!("  {} {} {} {}", f.path, x.code, x.severity, x.message);
            if x.severity > Severity::Low {
                loud.push(format!(
                    "{} {} {} {}",
                    f.path, x.code, x.severity, x.message
                ));
            }
        }
    }
    println!("{} files, {tf} TensorFlow/TFLite", r.files.len());
    assert!(loud.is_empty(), "{}", loud.join("\n"));
}

/// tf-keras `model.save(dir)` output: the Lambda is found in keras_metadata.pb, located at its
/// node path, with the disassembled call; the benign directory is clean file by file.
#[test]
fn keras_savedmodel_directories() {
    let r = scan_all(root().join("tf/keras_lambda_savedmodel"));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let all: Vec<Finding> = r.files.iter().flat_map(|f| f.findings.clone()).collect();
    let krs = with_code(&all, "KRS001");
    assert_eq!(krs.len(), 1, "{}", dump(&all));
    let k = krs[0];
    assert!(
        k.location
            .to_string()
            .ends_with("keras_lambda_savedmodel/keras_metadata.pb!root.layer-1"),
        "{}",
        k.location
    );
    assert_eq!(k.severity, Severity::Critical);
    assert_eq!(k.evidence_value("layer"), Some("payload"));
    assert_eq!(k.evidence_value("dangerous"), Some("os.system"));
    assert!(k.message.contains("os.system(\"true\")"), "{}", k.message);
    assert_eq!(all.len(), 1, "only the Lambda: {}", dump(&all));
    let meta = r
        .files
        .iter()
        .find(|f| f.path.ends_with("keras_metadata.pb"))
        .unwrap();
    assert_eq!(meta.format, "tf-savedmodel");

    let r = scan_all(root().join("tf/keras_dense_savedmodel"));
    assert!(r.errors.is_empty());
    assert!(
        r.files
            .iter()
            .any(|f| f.path.ends_with("keras_metadata.pb")),
        "the metadata was scanned"
    );
    for f in &r.files {
        assert!(f.findings.is_empty(), "{}: {}", f.path, dump(&f.findings));
    }
}

#[test]
fn keras_metadata_in_the_object_graph_binary_and_text() {
    for name in [
        "mal_tf_keras_lambda_object_graph.pb",
        "mal_tf_keras_lambda_saved_model.pbtxt",
    ] {
        let fs = findings(name);
        let krs = with_code(&fs, "KRS001");
        assert_eq!(krs.len(), 1, "{name}: {}", dump(&fs));
        assert_eq!(
            krs[0].location.to_string(),
            format!(
                "{}!root.layer-1",
                root().join("scan").join(name).to_string_lossy()
            )
        );
        assert_eq!(krs[0].evidence_value("dangerous"), Some("os.system"));
    }
    let fs = findings("mal_tf_keras_metadata_module.pb");
    let m = with_code(&fs, "KRS002");
    assert_eq!(m.len(), 1, "the model's copy is the layer's: {}", dump(&fs));
    assert_eq!(m[0].evidence_value("call"), Some("builtins.exec"));
    assert!(
        m[0].location
            .to_string()
            .ends_with("!root.layer_with_weights-0")
    );
    let fs = findings("mal_tf_keras_metadata_not_json.pb");
    let bad = with_code(&fs, "GEN001");
    assert_eq!(bad.len(), 1, "{}", dump(&fs));
    assert!(bad[0].message.contains("root.layer_with_weights-0"));
    assert!(bad[0].message.contains("not JSON"));
}

/// Every graph rule applies to the text format: the same call sites as the binary graph,
/// located at the `node {` of the text.
#[test]
fn text_format_graphs() {
    let fs = findings("mal_tf_read_write_file.pbtxt");
    let read = with_code(&fs, "TFG002");
    assert_eq!(read.len(), 1, "{}", dump(&fs));
    assert_eq!(read[0].evidence_value("path"), Some("/etc/passwd"));
    assert_eq!(read[0].severity, Severity::High);
    let text = std::fs::read(root().join("scan/mal_tf_read_write_file.pbtxt")).unwrap();
    let at = read[0].location.offset.unwrap() as usize;
    assert!(text[at..].starts_with(b"node {\n  name: \"ReadFile\""));
    let write = with_code(&fs, "TFG003");
    assert_eq!(
        write[0].evidence_value("path"),
        Some("../../../tmp/dropped.sh")
    );
    let fs = findings("mal_tf_truncated.pbtxt");
    let bad = with_code(&fs, "GEN001");
    assert!(
        bad[0].message.contains("unterminated string literal"),
        "{}",
        dump(&fs)
    );
    assert_eq!(with_code(&fs, "TFG002").len(), 1, "the part before the cut");
    for ok in ["ok_tf_frozen_graph.pbtxt", "ok_tf_saved_model.pbtxt"] {
        let fs = findings(ok);
        assert!(fs.is_empty(), "{ok}: {}", dump(&fs));
    }
}

/// basic-pitch 0.4.0's SavedModel from PyPI (tests/fixtures/tf/pypi_basic_pitch_nmp/README.md):
/// a real Keras model saved by TF 2.4 with its 30 Keras configs in the object graph. Read
/// through its gzip wrapper, every Keras object is analysed, and nothing is reported.
#[test]
fn real_savedmodel_from_pypi_is_clean() {
    let r = scan_all(root().join("tf/pypi_basic_pitch_nmp"));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let sm = r
        .files
        .iter()
        .find(|f| f.path.ends_with("saved_model.pb.gz"))
        .unwrap();
    let inner = sm
        .inventory
        .iter()
        .find(|i| i.format == "tf-savedmodel")
        .unwrap();
    let note = inner.notes.join(" ");
    assert!(note.contains("4001 node(s)"), "{note}");
    assert!(note.contains("30 Keras object(s)"), "{note}");
    assert!(note.contains("TF 2.4.1"), "{note}");
    for f in &r.files {
        assert!(f.findings.is_empty(), "{}: {}", f.path, dump(&f.findings));
    }
}

/// Every graph rule applies to the text format: each binary fixture and its text form
/// (`text_format.MessageToString` of the same message, tests/fixtures/tf/pbtxt) give the
/// same findings, messages and evidence; only the byte offsets differ.
#[test]
fn binary_and_text_forms_give_the_same_findings() {
    let key = |f: &Finding| {
        (
            f.code.clone(),
            f.severity,
            f.message.clone(),
            format!("{:?}", f.evidence),
        )
    };
    let mut compared = 0;
    for entry in std::fs::read_dir(root().join("tf/pbtxt")).unwrap() {
        let text_path = entry.unwrap().path();
        let name = text_path.file_name().unwrap().to_string_lossy().to_string();
        let binary = name.strip_suffix("txt").unwrap().to_string();
        let b = findings(&binary);
        let r = scan_all(text_path.clone());
        assert!(r.errors.is_empty());
        assert!(
            r.files[0].format.starts_with("tf-"),
            "{name}: {}",
            r.files[0].format
        );
        let t: Vec<Finding> = r.files.into_iter().flat_map(|f| f.findings).collect();
        assert!(!b.is_empty(), "{binary} has findings");
        let mut bk: Vec<_> = b.iter().map(key).collect();
        let mut tk: Vec<_> = t.iter().map(key).collect();
        bk.sort();
        tk.sort();
        assert_eq!(bk, tk, "{name}:\n{}\n--\n{}", dump(&b), dump(&t));
        assert!(t.iter().all(|f| f.location.offset.is_none_or(|o| o > 0)));
        compared += 1;
    }
    assert_eq!(compared, 6);
}

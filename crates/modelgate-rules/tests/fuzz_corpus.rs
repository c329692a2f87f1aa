//! Stable-toolchain replay of the committed fuzz corpus (`fuzz/corpus/**`), plus deterministic
//! mutations of every fixture: no input may panic, crash an analyzer, or scan differently twice.

use modelgate_core::{Blob, Limits};
use modelgate_formats::pickle::resolve::effective_call;
use modelgate_formats::pickle::symbolic::{EventKind, VmLimits, run_stream};
use modelgate_formats::tf::{Container, TfLimits};
use modelgate_formats::zip::ZipArchive;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn limits() -> Limits {
    Limits {
        max_member_bytes: 1 << 20,
        max_expanded_bytes: 4 << 20,
        max_pickle_ops: 100_000,
        ..Limits::default()
    }
}

/// The bodies of the fuzz targets.
fn exercise(data: &[u8]) {
    if let Ok(f) = modelgate_formats::hdf5::parse(data, &modelgate_formats::hdf5::Limits::default())
    {
        for a in f.objects.iter().flat_map(|o| &o.attributes) {
            let _ = (a.as_str(), a.datatype.describe());
        }
    }
    if let Ok(d) = modelgate_formats::marshal::disassemble(data, &Default::default()) {
        let _ = d.calls.iter().map(ToString::to_string).count();
    }
    let p = run_stream(
        data,
        0,
        VmLimits {
            max_ops: 100_000,
            max_values: 100_000,
            max_memo: 10_000,
            max_nesting: 4,
        },
    );
    for e in &p.events {
        if let EventKind::Call { value } = e.kind {
            let _ = effective_call(&p.values, data, value);
            let _ = p.values.render(value, data);
        }
    }
    let a = ZipArchive::parse(data, 1000);
    let blob = Blob::from_vec(data.to_vec());
    for e in &a.entries {
        let _ = a.read(&blob, e, 1 << 20, 100, true);
    }
    let _ = modelgate_formats::tf::probe(data);
    let tf_limits = TfLimits {
        max_depth: 8,
        max_nodes: 10_000,
        ..TfLimits::default()
    };
    for c in [
        Container::SavedModel,
        Container::MetaGraph,
        Container::GraphDef,
    ] {
        let p = modelgate_formats::tf::parse(data, c, &tf_limits);
        assert!(p.model.node_count() <= tf_limits.max_nodes);
        let t = modelgate_formats::tf::parse_text(data, c, &tf_limits);
        assert!(t.model.node_count() <= tf_limits.max_nodes);
    }
    let _ = modelgate_formats::tf::probe_text(data);
    let k = modelgate_formats::tf::parse_keras_metadata(
        data,
        &TfLimits {
            max_objects: 1000,
            ..tf_limits.clone()
        },
    );
    assert!(k.nodes.len() <= 1000);
    if let Ok(m) = modelgate_formats::tflite::parse(data, &Default::default()) {
        for i in 0..m.buffers.len() {
            if let Some(r) = m.buffer_range(i as u32, data.len()) {
                assert!(r.end <= data.len());
            }
        }
        for op in m.subgraphs.iter().flat_map(|s| &s.operators) {
            if let Some(opts) = op.custom_options.clone().and_then(|r| data.get(r)) {
                let _ = modelgate_formats::tflite::flex_node_def(opts, "ReadFile");
            }
        }
    }
    let _ = modelgate_formats::safetensors::parse(data);
    let _ = modelgate_formats::gguf::parse(data);
    let text = String::from_utf8_lossy(data);
    let _ = modelgate_formats::chat_template::scan(&text);
    if let Ok(t) = modelgate_formats::chat_template::parse(&text) {
        let _ = modelgate_rules::rules::template::analyze::analyze(&t);
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = modelgate_formats::keras::objects(&v);
    }
    let r = modelgate_rules::scan_bytes("fuzz.bin", blob, &limits());
    assert!(
        !r.findings.iter().any(|f| f.code == "GEN004"),
        "analyzer crashed: {:?}",
        r.findings
    );
}

#[test]
fn committed_corpus_replays_without_panics() {
    let mut n = 0;
    for target in [
        "pickle_vm",
        "zip_reader",
        "scan_bytes",
        "tf_proto",
        "tf_text",
        "tflite_reader",
        "hdf5_reader",
        "marshal_code",
        "safetensors_header",
        "gguf_header",
        "chat_template",
    ] {
        let dir = root().join("fuzz/corpus").join(target);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            exercise(&data);
            n += 1;
        }
    }
    assert!(n >= 60, "corpus too small: {n}");
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

#[test]
fn mutated_fixtures_never_crash_and_scan_deterministically() {
    let dir = root().join("tests/fixtures/scan");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(orig) = std::fs::read(&path) else {
            continue;
        };
        if orig.len() > 1 << 16 {
            continue;
        }
        for _ in 0..24 {
            let mut d = orig.clone();
            match rng.below(4) {
                0 if !d.is_empty() => {
                    let i = rng.below(d.len());
                    d[i] ^= 1 << rng.below(8);
                }
                1 => d.truncate(rng.below(d.len() + 1)),
                2 => {
                    let i = rng.below(d.len() + 1);
                    let b = [0x80, 0x95, 0xff, b'(', b'R', b'.', b'P', b'K', 0x00][rng.below(9)];
                    d.insert(i, b);
                }
                _ if !d.is_empty() => {
                    let i = rng.below(d.len());
                    let j = rng.below(d.len());
                    d.swap(i, j);
                }
                _ => {}
            }
            exercise(&d);
            let a = modelgate_rules::scan_bytes("m.bin", Blob::from_vec(d.clone()), &limits());
            let b = modelgate_rules::scan_bytes("m.bin", Blob::from_vec(d), &limits());
            assert_eq!(
                a.findings,
                b.findings,
                "non-deterministic scan of a mutation of {}",
                path.display()
            );
        }
    }
}

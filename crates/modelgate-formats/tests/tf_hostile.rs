//! The TensorFlow protobuf and TFLite flatbuffer readers on hostile bytes: random input and
//! single-byte mutations of real models (made by TF 2.21) never panic and respect budgets.

use modelgate_formats::tf::{Container, TfLimits, parse, probe};
use modelgate_formats::tflite::{self, TfliteLimits};
use proptest::prelude::*;

const SAVED_MODEL: &[u8] = include_bytes!("../../../tests/fixtures/scan/mal_tf_read_write_file.pb");
const TFLITE: &[u8] =
    include_bytes!("../../../tests/fixtures/scan/mal_tflite_flex_read_file.tflite");

fn all_tf(data: &[u8]) {
    let _ = probe(data);
    let limits = TfLimits {
        max_nodes: 64,
        max_depth: 4,
        ..TfLimits::default()
    };
    for c in [
        Container::SavedModel,
        Container::MetaGraph,
        Container::GraphDef,
    ] {
        let p = parse(data, c, &limits);
        assert!(p.model.node_count() <= 64);
    }
}

fn all_tflite(data: &[u8]) {
    if let Ok(m) = tflite::parse(data, &TfliteLimits::default()) {
        for op in m.subgraphs.iter().flat_map(|s| &s.operators) {
            if let Some(opts) = op.custom_options.clone().and_then(|r| data.get(r)) {
                let _ = tflite::flex_node_def(opts, "ReadFile");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        all_tf(&data);
        all_tflite(&data);
        let mut lite = data.clone();
        if lite.len() >= 8 {
            lite[4..8].copy_from_slice(b"TFL3");
        }
        all_tflite(&lite);
    }

    #[test]
    fn mutated_real_models_never_panic(pos in 0usize..1 << 14, byte in any::<u8>(), cut in 0usize..1 << 14) {
        let mut sm = SAVED_MODEL.to_vec();
        let i = pos % sm.len();
        sm[i] = byte;
        sm.truncate(cut.max(1));
        all_tf(&sm);
        let mut lite = TFLITE.to_vec();
        let j = pos % lite.len();
        lite[j] = byte;
        all_tflite(&lite);
        lite.truncate(cut % (lite.len() + 1));
        all_tflite(&lite);
    }
}

#[test]
fn the_unmutated_fixtures_parse() {
    let p = parse(SAVED_MODEL, Container::SavedModel, &TfLimits::default());
    assert!(p.error.is_none() && p.model.node_count() > 10);
    let m = tflite::parse(TFLITE, &TfliteLimits::default()).unwrap();
    assert!(!m.operator_codes.is_empty());
}

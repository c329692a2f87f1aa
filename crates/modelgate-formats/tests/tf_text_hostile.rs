//! The text-format reader (`.pbtxt`) and the keras_metadata.pb reader on hostile input:
//! random text made of the format's own tokens, and mutations of real files (written by TF
//! 2.21 / tf-keras 2.21), never panic, always end, and respect their limits.

use modelgate_formats::tf::text_format::{self, TextError, TextLimits};
use modelgate_formats::tf::{Container, TfLimits, parse_keras_metadata, parse_text, probe_text};
use proptest::prelude::*;

const PBTXT: &[u8] = include_bytes!("../../../tests/fixtures/scan/mal_tf_read_write_file.pbtxt");
const KERAS: &[u8] = include_bytes!("../../../tests/fixtures/scan/mal_tf_keras_lambda_metadata.pb");

const TOKENS: &[&str] = &[
    "node",
    "name",
    "op",
    "attr",
    "key",
    "value",
    "{",
    "}",
    "<",
    ">",
    "[",
    "]",
    ":",
    ",",
    ";",
    "-",
    "\"s\"",
    "'t'",
    "\"\\x41\\101\\u00e9\"",
    "\"",
    "\\",
    "1",
    "0x1f",
    "1.5e-3",
    "inf",
    "DT_STRING",
    "#c\n",
    "\n",
    " ",
    "[a.b/c]",
    "meta_graphs",
    "graph_def",
    "library",
    "function",
    "node_def",
    "tensor",
    "string_val",
    "func",
    "list",
    "s",
    "object_graph_def",
    "nodes",
    "user_object",
    "metadata",
    "children",
    "node_id",
    "local_name",
];

fn all(data: &[u8]) {
    let _ = probe_text(data);
    let limits = TextLimits {
        max_depth: 12,
        max_tokens: 5_000,
        max_fields: 2_000,
        ..TextLimits::default()
    };
    let doc = text_format::parse(data, &limits);
    if let Some(e) = &doc.error {
        // A named error with a position or a limit; never an empty message.
        assert!(!e.to_string().is_empty());
        if let TextError::TooManyFields { max } = e {
            assert_eq!(*max, 2_000);
        }
    }
    let tf = TfLimits {
        max_nodes: 64,
        max_depth: 4,
        max_objects: 16,
        ..TfLimits::default()
    };
    for c in [
        Container::SavedModel,
        Container::MetaGraph,
        Container::GraphDef,
    ] {
        let p = parse_text(data, c, &tf);
        assert!(p.model.node_count() <= 64);
        assert!(
            p.model
                .meta_graphs
                .iter()
                .all(|m| m.keras_objects.len() <= 16)
        );
    }
    let k = parse_keras_metadata(data, &tf);
    assert!(k.nodes.len() <= 16);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(ix in proptest::collection::vec(0usize..TOKENS.len(), 0..300)) {
        let text: String = ix.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
        all(text.as_bytes());
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        all(&data);
    }

    #[test]
    fn mutated_real_files_never_panic(pos in 0usize..1 << 14, byte in any::<u8>(), cut in 0usize..1 << 14) {
        for src in [PBTXT, KERAS] {
            let mut d = src.to_vec();
            let i = pos % d.len();
            d[i] = byte;
            d.truncate(cut.max(1));
            all(&d);
        }
    }
}

#[test]
fn unbalanced_nesting_is_a_named_limit_not_a_stack_overflow() {
    for open in ["a {", "a <", "a: [{", "[x] {"] {
        let text = open.repeat(200_000);
        let doc = text_format::parse(text.as_bytes(), &TextLimits::default());
        assert!(
            matches!(doc.error, Some(TextError::TooDeep { max: 100, .. })),
            "{open}: {:?}",
            doc.error
        );
    }
}

//! Graph diff (weight-insensitive) and rendering (DOT, well-formed SVG, HTML) on the corpus.

use modelgate_graph::GraphLimits;
use modelgate_graph::diff::diff_onnx_bytes;
use modelgate_graph::render::{self, RenderOptions};
use modelgate_graph::rules::Cx;
use std::path::Path;

fn read(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn fine_tuned_copy_diffs_clean() {
    let r = diff_onnx_bytes(
        &read("clean/digits_mlp.onnx"),
        &read("clean/digits_mlp_finetuned.onnx"),
        &GraphLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        r.is_identical(),
        "inserted {:?} removed {:?}",
        r.inserted,
        r.removed
    );
    assert!(r.findings.is_empty());
    assert_eq!(r.score, 0.0);
}

#[test]
fn backdoor_and_its_fine_tuned_copy_diff_clean_but_both_are_detected() {
    let a = read("backdoor/digits_pixel_pattern_where.onnx");
    let b = read("backdoor/digits_pixel_pattern_where_finetuned.onnx");
    let r = diff_onnx_bytes(&a, &b, &GraphLimits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.is_identical(), "weights-only change must not diff");
    for bytes in [&a, &b] {
        let s = modelgate_graph::analyze_onnx_bytes(bytes, &GraphLimits::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.score >= 0.9, "score {}", s.score);
    }
}

#[test]
fn inserted_trigger_is_reported_with_the_backdoor_finding() {
    let r = diff_onnx_bytes(
        &read("clean/digits_mlp.onnx"),
        &read("backdoor/digits_pixel_pattern_where.onnx"),
        &GraphLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.inserted.len(), 8, "{:?}", r.inserted);
    assert!(r.removed.is_empty());
    let g4 = r
        .findings
        .iter()
        .find(|f| f.code == "GRA004")
        .unwrap_or_else(|| panic!("no GRA004"));
    assert_eq!(g4.confidence, 0.9);
    assert_eq!(
        g4.evidence
            .get("inserted_reading_raw_input")
            .map(String::as_str),
        Some("trig_slice")
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "GRA001" && f.node == "gate_probs")
    );
    assert!(r.score >= 0.9);
}

#[test]
fn internal_insertion_and_output_only_insertion() {
    // steering add: inserted nodes read input_ids; the rewired Gemm shows up as changed
    let r = diff_onnx_bytes(
        &read("clean/text_bow.onnx"),
        &read("backdoor/text_prefix_steering_add.onnx"),
        &GraphLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.inserted.iter().any(|n| n.name == "/pooler/Slice"));
    assert_eq!(r.inserted.len(), 6, "{:?}", r.inserted);
    assert!(r.removed.is_empty(), "{:?}", r.removed);
    assert_eq!(r.rewired.len(), 1);
    assert_eq!(
        r.rewired.first().map(|(_, c)| c.name.as_str()),
        Some("/classifier/Gemm")
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "GRA004" && f.confidence == 0.9)
    );
    // output-conditioned rewrite reads only model values: GRA004 0.3 plus GRA002
    let r = diff_onnx_bytes(
        &read("clean/digits_mlp.onnx"),
        &read("backdoor/digits_output_conditioned.onnx"),
        &GraphLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "GRA004" && f.confidence == 0.3),
        "{:?}",
        r.findings
    );
    assert!(r.findings.iter().any(|f| f.code == "GRA002"));
}

fn rendered(rel: &str, full: bool) -> (String, String, String, String) {
    let bytes = read(rel);
    let limits = GraphLimits::default();
    let model = modelgate_onnx::parse(&bytes, &limits.onnx).unwrap_or_else(|e| panic!("{e}"));
    let cx = Cx::new(&model, &limits).unwrap_or_else(|e| panic!("{e}"));
    let a = cx.analyze();
    let opts = RenderOptions {
        full,
        max_nodes: 400,
    };
    (
        render::explain_text(&cx, &a, rel),
        render::to_dot(&cx, &a, &opts),
        render::to_svg(&cx, &a, &opts, rel),
        render::to_html(&cx, &a, &opts, rel),
    )
}

fn check_svg<'a>(svg: &'a str, rel: &str) -> roxmltree::Document<'a> {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("{rel}: SVG is not well-formed XML: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    doc
}

#[test]
fn svg_is_well_formed_and_highlights_the_trigger_path() {
    for rel in [
        "backdoor/squeezenet_patch_mean_if.onnx",
        "backdoor/digits_pixel_pattern_where.onnx",
        "backdoor/squeezenet_obfuscated_softstep.onnx",
        "backdoor/text_prefix_steering_add.onnx",
    ] {
        let (text, dot, svg, html) = rendered(rel, false);
        let doc = check_svg(&svg, rel);
        let classes: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("class"))
            .collect();
        assert!(
            classes.contains(&"trigger") && classes.contains(&"gate"),
            "{rel}: no highlighted nodes"
        );
        let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
        assert!(rects >= 4, "{rel}: only {rects} boxes drawn");
        assert!(
            dot.starts_with("digraph model {")
                && dot.trim_end().ends_with('}')
                && dot.contains("#f6b26b"),
            "{rel}: DOT"
        );
        assert!(
            html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && html.contains("GRA001"),
            "{rel}: HTML"
        );
        let start = html.find("<svg").unwrap_or(0);
        let end = html.find("</svg>").map(|e| e + 6).unwrap_or(html.len());
        check_svg(html.get(start..end).unwrap_or(""), rel);
        assert!(
            text.contains("trigger:") && text.contains("subgraph:"),
            "{rel}: text"
        );
    }
}

#[test]
fn full_graph_svg_of_clean_models_is_well_formed() {
    for rel in [
        "clean/squeezenet_light.onnx",
        "clean/text_truncate_if.onnx",
        "clean/encoder_attention_mask.onnx",
        "clean/iris_knn.onnx",
    ] {
        let (text, _, svg, _) = rendered(rel, true);
        let doc = check_svg(&svg, rel);
        assert!(
            doc.descendants().filter(|n| n.has_tag_name("rect")).count() > 5,
            "{rel}"
        );
        assert!(
            !doc.descendants()
                .any(|n| n.attribute("class") == Some("trigger")),
            "{rel}: clean model has a highlighted trigger"
        );
        assert!(text.contains("score:"));
    }
}

#[test]
fn hostile_names_are_escaped_in_svg() {
    use modelgate_onnx::proto;
    use prost::Message;
    let evil = "</text><script>alert(1)</script>&\"'\u{1}";
    let g = proto::GraphProto {
        node: vec![proto::NodeProto {
            op_type: Some(evil.into()),
            name: Some(evil.into()),
            input: vec![evil.into()],
            output: vec!["y".into()],
            ..Default::default()
        }],
        input: vec![proto::ValueInfoProto {
            name: Some(evil.into()),
            ..Default::default()
        }],
        output: vec![proto::ValueInfoProto {
            name: Some("y".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = proto::ModelProto {
        graph: Some(g),
        ..Default::default()
    }
    .encode_to_vec();
    let limits = GraphLimits::default();
    let model = modelgate_onnx::parse(&bytes, &limits.onnx).unwrap_or_else(|e| panic!("{e}"));
    let cx = Cx::new(&model, &limits).unwrap_or_else(|e| panic!("{e}"));
    let a = cx.analyze();
    let svg = render::to_svg(
        &cx,
        &a,
        &RenderOptions {
            full: true,
            max_nodes: 10,
        },
        evil,
    );
    let doc = check_svg(&svg, "evil");
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    let html = render::to_html(&cx, &a, &RenderOptions::default(), evil);
    assert!(!html.contains("<script>"));
}

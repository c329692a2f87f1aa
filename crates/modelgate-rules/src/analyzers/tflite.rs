//! TFLite flatbuffers: custom operators listed and flagged, Flex (select TF) ops listed and
//! checked by the TensorFlow op rules, metadata buffers scanned for embedded payloads.

use crate::analyzers::safetensors::is_payload;
use crate::analyzers::tf::{Site, check_node};
use crate::analyzers::tf_ops::{Effect, effects};
use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::unreadable;
use crate::rules::generic::{budget_exceeded, malformed};
use crate::rules::tensorflow::{
    file_read, file_write, network_op, python_callback, tflite_custom_op, tflite_embedded_payload,
    tflite_flex_op, unknown_op,
};
use modelgate_core::{FormatId, Severity, VirtualPath};
use modelgate_formats::tf::stock_ops;
use modelgate_formats::tf::{self, TfLimits};
use modelgate_formats::tflite::flex_node_def;
use modelgate_formats::tflite::{
    BufferData, Operator, TfliteError, TfliteLimits, TfliteModel, parse,
};
use modelgate_formats::zip::{ZipArchive, ZipReadError};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub struct TfliteAnalyzer;

/// Most op names listed in one finding.
const MAX_LISTED: usize = 16;
/// Most Flex operators whose NodeDef is decoded and checked.
const MAX_FLEX_NODES: usize = 100_000;

impl Analyzer for TfliteAnalyzer {
    fn id(&self) -> &'static str {
        "tflite"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::TfLite
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let data = art.data.as_slice();
        let model = match parse(data, &TfliteLimits::default()) {
            Ok(m) => m,
            Err(e @ TfliteError::Limit { .. }) => {
                cx.emit(
                    budget_exceeded::META
                        .finding(
                            art.path.clone(),
                            format!("TFLite: {e}; the model was not analysed"),
                        )
                        .with("budget", "tflite"),
                );
                return;
            }
            Err(e) => {
                cx.emit(malformed::META.finding(art.path.clone(), format!("TFLite: {e}")));
                return;
            }
        };
        let ops: usize = model.subgraphs.iter().map(|s| s.operators.len()).sum();
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.notes.push(format!(
                "TFLite schema v{}: {} subgraph(s), {ops} operator(s), {} operator code(s), {} metadata entr(ies)",
                model.version,
                model.subgraphs.len(),
                model.operator_codes.len(),
                model.metadata.len()
            ));
        }
        check_references(cx, &art.path, &model, data.len());
        check_operators(cx, &art.path, &model, data);
        check_metadata(cx, art, &model);
        check_associated_files(cx, art);
    }
}

/// Operators naming an operator code that does not exist, and buffers placed outside the
/// file: the runtime refuses such a model, other readers may not.
fn check_references(cx: &mut ScanCx, path: &VirtualPath, model: &TfliteModel, len: usize) {
    let codes = model.operator_codes.len();
    let bad_ops: Vec<&Operator> = model
        .subgraphs
        .iter()
        .flat_map(|s| &s.operators)
        .filter(|op| usize::try_from(op.opcode_index).map_or(true, |i| i >= codes))
        .collect();
    if let Some(first) = bad_ops.first() {
        cx.emit(malformed::META.finding(
            path.at(first.offset as u64),
            format!(
                "TFLite: {} operator(s) use an opcode index past the {codes} operator code(s) (first: {})",
                bad_ops.len(),
                first.opcode_index
            ),
        ));
    }
    let outside: Vec<usize> = model
        .buffers
        .iter()
        .enumerate()
        .filter(|(i, b)| {
            matches!(b, BufferData::External { .. })
                && u32::try_from(*i).map_or(true, |i| model.buffer_range(i, len).is_none())
        })
        .map(|(i, _)| i)
        .collect();
    if let Some(first) = outside.first() {
        cx.emit(malformed::META.finding(
            path.clone(),
            format!(
                "TFLite: {} buffer(s) point outside the file (first: buffer {first})",
                outside.len()
            ),
        ));
    }
}

/// Custom op name -> (uses, offset of the first operator using it).
fn custom_uses(model: &TfliteModel) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for op in model.subgraphs.iter().flat_map(|s| &s.operators) {
        let Some(code) = usize::try_from(op.opcode_index)
            .ok()
            .and_then(|i| model.operator_codes.get(i))
        else {
            continue;
        };
        if !code.is_custom() {
            continue;
        }
        let name = code.custom_code.clone().unwrap_or_default();
        let e = out.entry(name).or_insert((0, op.offset));
        e.0 = e.0.saturating_add(1);
    }
    out
}

fn list(names: &[(&String, usize)]) -> String {
    let mut s: Vec<String> = names
        .iter()
        .take(MAX_LISTED)
        .map(|(n, uses)| format!("{n} ({uses} use{})", if *uses == 1 { "" } else { "s" }))
        .collect();
    if names.len() > MAX_LISTED {
        s.push(format!("and {} more", names.len() - MAX_LISTED));
    }
    s.join(", ")
}

fn check_operators(cx: &mut ScanCx, path: &VirtualPath, model: &TfliteModel, data: &[u8]) {
    let uses = custom_uses(model);
    let mut flex = Vec::new();
    let mut custom = Vec::new();
    let checked = check_flex_nodes(cx, path, model, data);
    for (name, (n, offset)) in &uses {
        match name.strip_prefix("Flex") {
            Some(tf_op) if !tf_op.is_empty() => {
                flex.push((name, *n));
                check_flex_op(
                    cx,
                    &path.at(*offset as u64),
                    name,
                    tf_op,
                    !checked.contains(name),
                );
            }
            _ => custom.push((name, *n)),
        }
    }
    if let Some((first, _)) = flex.first() {
        let at = uses.get(*first).map_or(0, |u| u.1);
        cx.emit(
            tflite_flex_op::META
                .finding(
                    path.at(at as u64),
                    format!(
                        "TFLite model runs {} TensorFlow op(s) through the Flex delegate: {}",
                        flex.len(),
                        list(&flex)
                    ),
                )
                .with(
                    "ops",
                    flex.iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
        );
    }
    if let Some((first, _)) = custom.first() {
        let at = uses.get(*first).map_or(0, |u| u.1);
        let all_known = custom
            .iter()
            .all(|(n, _)| tflite_custom_op::KNOWN.contains(&n.as_str()));
        let mut f = tflite_custom_op::META
            .finding(
                path.at(at as u64),
                format!(
                    "TFLite model needs custom op(s) the runtime must load: {}",
                    list(&custom)
                ),
            )
            .with(
                "ops",
                custom
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        if all_known {
            f = f.severity(Severity::Low);
        }
        cx.emit(f);
    }
}

/// Flex operators carry the TensorFlow `NodeDef` they run: check each one with the TF node
/// rules (attributes such as `PrintV2.output_stream` included). Returns the Flex op names
/// whose NodeDef was found (the others get the name-only check).
fn check_flex_nodes(
    cx: &mut ScanCx,
    path: &VirtualPath,
    model: &TfliteModel,
    data: &[u8],
) -> BTreeSet<String> {
    let mut checked = BTreeSet::new();
    let mut seen = 0usize;
    let (index, assets) = (HashMap::new(), HashSet::new());
    for sg in &model.subgraphs {
        for op in &sg.operators {
            let Some(code) = usize::try_from(op.opcode_index)
                .ok()
                .and_then(|i| model.operator_codes.get(i))
            else {
                continue;
            };
            let Some(flex) = code
                .custom_code
                .as_deref()
                .filter(|c| code.is_custom() && c.starts_with("Flex"))
            else {
                continue;
            };
            seen = seen.saturating_add(1);
            if seen > MAX_FLEX_NODES {
                cx.emit(
                    budget_exceeded::META
                        .finding(path.clone(), format!("more than {MAX_FLEX_NODES} Flex operators; the rest were checked by op name only"))
                        .with("budget", "tflite-flex"),
                );
                return checked;
            }
            let tf_op = flex.trim_start_matches("Flex");
            let Some(range) = op.custom_options.clone() else {
                continue;
            };
            let Some((body, at)) = data
                .get(range.clone())
                .and_then(|o| flex_node_def(o, tf_op))
            else {
                continue;
            };
            let Ok(node) =
                tf::parse_node(body, range.start.saturating_add(at), &TfLimits::default())
            else {
                continue;
            };
            checked.insert(flex.to_string());
            let scope = format!("TFLite subgraph {:?} (Flex)", sg.name);
            let site = Site {
                path,
                scope: &scope,
                node: &node,
            };
            check_node(cx, &site, &index, &assets);
        }
    }
    checked
}

/// A Flex op is the TF op `tf_op`: check it is a stock op and, when its NodeDef was not
/// found (`by_name`), apply the TF op rules that need only the op's name.
fn check_flex_op(cx: &mut ScanCx, at: &VirtualPath, flex: &str, tf_op: &str, by_name: bool) {
    let msg = |what: &str| format!("Flex op {flex} (TensorFlow {tf_op}) {what}");
    for effect in effects(tf_op).into_iter().filter(|_| by_name) {
        let f = match effect {
            Effect::Python => {
                python_callback::META.finding(at.clone(), msg("calls back into Python"))
            }
            Effect::Read { always: true, .. } => {
                file_read::META.finding(at.clone(), msg("reads files"))
            }
            Effect::Write { always: true, .. } => {
                file_write::META.finding(at.clone(), msg("writes files"))
            }
            Effect::Network => network_op::META.finding(at.clone(), msg("connects to other hosts")),
            // These need the node's constant inputs or attributes, kept in the Flex op's
            // custom options (not decoded).
            _ => continue,
        };
        cx.emit(f.with("op", flex.to_string()));
    }
    if !stock_ops::is_stock(tf_op) {
        cx.emit(
            unknown_op::META
                .finding(at.clone(), msg("is unknown to stock TensorFlow"))
                .with("op", flex.to_string()),
        );
    }
}

fn check_metadata(cx: &mut ScanCx, art: &Artifact, model: &TfliteModel) {
    let data = art.data.as_slice();
    for md in &model.metadata {
        let Some(range) = model.buffer_range(md.buffer, data.len()) else {
            continue;
        };
        let Some(blob) = art.data.slice(range.clone()) else {
            continue;
        };
        let format = modelgate_formats::sniff(blob.as_slice(), "");
        if !is_payload(format) {
            continue;
        }
        cx.emit(
            tflite_embedded_payload::META
                .finding(
                    art.path.at(range.start as u64),
                    format!(
                        "metadata {:?} (buffer {}) holds a {format}",
                        md.name, md.buffer
                    ),
                )
                .with("metadata", md.name.clone())
                .with("format", format.name()),
        );
        cx.descend_as(art.path.join(format!("metadata/{}", md.name)), blob, format);
    }
}

/// TFLite Support appends "associated files" (labels, vocabularies) to the model as a zip
/// archive; its members are read like any zip member and scanned by content.
fn check_associated_files(cx: &mut ScanCx, art: &Artifact) {
    let limits = cx.limits().clone();
    let archive = ZipArchive::parse(art.data.as_slice(), limits.max_members);
    for e in archive.entries.iter().filter(|e| !e.is_dir) {
        if cx.out_of_time(&art.path) {
            return;
        }
        let member = art.path.join(format!("associated/{}", e.name));
        match archive.read(
            &art.data,
            e,
            limits.max_member_bytes,
            limits.max_ratio,
            true,
        ) {
            Ok(m) => {
                if e.method != 0 && !cx.charge_expanded(&member, m.data.len() as u64) {
                    return;
                }
                cx.descend(member, m.data);
            }
            Err(err @ (ZipReadError::TooLarge { .. } | ZipReadError::Ratio { .. })) => cx.emit(
                budget_exceeded::META
                    .finding(
                        member,
                        format!("associated file {err}; it was not analysed"),
                    )
                    .with("budget", "max_member_bytes"),
            ),
            Err(err) => cx.emit(
                unreadable::META
                    .finding(member, format!("associated file could not be read: {err}")),
            ),
        }
    }
}

//! TensorFlow SavedModel (`saved_model.pb`, `saved_model.pbtxt`), MetaGraphDef and frozen
//! GraphDef (binary or text format): every node of
//! the graph and of every library function, checked for Python callbacks, file and network
//! access, printing to files, checkpoint paths and ops stock TensorFlow does not know; plus
//! asset file names; Keras objects (`keras_metadata.pb`, the object graph's metadata) through
//! the Keras rules. Nothing is loaded with TensorFlow.

use crate::analyzers::tf_keras::check_keras_nodes;
use crate::analyzers::tf_ops::{Effect, effects, escapes, remote};
use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::generic::{budget_exceeded, malformed};
use crate::rules::tensorflow::{
    Path, asset_path, checkpoint_path, file_read, file_write, network_op, print_to_file,
    python_callback, unknown_op,
};
use modelgate_core::{Finding, FormatId, Severity, VirtualPath};
use modelgate_formats::tf::{
    self, AttrValue, Container, Node, Scope, Str, TfKind, TfLimits, TfModel, stock_ops,
};
use std::collections::{BTreeMap, HashMap, HashSet};

pub struct TfAnalyzer;

/// `DT_STRING`.
const DT_STRING: u64 = 7;
/// Most `Identity` hops followed back to a constant.
const MAX_HOPS: usize = 8;
/// Most unknown op names listed per finding.
const MAX_LISTED: usize = 16;

impl Analyzer for TfAnalyzer {
    fn id(&self) -> &'static str {
        "tensorflow"
    }

    fn handles(&self, format: FormatId) -> bool {
        matches!(format, FormatId::SavedModel | FormatId::TfGraphDef)
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let data = art.data.as_slice();
        let (kind, text) = match tf::probe(data) {
            Some(kind) => (Some(kind), false),
            None => match tf::probe_text(data) {
                Some(kind) => (Some(kind), true),
                None => (None, false),
            },
        };
        let container = match kind {
            Some(TfKind::KerasMetadata) => return keras_metadata(cx, art),
            Some(TfKind::SavedModel) => Container::SavedModel,
            Some(TfKind::MetaGraph) => Container::MetaGraph,
            Some(TfKind::GraphDef) => Container::GraphDef,
            None if art.format == FormatId::TfGraphDef => Container::GraphDef,
            None => Container::SavedModel,
        };
        let limits = TfLimits::default();
        let parsed = if text {
            tf::parse_text(data, container, &limits)
        } else {
            tf::parse(data, container, &limits)
        };
        let what = match (container, text) {
            (Container::SavedModel, false) => "SavedModel",
            (Container::MetaGraph, false) => "MetaGraphDef",
            (Container::GraphDef, false) => "GraphDef",
            (Container::SavedModel, true) => "SavedModel (text format)",
            (Container::MetaGraph, true) => "MetaGraphDef (text format)",
            (Container::GraphDef, true) => "GraphDef (text format)",
        };
        report_damage(cx, art, what, parsed.error.as_ref(), &parsed.issues);
        let model = &parsed.model;
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.notes.push(describe(what, model));
        }
        check_model(cx, &art.path, model);
        for mg in &model.meta_graphs {
            check_keras_nodes(cx, &art.path, &mg.keras_objects, "object graph");
        }
    }
}

/// `keras_metadata.pb`: every Keras object's config through the Keras rules.
fn keras_metadata(cx: &mut ScanCx, art: &Artifact) {
    let what = "keras_metadata.pb";
    let parsed = tf::parse_keras_metadata(art.data.as_slice(), &TfLimits::default());
    report_damage(cx, art, what, parsed.error.as_ref(), &parsed.issues);
    if let Some(inv) = cx.inventory_mut(&art.path) {
        let root = parsed
            .nodes
            .iter()
            .find(|n| n.node_path == "root")
            .map(|n| format!(", root {}", n.identifier))
            .unwrap_or_default();
        inv.notes.push(format!(
            "Keras SavedModel metadata (keras_metadata.pb): {} object(s){root}",
            parsed.nodes.len()
        ));
    }
    check_keras_nodes(cx, &art.path, &parsed.nodes, what);
}

/// The wire error that ended a parse (malformed) and the budget hits.
fn report_damage(
    cx: &mut ScanCx,
    art: &Artifact,
    what: &str,
    error: Option<&tf::TfError>,
    issues: &[tf::Issue],
) {
    if let Some(e) = error {
        let msg = format!("TensorFlow {what}: {e}; only the part before it was analysed");
        let limit = matches!(e, tf::TfError::Text(t) if t.is_limit());
        cx.emit(if limit {
            budget_exceeded::META
                .finding(art.path.clone(), msg)
                .with("budget", "tensorflow text format")
        } else {
            malformed::META
                .finding(art.path.clone(), msg)
                .with("format", what)
        });
    }
    for issue in issues {
        cx.emit(
            budget_exceeded::META
                .finding(
                    art.path.at(issue.offset as u64),
                    format!("TensorFlow {what}: {}", issue.what),
                )
                .with("budget", "tensorflow"),
        );
    }
}

fn describe(what: &str, model: &TfModel) -> String {
    let functions: usize = model
        .meta_graphs
        .iter()
        .map(|m| m.graph.functions.len())
        .sum();
    let keras: usize = model
        .meta_graphs
        .iter()
        .map(|m| m.keras_objects.len())
        .sum();
    let mut s = format!(
        "TensorFlow {what}: {} meta graph(s), {} node(s), {functions} library function(s)",
        model.meta_graphs.len(),
        model.node_count()
    );
    if keras > 0 {
        s.push_str(&format!(", {keras} Keras object(s) with metadata"));
    }
    if let Some(mg) = model.meta_graphs.first() {
        if !mg.tags.is_empty() {
            s.push_str(&format!(", tags {}", mg.tags.join(",")));
        }
        if !mg.tf_version.is_empty() {
            s.push_str(&format!(", written by TF {}", mg.tf_version));
        }
    }
    s
}

/// Where a node is: scope (graph or function) and node name.
pub(crate) struct Site<'a> {
    pub path: &'a VirtualPath,
    pub scope: &'a str,
    pub node: &'a Node,
}

impl Site<'_> {
    fn finding(&self, meta: &modelgate_core::RuleMeta, what: String) -> Finding {
        meta.finding(
            self.path.at(self.node.offset as u64),
            format!(
                "{} in {}, node {} {what}",
                self.node.op, self.scope, self.node.name
            ),
        )
        .with("op", self.node.op.clone())
        .with("scope", self.scope.to_string())
        .with("node", self.node.name.clone())
    }
}

fn check_model(cx: &mut ScanCx, path: &VirtualPath, model: &TfModel) {
    for mg in &model.meta_graphs {
        for (i, asset) in mg.assets.iter().enumerate() {
            if escapes(&asset.filename) {
                cx.emit(
                    asset_path::META
                        .finding(
                            path.clone(),
                            format!(
                                "asset {i} (tensor {}) has file name {:?}, outside assets/",
                                asset.tensor_name, asset.filename
                            ),
                        )
                        .with("asset", asset.filename.clone())
                        .with("tensor", asset.tensor_name.clone()),
                );
            }
        }
    }
    // Per meta graph: its library's function names (a node whose op is one is a call) and the
    // tensors the loader rebinds to files under assets/ (TF1 SavedModels hold their
    // export-time path in a Const of the graph).
    let per_graph: Vec<(HashSet<&str>, HashSet<&str>)> = model
        .meta_graphs
        .iter()
        .map(|mg| {
            (
                mg.graph.functions.iter().map(|f| f.name.as_str()).collect(),
                mg.assets
                    .iter()
                    .map(|a| base_name(&a.tensor_name))
                    .collect(),
            )
        })
        .collect();
    let no_assets = HashSet::new();
    for scope in model.scopes() {
        let Some((functions, graph_assets)) = per_graph.get(scope.meta_graph) else {
            continue;
        };
        let assets = if scope.function.is_none() {
            graph_assets
        } else {
            &no_assets
        };
        let index: HashMap<&str, &Node> =
            scope.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        let mut unknown: BTreeMap<&str, &Node> = BTreeMap::new();
        let described = scope.describe();
        for node in scope.nodes {
            let site = Site {
                path,
                scope: &described,
                node,
            };
            check_node(cx, &site, &index, assets);
            if !node.op.is_empty()
                && !stock_ops::is_stock(&node.op)
                && !functions.contains(node.op.as_str())
            {
                unknown.entry(node.op.as_str()).or_insert(node);
            }
        }
        report_unknown(cx, path, &scope, &unknown);
    }
}

fn report_unknown(
    cx: &mut ScanCx,
    path: &VirtualPath,
    scope: &Scope,
    unknown: &BTreeMap<&str, &Node>,
) {
    let Some(first) = unknown.values().next() else {
        return;
    };
    let listed: Vec<String> = unknown
        .iter()
        .take(MAX_LISTED)
        .map(|(op, n)| format!("{op} (node {})", n.name))
        .collect();
    let more = unknown.len().saturating_sub(MAX_LISTED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    cx.emit(
        unknown_op::META
            .finding(
                path.at(first.offset as u64),
                format!(
                    "{} uses op(s) unknown to stock TensorFlow: {}{tail}",
                    scope.describe(),
                    listed.join(", ")
                ),
            )
            .with("scope", scope.describe())
            .with(
                "ops",
                unknown.keys().copied().collect::<Vec<_>>().join(", "),
            ),
    );
}

/// `name:0` / `^name` / `name:output:0` -> `name`.
fn base_name(input: &str) -> &str {
    let s = input.strip_prefix('^').unwrap_or(input);
    s.split(':').next().unwrap_or(s)
}

/// The scalar string constant feeding `input`, through `Identity` nodes.
fn const_string(index: &HashMap<&str, &Node>, input: &str) -> Option<(String, String)> {
    let mut name = input;
    for _ in 0..MAX_HOPS {
        if name.starts_with('^') {
            return None;
        }
        let node = index.get(base_name(name))?;
        match node.op.as_str() {
            "Const" => {
                return match node.attr("value") {
                    Some(AttrValue::Tensor(t)) if t.dtype == DT_STRING && t.string_count == 1 => {
                        t.strings.first().map(|s| (s.text(), node.name.clone()))
                    }
                    _ => None,
                };
            }
            "Identity" => name = node.inputs.first()?,
            _ => return None,
        }
    }
    None
}

/// The constant path an op touches (value, and the Const node's name), if it is a constant.
fn path_of(node: &Node, path: Path, index: &HashMap<&str, &Node>) -> Option<(String, String)> {
    match path {
        Path::Input(i) => const_string(index, node.inputs.get(i)?),
        Path::Attr(key) => match node.attr(key)? {
            AttrValue::S(s) => Some((s.text(), node.name.clone())),
            _ => None,
        },
        Path::None => None,
    }
}

/// Apply the op rules to one node; `index` resolves constant inputs of its scope and
/// `assets` names the Const nodes the loader rebinds to asset files.
pub(crate) fn check_node(
    cx: &mut ScanCx,
    site: &Site,
    index: &HashMap<&str, &Node>,
    assets: &HashSet<&str>,
) {
    let node = site.node;
    for effect in effects(&node.op) {
        match effect {
            Effect::Python => {
                let mut f = site.finding(&python_callback::META, "calls back into Python".into());
                if let Some(AttrValue::S(token)) = node.attr("token") {
                    f = f.with("token", token.text());
                }
                cx.emit(f);
            }
            Effect::Read { always, path } | Effect::Write { always, path } => {
                let write = matches!(effect, Effect::Write { .. });
                let (meta, verb) = if write {
                    (&file_write::META, "writes")
                } else {
                    (&file_read::META, "reads")
                };
                let constant =
                    path_of(node, path, index).filter(|(_, c)| !assets.contains(c.as_str()));
                match constant {
                    Some((p, _)) => {
                        if remote(&p) {
                            cx.emit(network(site, &p));
                        }
                        let outside = escapes(&p);
                        if always || outside || remote(&p) {
                            let mut f = site.finding(meta, format!("{verb} {p:?}")).with("path", p);
                            if outside {
                                f = f.severity(Severity::High);
                            }
                            cx.emit(f);
                        }
                    }
                    None if always => {
                        cx.emit(site.finding(meta, format!("{verb} a file named at run time")));
                    }
                    None => {}
                }
            }
            Effect::Checkpoint(path) => {
                if let Some((p, _)) = path_of(node, path, index)
                    && (escapes(&p) || remote(&p))
                {
                    let verb = if node.op.starts_with("Restore") {
                        "restores from"
                    } else {
                        "saves to"
                    };
                    cx.emit(
                        site.finding(&checkpoint_path::META, format!("{verb} {p:?}"))
                            .with("path", p),
                    );
                }
            }
            Effect::Network => {
                cx.emit(site.finding(&network_op::META, "connects to other hosts".into()));
            }
            Effect::Print => {
                if let Some(AttrValue::S(stream)) = node.attr("output_stream") {
                    let s = stream.text();
                    if !print_to_file::STREAMS.contains(&s.as_str()) {
                        cx.emit(
                            site.finding(&print_to_file::META, format!("writes to {s:?}"))
                                .with("output_stream", s),
                        );
                    }
                }
            }
            Effect::Debug => check_debug(cx, site),
        }
    }
}

/// Debug ops: `dump_root` (files) and `debug_urls` (`file://` or `grpc://`).
fn check_debug(cx: &mut ScanCx, site: &Site) {
    let node = site.node;
    if let Some(AttrValue::S(root)) = node.attr("dump_root")
        && !root.bytes.is_empty()
    {
        let r = root.text();
        cx.emit(
            site.finding(&print_to_file::META, format!("dumps tensors under {r:?}"))
                .with("dump_root", r),
        );
    }
    if let Some(AttrValue::List { s, .. }) = node.attr("debug_urls") {
        for url in s.iter().map(Str::text) {
            if url.starts_with("file://") {
                cx.emit(
                    site.finding(&print_to_file::META, format!("dumps tensors to {url:?}"))
                        .with("debug_url", url),
                );
            } else if !url.is_empty() {
                cx.emit(network(site, &url));
            }
        }
    }
}

fn network(site: &Site, target: &str) -> Finding {
    site.finding(
        &network_op::META,
        format!("reaches {target:?} over the network"),
    )
    .with("target", target.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names() {
        assert_eq!(base_name("^init"), "init");
        assert_eq!(base_name("Const:output:0"), "Const");
        assert_eq!(base_name("x:1"), "x");
    }
}

//! The object graph of a SavedModel (`MetaGraphDef.object_graph_def`): only what is needed to
//! find Keras objects and name them. Every `SavedObject` whose `user_object` carries metadata
//! is kept with a path from the root built from the children's local names, the way Keras
//! names them in `keras_metadata.pb` (`root.layer-1`).
//!
//! Field numbers (tensorflow/core/protobuf/saved_object_graph.proto, trackable_object_graph.proto):
//! SavedObjectGraph{1 nodes}, SavedObject{1 children, 4 user_object}, ObjectReference
//! {1 node_id, 2 local_name}, SavedUserObject{1 identifier, 3 metadata}.

use super::keras_metadata::{KerasNode, set_metadata};
use super::wire::{Fields, Val, text};
use super::{Cx, TfError};
use std::collections::VecDeque;

/// Longest node path built; deeper objects are named `node N`.
const MAX_PATH: usize = 1024;

/// One object's children: (node id, local name).
pub(crate) type Children = Vec<(u64, String)>;

pub(crate) fn decode_object_graph(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    out: &mut Vec<KerasNode>,
) -> Result<(), TfError> {
    let mut children: Vec<Children> = Vec::new();
    let mut keras: Vec<KerasNode> = Vec::new();
    let mut f = Fields::new(data, base);
    let mut result = Ok(());
    loop {
        let (n, v) = match f.next_field() {
            Ok(Some(x)) => x,
            Ok(None) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let (1, Val::Len(b, at)) = (n, v) else {
            continue;
        };
        if children.len() >= cx.limits.max_objects {
            let max = cx.limits.max_objects;
            cx.issue(
                at,
                format!("more than {max} saved objects; the rest were not analysed"),
            );
            break;
        }
        let id = children.len() as u64;
        children.push(Vec::new());
        let mut node = None;
        let mut kids = Vec::new();
        let r = decode_object(b, at, cx, id, &mut kids, &mut node);
        if let Some(slot) = children.last_mut() {
            *slot = kids;
        }
        keras.extend(node);
        if let Err(e) = r {
            result = Err(e);
            break;
        }
    }
    name_objects(&children, keras, out);
    result
}

/// Give each Keras object its path from the root and move it to `out`.
pub(crate) fn name_objects(children: &[Children], keras: Vec<KerasNode>, out: &mut Vec<KerasNode>) {
    let paths = paths(children);
    for mut k in keras {
        k.node_path = usize::try_from(k.node_id)
            .ok()
            .and_then(|i| paths.get(i).cloned().flatten())
            .unwrap_or_else(|| format!("node {}", k.node_id));
        out.push(k);
    }
}

fn decode_object(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    id: u64,
    children: &mut Children,
    keras: &mut Option<KerasNode>,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Len(b, at)) => {
                let mut r = Fields::new(b, at);
                let mut child = (u64::MAX, String::new());
                while let Some((rn, rv)) = r.next_field()? {
                    match (rn, rv) {
                        (1, Val::Varint(c)) => child.0 = c,
                        (2, Val::Len(name, _)) => child.1 = text(name),
                        _ => {}
                    }
                }
                // proto3 leaves node_id 0 out.
                if child.0 == u64::MAX {
                    child.0 = 0;
                }
                children.push(child);
            }
            (4, Val::Len(b, at)) => {
                let mut node = KerasNode {
                    node_id: id,
                    offset: at,
                    ..KerasNode::default()
                };
                let mut u = Fields::new(b, at);
                while let Some((un, uv)) = u.next_field()? {
                    match (un, uv) {
                        (1, Val::Len(i, _)) => node.identifier = text(i),
                        (3, Val::Len(m, mat)) => set_metadata(cx, &mut node, m, mat),
                        _ => {}
                    }
                }
                *keras = (node.metadata_len > 0).then_some(node);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every node's path from the root (node 0), breadth first: the first path found wins.
fn paths(children: &[Children]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; children.len()];
    if let Some(root) = out.first_mut() {
        *root = Some("root".to_string());
    } else {
        return out;
    }
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        let Some(parent) = out.get(i).cloned().flatten() else {
            continue;
        };
        for (c, name) in children.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            let Some(c) = usize::try_from(*c).ok().filter(|c| *c < out.len()) else {
                continue;
            };
            if out.get(c).is_some_and(Option::is_some) {
                continue;
            }
            let path = if parent.len() + name.len() < MAX_PATH {
                format!("{parent}.{name}")
            } else {
                format!("node {c}")
            };
            if let Some(slot) = out.get_mut(c) {
                *slot = Some(path);
            }
            queue.push_back(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_breadth_first_and_bounded() {
        let children = vec![
            vec![
                (1, "layer_with_weights-0".into()),
                (1, "layer-0".into()),
                (2, "layer-1".into()),
            ],
            vec![
                (3, "variables".into()),
                (0, "cycle".into()),
                (99, "dangling".into()),
            ],
            vec![],
            vec![],
        ];
        let p = paths(&children);
        assert_eq!(p[0].as_deref(), Some("root"));
        assert_eq!(p[1].as_deref(), Some("root.layer_with_weights-0"));
        assert_eq!(p[2].as_deref(), Some("root.layer-1"));
        assert_eq!(p[3].as_deref(), Some("root.layer_with_weights-0.variables"));
        // A long chain does not build ever longer strings.
        let chain: Vec<Children> = (0..5000u64)
            .map(|i| vec![(i + 1, "x".repeat(100))])
            .collect();
        let p = paths(&chain);
        assert!(p.iter().flatten().all(|s| s.len() < MAX_PATH));
        assert!(p.iter().flatten().any(|s| s.starts_with("node ")));
    }
}

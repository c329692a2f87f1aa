//! Keras objects inside TensorFlow SavedModels (`keras_metadata.pb`, and the object graph's
//! `SavedUserObject.metadata` in `saved_model.pb` / `saved_model.pbtxt`): each object's JSON
//! config goes through the Keras rules (`KRS`), located at the object's node path
//! (`keras_metadata.pb!root.layer-1`).
//!
//! The JSON is read the way tf-keras' loader decodes it (`{"class_name": "__tuple__",
//! "items": [...]}` is a tuple, so a Lambda's `function` is its `[code, defaults, closure]`).
//! A model object's config repeats its layers' configs: a layer whose config is identical to
//! another object's own config is reported once, at that object's path; a copy that differs
//! (what the loader of the model config would build instead) is reported where it is.

use crate::engine::ScanCx;
use crate::rules::generic::malformed;
use crate::rules::keras;
use modelgate_core::VirtualPath;
use modelgate_formats::keras::is_keras_config;
use modelgate_formats::tf::KerasNode;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Run the Keras rules over every object's metadata. `what` names the source for messages
/// (`keras_metadata.pb`, `object graph`).
pub(crate) fn check_keras_nodes(
    cx: &mut ScanCx,
    path: &VirtualPath,
    nodes: &[KerasNode],
    what: &str,
) {
    let mut docs: Vec<(VirtualPath, Value)> = Vec::new();
    for node in nodes.iter().filter(|n| !n.metadata.is_empty()) {
        let at = path.join(node.node_path.clone());
        match serde_json::from_slice::<Value>(&node.metadata) {
            Ok(mut doc) => {
                decode_tuples(&mut doc);
                docs.push((at, doc));
            }
            Err(e) => cx.emit(
                malformed::META
                    .finding(
                        path.at(node.offset as u64),
                        format!(
                            "{what}: the metadata of Keras object {} ({}) is not JSON: {e}",
                            node.node_path, node.identifier
                        ),
                    )
                    .with("node_path", node.node_path.clone()),
            ),
        }
    }
    // Each object's own (class_name, config), and which object it belongs to.
    let mut own: HashMap<String, usize> = HashMap::new();
    let mut classes: HashSet<String> = HashSet::new();
    for (i, (_, doc)) in docs.iter().enumerate() {
        if let Some((class, key)) = object_key(doc) {
            own.entry(key).or_insert(i);
            classes.insert(class.to_string());
        }
    }
    for (i, (at, doc)) in docs.iter_mut().enumerate() {
        if !is_keras_config(doc) {
            continue;
        }
        if let Value::Object(map) = doc {
            for (k, child) in map.iter_mut() {
                if k != "class_name" {
                    prune_copies(child, &own, &classes, i);
                }
            }
        }
        keras::check(cx, at, doc);
    }
}

/// `(class_name, "class_name\0config-json")` of an object with a string `class_name` and a
/// `config`. Keras 2's `shared_object_id` bookkeeping (present in one copy of a config and
/// not the other) is left out of the comparison.
fn object_key(v: &Value) -> Option<(&str, String)> {
    let class = v.get("class_name")?.as_str()?;
    let mut config = v.get("config")?.clone();
    strip_shared_ids(&mut config);
    Some((class, format!("{class}\0{config}")))
}

fn strip_shared_ids(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("shared_object_id");
            map.values_mut().for_each(strip_shared_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_shared_ids),
        _ => {}
    }
}

/// Replace nested objects whose (class_name, config) is another object's own by null: they
/// are checked (and reported) at that object's path.
fn prune_copies(v: &mut Value, own: &HashMap<String, usize>, classes: &HashSet<String>, me: usize) {
    let copy = v
        .get("class_name")
        .and_then(Value::as_str)
        .is_some_and(|c| classes.contains(c))
        && object_key(v)
            .and_then(|(_, key)| own.get(&key))
            .is_some_and(|owner| *owner != me);
    if copy {
        *v = Value::Null;
        return;
    }
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune_copies(child, own, classes, me);
            }
        }
        Value::Array(items) => {
            for child in items {
                prune_copies(child, own, classes, me);
            }
        }
        _ => {}
    }
}

/// tf-keras' JSON decoding: `{"class_name": "__tuple__", "items": [...]}` is a tuple.
/// (serde_json bounds nesting at 128 levels, so the recursion is bounded.)
fn decode_tuples(v: &mut Value) {
    let tuple = v.get("class_name").and_then(Value::as_str) == Some("__tuple__")
        && v.get("items").is_some_and(Value::is_array);
    if tuple && let Some(items) = v.get_mut("items").map(Value::take) {
        *v = items;
    }
    match v {
        Value::Object(map) => map.values_mut().for_each(decode_tuples),
        Value::Array(items) => items.iter_mut().for_each(decode_tuples),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tuples_decode_like_tf_keras() {
        let mut v = json!({"function": {"class_name": "__tuple__", "items": ["code", null, {"class_name": "__tuple__", "items": [1]}]}});
        decode_tuples(&mut v);
        assert_eq!(v, json!({"function": ["code", null, [1]]}));
        let mut not = json!({"class_name": "__tuple__", "items": "x"});
        decode_tuples(&mut not);
        assert_eq!(not["items"], "x");
    }

    #[test]
    fn copies_of_other_objects_are_pruned_but_not_changed_ones() {
        let layer = json!({"class_name": "Lambda", "config": {"function": ["A"]}});
        let mut root = json!({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "Lambda", "config": {"function": ["A"]}},
            {"class_name": "Lambda", "config": {"function": ["B"]}}
        ]}});
        let mut own = HashMap::new();
        own.insert(object_key(&layer).unwrap().1, 1);
        own.insert(object_key(&root).unwrap().1, 0);
        let classes: HashSet<String> = ["Lambda".to_string(), "Sequential".to_string()].into();
        prune_copies(&mut root["config"], &own, &classes, 0);
        assert_eq!(root["config"]["layers"][0], Value::Null);
        assert_eq!(root["config"]["layers"][1]["config"]["function"][0], "B");
        // An object's own config is never pruned from itself.
        let mut me = layer.clone();
        prune_copies(&mut me["config"], &own, &classes, 1);
        assert_eq!(me, layer);
    }
}

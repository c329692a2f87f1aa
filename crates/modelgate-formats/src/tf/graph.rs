//! `GraphDef`, `NodeDef`, `FunctionDefLibrary`, `FunctionDef` and `AttrValue` decoders.
//!
//! Field numbers (tensorflow/core/framework/*.proto): GraphDef{1 node, 2 library, 4 versions},
//! VersionDef{1 producer}, NodeDef{1 name, 2 op, 3 input, 4 device, 5 attr}, FunctionDefLibrary
//! {1 function}, FunctionDef{1 signature, 3 node_def}, OpDef{1 name, 2 input_arg}, ArgDef
//! {1 name}, AttrValue{1 list, 2 s, 3 i, 4 f, 5 b, 6 type, 7 shape, 8 tensor, 9 placeholder,
//! 10 func}, ListValue{2 s, 8 tensor, 9 func}, NameAttrList{1 name, 2 attr}, TensorProto
//! {1 dtype, 8 string_val}; map entries are {1 key, 2 value}.

use super::wire::{Fields, Val, text};
use super::{AttrValue, Cx, FuncRef, Function, Graph, Node, Tensor, TfError};

pub(crate) fn decode_graph(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    out: &mut Graph,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Len(b, at)) => {
                if let Some(node) = node_slot(cx, at, &mut out.nodes) {
                    decode_node(b, at, cx, node)?;
                }
            }
            (2, Val::Len(b, at)) => decode_library(b, at, cx, &mut out.functions)?,
            (4, Val::Len(b, at)) => {
                let mut vf = Fields::new(b, at);
                while let Some((vn, vv)) = vf.next_field()? {
                    if let (1, Val::Varint(p)) = (vn, vv) {
                        out.producer = Some(p);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A new node pushed onto `nodes`, or `None` (and an issue) once the node budget is spent.
pub(crate) fn node_slot<'n>(
    cx: &mut Cx,
    at: usize,
    nodes: &'n mut Vec<Node>,
) -> Option<&'n mut Node> {
    if cx.nodes >= cx.limits.max_nodes {
        let max = cx.limits.max_nodes;
        cx.issue(
            at,
            format!("more than {max} nodes; the rest were not analysed"),
        );
        return None;
    }
    cx.nodes = cx.nodes.saturating_add(1);
    nodes.push(Node {
        offset: at,
        ..Node::default()
    });
    nodes.last_mut()
}

fn decode_library(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    out: &mut Vec<Function>,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        if let (1, Val::Len(b, at)) = (n, v) {
            out.push(Function {
                offset: at,
                ..Function::default()
            });
            if let Some(func) = out.last_mut() {
                decode_function(b, at, cx, func)?;
            }
        }
    }
    Ok(())
}

fn decode_function(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    out: &mut Function,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Len(b, at)) => {
                let mut sig = Fields::new(b, at);
                while let Some((sn, sv)) = sig.next_field()? {
                    match (sn, sv) {
                        (1, Val::Len(name, _)) => out.name = text(name),
                        (2, Val::Len(arg, aat)) => {
                            let mut af = Fields::new(arg, aat);
                            while let Some((an, av)) = af.next_field()? {
                                if let (1, Val::Len(name, _)) = (an, av) {
                                    out.args.push(text(name));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            (3, Val::Len(b, at)) => {
                if let Some(node) = node_slot(cx, at, &mut out.nodes) {
                    decode_node(b, at, cx, node)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn decode_node(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    out: &mut Node,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Len(b, _)) => out.name = text(b),
            (2, Val::Len(b, _)) => out.op = text(b),
            (3, Val::Len(b, _)) => out.inputs.push(text(b)),
            (4, Val::Len(b, _)) => out.device = text(b),
            (5, Val::Len(b, at)) => {
                if out.attrs.len() >= cx.limits.max_attrs {
                    let max = cx.limits.max_attrs;
                    cx.issue(
                        at,
                        format!(
                            "a node has more than {max} attributes; the rest were not analysed"
                        ),
                    );
                    continue;
                }
                let entry = decode_attr_entry(b, at, cx, 0)?;
                out.attrs.push(entry);
            }
            _ => {}
        }
    }
    Ok(())
}

/// A `map<string, AttrValue>` entry.
fn decode_attr_entry(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    depth: usize,
) -> Result<(String, AttrValue), TfError> {
    let mut key = String::new();
    let mut value = AttrValue::None;
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Len(b, _)) => key = text(b),
            (2, Val::Len(b, at)) => value = decode_attr_value(b, at, cx, depth)?,
            _ => {}
        }
    }
    Ok((key, value))
}

fn decode_attr_value(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    depth: usize,
) -> Result<AttrValue, TfError> {
    if depth >= cx.limits.max_depth {
        let max = cx.limits.max_depth;
        cx.issue(
            base,
            format!("attribute values nested deeper than {max} levels were not analysed"),
        );
        return Ok(AttrValue::None);
    }
    let mut value = AttrValue::None;
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        value = match (n, v) {
            (1, Val::Len(b, at)) => decode_list(b, at, cx, depth)?,
            (2, Val::Len(b, _)) => AttrValue::S(cx.str(b)),
            (3, Val::Varint(i)) => AttrValue::I(i as i64),
            (4, Val::Fixed32(x)) => AttrValue::F(f32::from_bits(x)),
            (5, Val::Varint(b)) => AttrValue::B(b != 0),
            (6, Val::Varint(t)) => AttrValue::Type(t),
            (7, Val::Len(..)) => AttrValue::Shape,
            (8, Val::Len(b, at)) => AttrValue::Tensor(decode_tensor(b, at, cx)?),
            (9, Val::Len(b, _)) => AttrValue::Placeholder(text(b)),
            (10, Val::Len(b, at)) => AttrValue::Func(decode_func_ref(b, at, cx, depth)?),
            _ => continue,
        };
    }
    Ok(value)
}

fn decode_list(data: &[u8], base: usize, cx: &mut Cx, depth: usize) -> Result<AttrValue, TfError> {
    let mut s = Vec::new();
    let mut tensors = Vec::new();
    let mut funcs = Vec::new();
    let cap = cx.limits.max_tensor_strings;
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (2, Val::Len(b, _)) if s.len() < cap => s.push(cx.str(b)),
            (8, Val::Len(b, at)) if tensors.len() < cap => tensors.push(decode_tensor(b, at, cx)?),
            (9, Val::Len(b, at)) if funcs.len() < cap => {
                funcs.push(decode_func_ref(b, at, cx, depth)?)
            }
            // Longer lists are vocabularies or shapes, not the scalar paths and function names
            // the rules look at (functions are all in the library anyway).
            _ => {}
        }
    }
    Ok(AttrValue::List { s, tensors, funcs })
}

fn decode_func_ref(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    depth: usize,
) -> Result<FuncRef, TfError> {
    let mut out = FuncRef::default();
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Len(b, _)) => out.name = text(b),
            (2, Val::Len(b, at)) if out.attrs.len() < cx.limits.max_attrs => {
                let entry = decode_attr_entry(b, at, cx, depth.saturating_add(1))?;
                out.attrs.push(entry);
            }
            (2, Val::Len(_, at)) => {
                let max = cx.limits.max_attrs;
                cx.issue(at, format!("a function reference has more than {max} attributes; the rest were not analysed"));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn decode_tensor(data: &[u8], base: usize, cx: &mut Cx) -> Result<Tensor, TfError> {
    let mut out = Tensor::default();
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Varint(t)) => out.dtype = t,
            (8, Val::Len(b, _)) => {
                // Only the first values are kept (paths are scalars); the count is exact.
                out.string_count = out.string_count.saturating_add(1);
                if out.strings.len() < cx.limits.max_tensor_strings {
                    out.strings.push(cx.str(b));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

//! Tensors from a PyTorch pickle (zip `data.pkl` or the legacy object pickle), rebuilt by
//! reading the symbolic program: nothing is imported or called.
//!
//! Every import and call must be one that tensor reconstruction needs; anything else refuses
//! the file. A few torch rebuild functions for tensors safetensors cannot hold (meta, sparse,
//! quantized) and dtypes without an equivalent (complex, exotic fp8) are tolerated by the
//! allowlist only so that the walk can name the tensor in a clear error.

use crate::ConvertError;
use crate::dtype::{Dtype, unsupported_reason};
use crate::plan::{TensorPlan, is_row_major};
use modelgate_core::Blob;
use modelgate_formats::pickle::{EventKind, Program, Value, ValueId, Values};
use std::collections::HashMap;

/// Callables a checkpoint may invoke.
const ALLOWED_CALLABLES: &[&str] = &[
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",
];

/// Tensor classes `_rebuild_from_type_v2` may restore (a tensor or Parameter carrying Python
/// attributes); importing them is harmless, calling them is not allowed.
const TENSOR_TYPES: &[&str] = &["torch.Tensor", "torch.nn.parameter.Parameter"];

/// Rebuild functions of tensors that safetensors cannot represent, with what they are.
const UNSUPPORTED_TENSORS: &[(&str, &str)] = &[
    (
        "torch._utils._rebuild_meta_tensor_no_storage",
        "a meta tensor (shape only, no data)",
    ),
    ("torch._utils._rebuild_sparse_tensor", "a sparse tensor"),
    ("torch._utils._rebuild_sparse_csr_tensor", "a sparse tensor"),
    ("torch._utils._rebuild_qtensor", "a quantized tensor"),
    ("torch._utils._rebuild_nested_tensor", "a nested tensor"),
    (
        "torch._utils._rebuild_wrapper_subclass",
        "a tensor subclass without storage",
    ),
];

/// Torch globals those unsupported tensors bring along (layouts, qschemes, and the inert
/// helpers sparse tensors call); only ever reached on the way to a clear error, or skipped.
const UNSUPPORTED_COMPANIONS: &[&str] = &[
    "torch.serialization._get_layout",
    "torch.Size",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.sparse_csc",
    "torch.sparse_bsr",
    "torch.sparse_bsc",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "torch.per_channel_affine_float_qparams",
    "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric",
];

/// Whether importing `full` (`module.name`) is acceptable in a checkpoint pickle.
fn import_allowed(full: &str) -> bool {
    if ALLOWED_CALLABLES.contains(&full)
        || TENSOR_TYPES.contains(&full)
        || UNSUPPORTED_COMPANIONS.contains(&full)
        || UNSUPPORTED_TENSORS.iter().any(|(n, _)| *n == full)
    {
        return true;
    }
    match full.strip_prefix("torch.") {
        Some(n) => {
            is_untyped_storage(n)
                || Dtype::from_storage(n).is_some()
                || Dtype::from_torch(n).is_some()
                || unsupported_reason(n).is_some()
        }
        None => false,
    }
}

/// `torch.UntypedStorage` or `torch.storage.UntypedStorage` (without the leading `torch.`).
pub(crate) fn is_untyped_storage(short: &str) -> bool {
    short == "UntypedStorage" || short == "storage.UntypedStorage"
}

fn global_name(values: &Values, id: ValueId) -> Option<String> {
    match values.get(id) {
        Value::Global { module, name } => Some(format!("{module}.{name}")),
        _ => None,
    }
}

fn is_ordered_dict(values: &Values, id: ValueId) -> bool {
    match values.get(id) {
        Value::Call { callee, .. } => {
            global_name(values, *callee).as_deref() == Some("collections.OrderedDict")
        }
        _ => false,
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> ConvertError {
    ConvertError::Unsupported(msg.into())
}

/// Check every import and call of `prog` against the allowlist, and collect the items that
/// `OrderedDict.__setitem__` calls (SETITEMS on an OrderedDict) put in each dictionary.
fn check_program(
    prog: &Program,
    data: &[u8],
) -> Result<HashMap<ValueId, Vec<(ValueId, ValueId)>>, ConvertError> {
    let values = &prog.values;
    let mut reasons = Vec::new();
    let mut items: HashMap<ValueId, Vec<(ValueId, ValueId)>> = HashMap::new();
    for ev in &prog.events {
        match &ev.kind {
            EventKind::Import { module, name, .. } => {
                let full = format!("{module}.{name}");
                if !import_allowed(&full) {
                    reasons.push(format!("imports {full} at offset {}", ev.offset));
                }
            }
            EventKind::Call { value } => {
                let Value::Call { callee, args, .. } = values.get(*value) else {
                    reasons.push(format!("unmodelled call at offset {}", ev.offset));
                    continue;
                };
                match values.get(*callee) {
                    Value::Global { .. } => {
                        let full = global_name(values, *callee).unwrap_or_default();
                        let known = ALLOWED_CALLABLES.contains(&full.as_str())
                            || UNSUPPORTED_COMPANIONS.contains(&full.as_str())
                            || UNSUPPORTED_TENSORS.iter().any(|(n, _)| *n == full);
                        if !known {
                            reasons.push(format!("calls {full} at offset {}", ev.offset));
                        }
                    }
                    Value::Attr { obj, name }
                        if name == "__setitem__" && is_ordered_dict(values, *obj) =>
                    {
                        let flat = values.items(*args).unwrap_or(&[]);
                        let list = items.entry(*obj).or_default();
                        for pair in flat.chunks(2) {
                            if let [k, v] = pair {
                                list.push((*k, *v));
                            }
                        }
                    }
                    _ => reasons.push(format!(
                        "calls {} at offset {}",
                        values.render(*callee, data),
                        ev.offset
                    )),
                }
            }
            EventKind::Build { obj, .. } => {
                // state_dict()._metadata is restored by BUILD on the OrderedDict; nothing else is.
                if !is_ordered_dict(values, *obj) {
                    reasons.push(format!(
                        "BUILD on {} at offset {}",
                        values.render(*obj, data),
                        ev.offset
                    ));
                }
            }
            EventKind::PersistentLoad { .. } => {}
            EventKind::JoblibArray { .. } => reasons.push("joblib array".to_string()),
        }
    }
    if reasons.is_empty() {
        Ok(items)
    } else {
        Err(ConvertError::Refused {
            reasons,
            findings: Vec::new(),
        })
    }
}

/// The tensors of one checkpoint pickle.
pub(crate) struct PickleTensors {
    pub tensors: Vec<TensorPlan>,
    pub notes: Vec<String>,
}

/// Raw bytes of a storage by key; `None` when the checkpoint has no such storage.
pub(crate) type StorageBytes<'a> = dyn FnMut(&str) -> Result<Option<Blob>, ConvertError> + 'a;

/// Rebuild the tensors of `prog` (a complete run over `data`), starting at the dotted `key`
/// when given. `swap` marks every tensor as stored big-endian.
pub(crate) fn tensors(
    prog: &Program,
    data: &[u8],
    key: Option<&str>,
    storage_bytes: &mut StorageBytes<'_>,
    swap: bool,
) -> Result<PickleTensors, ConvertError> {
    if !prog.end.is_complete() {
        return Err(bad(format!(
            "the pickle is damaged or incomplete: {:?}",
            prog.end
        )));
    }
    let root = prog.result.ok_or_else(|| bad("the pickle has no result"))?;
    let items = check_program(prog, data)?;
    let mut cx = Walk {
        values: &prog.values,
        data,
        items: &items,
        storage_bytes,
        swap,
        out: Vec::new(),
        notes: Vec::new(),
        storages: HashMap::new(),
    };
    let start = match key {
        None => root,
        Some(k) => cx.lookup(root, k)?,
    };
    cx.walk(start, String::new(), 0)?;
    Ok(PickleTensors {
        tensors: cx.out,
        notes: cx.notes,
    })
}

/// What a storage persistent id names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StorageClass {
    Typed(Dtype),
    Untyped,
}

struct Walk<'a, 'b> {
    values: &'a Values,
    data: &'a [u8],
    items: &'a HashMap<ValueId, Vec<(ValueId, ValueId)>>,
    storage_bytes: &'a mut StorageBytes<'b>,
    swap: bool,
    out: Vec<TensorPlan>,
    notes: Vec<String>,
    storages: HashMap<String, (StorageClass, Blob)>,
}

const MAX_DEPTH: usize = 64;

impl Walk<'_, '_> {
    fn dict_items(&self, id: ValueId) -> Option<Vec<(ValueId, ValueId)>> {
        match self.values.get(id) {
            Value::Dict(kv) => Some(kv.clone()),
            Value::Call { .. } if is_ordered_dict(self.values, id) => {
                Some(self.items.get(&id).cloned().unwrap_or_default())
            }
            _ => None,
        }
    }

    fn key_text(&self, id: ValueId) -> Option<String> {
        match self.values.get(id) {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    /// `model` or `model.encoder`: exact keys first, then dotted paths.
    fn lookup(&self, root: ValueId, key: &str) -> Result<ValueId, ConvertError> {
        let mut cur = root;
        let mut rest = key;
        while !rest.is_empty() {
            let kv = self
                .dict_items(cur)
                .ok_or_else(|| bad(format!("--key {key}: not a dictionary at {rest:?}")))?;
            // Longest key that matches a prefix of `rest` at a dot boundary.
            let mut best: Option<(usize, ValueId)> = None;
            for (k, v) in &kv {
                if let Some(t) = self.key_text(*k)
                    && (rest == t || rest.starts_with(&format!("{t}.")))
                    && best.is_none_or(|(l, _)| t.len() > l)
                {
                    best = Some((t.len(), *v));
                }
            }
            let Some((l, v)) = best else {
                return Err(bad(format!("--key {key}: no entry {rest:?}")));
            };
            cur = v;
            rest = rest.get(l..).unwrap_or("").trim_start_matches('.');
        }
        Ok(cur)
    }

    fn walk(&mut self, id: ValueId, name: String, depth: usize) -> Result<(), ConvertError> {
        if depth > MAX_DEPTH {
            return Err(bad("nesting too deep"));
        }
        if let Some(kv) = self.dict_items(id) {
            for (k, v) in kv {
                let Some(k) = self.key_text(k) else {
                    self.notes.push(format!(
                        "skipped entry with non-string key {}",
                        self.values.render(k, self.data)
                    ));
                    continue;
                };
                let child = if name.is_empty() {
                    k
                } else {
                    format!("{name}.{k}")
                };
                self.walk(v, child, depth + 1)?;
            }
            return Ok(());
        }
        match self.values.get(id) {
            Value::Call { callee, args, .. } => {
                let callee = global_name(self.values, *callee).unwrap_or_default();
                self.rebuild(&callee, *args, name, depth)?;
            }
            Value::List(v) | Value::Tuple(v) => {
                for (i, c) in v.clone().into_iter().enumerate() {
                    let child = if name.is_empty() {
                        i.to_string()
                    } else {
                        format!("{name}.{i}")
                    };
                    self.walk(c, child, depth + 1)?;
                }
            }
            Value::None
            | Value::Bool(_)
            | Value::Int(_)
            | Value::BigInt(_)
            | Value::Float(_)
            | Value::FloatText { .. }
            | Value::Str(_)
            | Value::DataBytes { .. }
            | Value::Bytes(_)
            | Value::Global { .. } => {
                self.notes.push(format!("skipped non-tensor {name}"));
            }
            other => return Err(bad(format!("{name}: unsupported value {other:?}"))),
        }
        Ok(())
    }

    /// A call of `callee` (a `module.name`) with `args`, reached under `name`.
    fn rebuild(
        &mut self,
        callee: &str,
        args: ValueId,
        name: String,
        depth: usize,
    ) -> Result<(), ConvertError> {
        match callee {
            "torch._utils._rebuild_tensor" | "torch._utils._rebuild_tensor_v2" => {
                let t = self.tensor(args, &name, false)?;
                self.out.push(t);
            }
            "torch._utils._rebuild_tensor_v3" => {
                let t = self.tensor(args, &name, true)?;
                self.out.push(t);
            }
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
                let a = self.values.items(args).unwrap_or(&[]);
                let data = a
                    .first()
                    .copied()
                    .ok_or_else(|| bad(format!("{name}: {callee} without data")))?;
                if a.len() > 3 {
                    self.notes.push(format!(
                        "{name}: Python attributes of the Parameter are not kept"
                    ));
                }
                self.walk(data, name, depth + 1)?;
            }
            // `_rebuild_from_type_v2(func, type, args, state)`: `func(*args)` restored as
            // `type` with Python attributes `state` (which are not kept).
            "torch._tensor._rebuild_from_type_v2" => {
                let a = self.values.items(args).unwrap_or(&[]);
                let [func, ty, inner, ..] = a else {
                    return Err(bad(format!("{name}: bad {callee} arguments")));
                };
                let func = global_name(self.values, *func).unwrap_or_default();
                let ty = global_name(self.values, *ty).unwrap_or_default();
                if !TENSOR_TYPES.contains(&ty.as_str()) || func == callee || depth > MAX_DEPTH {
                    return Err(bad(format!("{name}: {callee} restores {ty} via {func}")));
                }
                self.notes.push(format!(
                    "{name}: Python attributes of the {ty} are not kept"
                ));
                self.rebuild(&func, *inner, name, depth + 1)?;
            }
            other => {
                if let Some((_, what)) = UNSUPPORTED_TENSORS.iter().find(|(n, _)| *n == other) {
                    return Err(bad(format!(
                        "{name}: {what} ({other}) cannot be stored in safetensors"
                    )));
                }
                self.notes
                    .push(format!("skipped non-tensor {name} ({callee})"));
            }
        }
        Ok(())
    }

    fn int(&self, id: ValueId, what: &str, name: &str) -> Result<usize, ConvertError> {
        match self.values.get(id) {
            Value::Int(i) => {
                usize::try_from(*i).map_err(|_| bad(format!("{name}: negative {what}")))
            }
            _ => Err(bad(format!("{name}: {what} is not an integer"))),
        }
    }

    fn ints(&self, id: ValueId, what: &str, name: &str) -> Result<Vec<usize>, ConvertError> {
        let items = self
            .values
            .items(id)
            .ok_or_else(|| bad(format!("{name}: {what} is not a tuple")))?;
        items.iter().map(|i| self.int(*i, what, name)).collect()
    }

    /// `_rebuild_tensor(storage, offset, size, stride)`,
    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`,
    /// `_rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])`.
    fn tensor(&mut self, args: ValueId, name: &str, v3: bool) -> Result<TensorPlan, ConvertError> {
        let a = self
            .values
            .items(args)
            .ok_or_else(|| bad(format!("{name}: bad tensor rebuild arguments")))?;
        let [storage, offset, size, stride, rest @ ..] = a else {
            return Err(bad(format!("{name}: too few tensor rebuild arguments")));
        };
        let (class, key, storage) = self.persistent_storage(*storage, name)?;
        let dtype = match (v3, class) {
            (false, StorageClass::Typed(d)) => d,
            (false, StorageClass::Untyped) => {
                return Err(bad(format!(
                    "{name}: untyped storage without a dtype argument"
                )));
            }
            (true, _) => {
                let d = rest
                    .get(2)
                    .ok_or_else(|| bad(format!("{name}: _rebuild_tensor_v3 without dtype")))?;
                let g = global_name(self.values, *d).unwrap_or_default();
                let short = g.strip_prefix("torch.").unwrap_or(&g);
                match Dtype::from_torch(short) {
                    Some(d) => d,
                    None => {
                        return Err(bad(match unsupported_reason(short) {
                            Some(why) => format!("{name}: {why}"),
                            None => format!("{name}: unsupported dtype {g}"),
                        }));
                    }
                }
            }
        };
        if let StorageClass::Typed(sd) = class
            && sd != dtype
        {
            return Err(bad(format!(
                "{name}: {} tensor on a {} storage",
                dtype.name(),
                sd.name()
            )));
        }
        let offset = self.int(*offset, "storage offset", name)?;
        let shape = self.ints(*size, "size", name)?;
        let stride = self.ints(*stride, "stride", name)?;
        if shape.len() != stride.len() {
            return Err(bad(format!("{name}: size and stride differ in length")));
        }
        let es = dtype.size();
        let storage_numel = storage.len() / es;
        let numel = shape
            .iter()
            .try_fold(1usize, |acc, d| acc.checked_mul(*d))
            .ok_or_else(|| bad(format!("{name}: shape overflows")))?;
        if numel > 0 {
            // Highest element index reached must lie inside the storage.
            let mut last = offset;
            for (d, s) in shape.iter().zip(&stride) {
                last = d
                    .saturating_sub(1)
                    .checked_mul(*s)
                    .and_then(|x| last.checked_add(x))
                    .ok_or_else(|| bad(format!("{name}: view overflows")))?;
            }
            if last >= storage_numel {
                return Err(bad(format!(
                    "{name}: view reaches element {last} of a {storage_numel}-element storage"
                )));
            }
        }
        let contiguous = is_row_major(&shape, &stride);
        Ok(TensorPlan {
            name: name.to_string(),
            dtype,
            shape,
            storage_key: key,
            storage,
            offset,
            stride,
            contiguous,
            swap: self.swap && es > 1,
        })
    }

    /// Resolve `persistent_load(('storage', class, key, location, numel[, view_metadata]))`.
    fn persistent_storage(
        &mut self,
        id: ValueId,
        name: &str,
    ) -> Result<(StorageClass, String, Blob), ConvertError> {
        let Value::PersId(pid) = self.values.get(id) else {
            return Err(bad(format!("{name}: storage is not a persistent id")));
        };
        let pid = self
            .values
            .items(*pid)
            .ok_or_else(|| bad(format!("{name}: persistent id is not a tuple")))?;
        let (tag, ty, key, view) = match pid {
            [tag, ty, key, _location, _numel] => (*tag, *ty, *key, None),
            [tag, ty, key, _location, _numel, view] => (*tag, *ty, *key, Some(*view)),
            _ => return Err(bad(format!("{name}: unexpected persistent id shape"))),
        };
        if self.values.as_str(tag) != Some("storage") {
            return Err(bad(format!("{name}: persistent id is not a storage")));
        }
        let ty_name = global_name(self.values, ty).unwrap_or_default();
        let short = ty_name.strip_prefix("torch.").unwrap_or(&ty_name);
        let class = if is_untyped_storage(short) {
            StorageClass::Untyped
        } else if let Some(d) = Dtype::from_storage(short) {
            StorageClass::Typed(d)
        } else if let Some(why) = unsupported_reason(short) {
            return Err(bad(format!("{name}: {why}")));
        } else {
            return Err(bad(format!("{name}: unsupported storage type {ty_name}")));
        };
        let key = self
            .values
            .as_str(key)
            .ok_or_else(|| bad(format!("{name}: storage key is not a string")))?
            .to_string();
        let elem = match class {
            StorageClass::Typed(d) => d.size(),
            StorageClass::Untyped => 1,
        };
        let root = self.storage(&key, class, name)?;
        // Legacy storage views: (view_key, offset, size) in elements of the storage class.
        match view.map(|v| self.values.get(v)) {
            None | Some(Value::None) => Ok((class, key, root)),
            Some(Value::Tuple(v)) => {
                let [vkey, off, size] = v.as_slice() else {
                    return Err(bad(format!("{name}: bad storage view metadata")));
                };
                let vkey = self
                    .values
                    .as_str(*vkey)
                    .ok_or_else(|| bad(format!("{name}: storage view key is not a string")))?
                    .to_string();
                let start = self.int(*off, "view offset", name)?.checked_mul(elem);
                let len = self.int(*size, "view size", name)?.checked_mul(elem);
                let end = start.zip(len).and_then(|(s, l)| s.checked_add(l));
                let slice = start
                    .zip(end)
                    .and_then(|(s, e)| root.slice(s..e))
                    .ok_or_else(|| bad(format!("{name}: storage view out of bounds")))?;
                Ok((class, format!("{key}/{vkey}"), slice))
            }
            Some(_) => Err(bad(format!("{name}: bad storage view metadata"))),
        }
    }

    fn storage(
        &mut self,
        key: &str,
        class: StorageClass,
        name: &str,
    ) -> Result<Blob, ConvertError> {
        if let Some((c, b)) = self.storages.get(key) {
            if *c != class {
                return Err(bad(format!("{name}: storage {key} used as two types")));
            }
            return Ok(b.clone());
        }
        let b = (self.storage_bytes)(key)?
            .ok_or_else(|| bad(format!("{name}: storage {key} missing")))?;
        if let StorageClass::Typed(d) = class
            && b.len() % d.size() != 0
        {
            return Err(bad(format!(
                "{name}: storage {key} size is not a multiple of the element size"
            )));
        }
        self.storages.insert(key.to_string(), (class, b.clone()));
        Ok(b)
    }
}

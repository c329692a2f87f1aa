//! Static reconstruction of the tensors of a PyTorch zip checkpoint from its pickle.

use crate::ConvertError;
use modelgate_core::Blob;
use modelgate_formats::pickle::symbolic::VmLimits;
use modelgate_formats::pickle::{EventKind, Value, ValueId, Values, run_stream};
use modelgate_formats::zip::ZipArchive;
use std::collections::{BTreeMap, HashMap};

/// Element types safetensors supports, keyed by PyTorch storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    U16,
    U32,
    U64,
    Bool,
    F8E4M3,
    F8E5M2,
}

impl Dtype {
    fn from_storage(name: &str) -> Option<Dtype> {
        Some(match name {
            "DoubleStorage" => Dtype::F64,
            "FloatStorage" => Dtype::F32,
            "HalfStorage" => Dtype::F16,
            "BFloat16Storage" => Dtype::BF16,
            "LongStorage" => Dtype::I64,
            "IntStorage" => Dtype::I32,
            "ShortStorage" => Dtype::I16,
            "CharStorage" => Dtype::I8,
            "ByteStorage" => Dtype::U8,
            "UInt16Storage" => Dtype::U16,
            "UInt32Storage" => Dtype::U32,
            "UInt64Storage" => Dtype::U64,
            "BoolStorage" => Dtype::Bool,
            "Float8_e4m3fnStorage" => Dtype::F8E4M3,
            "Float8_e5m2Storage" => Dtype::F8E5M2,
            _ => return None,
        })
    }

    /// The safetensors dtype name.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "F64",
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I64 => "I64",
            Dtype::I32 => "I32",
            Dtype::I16 => "I16",
            Dtype::I8 => "I8",
            Dtype::U8 => "U8",
            Dtype::U16 => "U16",
            Dtype::U32 => "U32",
            Dtype::U64 => "U64",
            Dtype::Bool => "BOOL",
            Dtype::F8E4M3 => "F8_E4M3",
            Dtype::F8E5M2 => "F8_E5M2",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 | Dtype::U16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool | Dtype::F8E4M3 | Dtype::F8E5M2 => 1,
        }
    }
}

/// One tensor to write: where its elements live and how to gather them.
#[derive(Debug, Clone)]
pub struct TensorPlan {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Zip member key of the storage (`archive/data/<key>`).
    pub storage_key: String,
    /// The storage bytes (zero-copy for stored members).
    pub storage: Blob,
    /// Offset into the storage, in elements.
    pub offset: usize,
    /// Strides, in elements.
    pub stride: Vec<usize>,
    /// Whether the elements are already one contiguous run.
    pub contiguous: bool,
}

impl TensorPlan {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn nbytes(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size())
    }
}

/// The result of planning: tensors sorted by name, plus notes for the user.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub tensors: Vec<TensorPlan>,
    pub notes: Vec<String>,
    /// Stored big-endian (`byteorder` member says `big`); elements are swapped on write.
    pub big_endian: bool,
}

const ALLOWED_CALLABLES: &[&str] = &[
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
];

fn global_name(values: &Values, id: ValueId) -> Option<String> {
    match values.get(id) {
        Value::Global { module, name } => Some(format!("{module}.{name}")),
        _ => None,
    }
}

fn is_storage_class(full: &str) -> bool {
    full.strip_prefix("torch.")
        .is_some_and(|n| Dtype::from_storage(n).is_some())
}

fn bad(msg: impl Into<String>) -> ConvertError {
    ConvertError::Unsupported(msg.into())
}

/// Plan the conversion of a PyTorch zip checkpoint (`<dir>/data.pkl` + `<dir>/data/<key>`).
pub fn plan_torch_zip(blob: &Blob, key: Option<&str>) -> Result<Plan, ConvertError> {
    let archive = ZipArchive::parse(blob.as_slice(), 1_000_000);
    let pkl = archive
        .entries
        .iter()
        .find(|e| e.name.ends_with("/data.pkl") && e.name.matches('/').count() == 1)
        .ok_or_else(|| bad("not a PyTorch zip checkpoint (no <dir>/data.pkl member); legacy and other formats are not supported yet"))?;
    let prefix = pkl.name.trim_end_matches("data.pkl").to_string();
    let read = |name: &str| -> Result<Option<Blob>, ConvertError> {
        let Some(e) = archive.entries.iter().find(|e| e.name == name) else {
            return Ok(None);
        };
        archive
            .read(blob, e, u64::MAX, 1000, false)
            .map(|m| Some(m.data))
            .map_err(|err| bad(format!("{name}: {err}")))
    };
    let pkl_data = read(&pkl.name)?.ok_or_else(|| bad("data.pkl unreadable"))?;
    let big_endian = match read(&format!("{prefix}byteorder"))? {
        Some(b) => match b.as_slice() {
            b"little" => false,
            b"big" => true,
            other => {
                return Err(bad(format!(
                    "unknown byteorder {:?}",
                    String::from_utf8_lossy(other)
                )));
            }
        },
        None => false,
    };

    let data = pkl_data.as_slice();
    let prog = run_stream(data, 0, VmLimits::default());
    if !prog.end.is_complete() {
        return Err(bad(format!(
            "data.pkl is damaged or incomplete: {:?}",
            prog.end
        )));
    }
    let values = &prog.values;
    let root = prog.result.ok_or_else(|| bad("data.pkl has no result"))?;

    // Strict allowlist over everything the loader would do.
    let mut reasons = Vec::new();
    let mut items: HashMap<ValueId, Vec<(ValueId, ValueId)>> = HashMap::new();
    for ev in &prog.events {
        match &ev.kind {
            EventKind::Import { module, name, .. } => {
                let full = format!("{module}.{name}");
                if !ALLOWED_CALLABLES.contains(&full.as_str()) && !is_storage_class(&full) {
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
                        if !ALLOWED_CALLABLES.contains(&full.as_str()) {
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
    if !reasons.is_empty() {
        return Err(ConvertError::Refused {
            reasons,
            findings: Vec::new(),
        });
    }

    let mut cx = Walk {
        values,
        data,
        items: &items,
        prefix: &prefix,
        read: &read,
        out: Vec::new(),
        notes: Vec::new(),
        storages: HashMap::new(),
    };
    let start = match key {
        None => root,
        Some(k) => cx.lookup(root, k)?,
    };
    cx.walk(start, String::new(), 0)?;

    let mut tensors = cx.out;
    let mut notes = cx.notes;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    for w in tensors.windows(2) {
        if let [a, b] = w
            && a.name == b.name
        {
            return Err(bad(format!("duplicate tensor name {}", a.name)));
        }
    }
    let mut by_storage: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in &tensors {
        by_storage.entry(&t.storage_key).or_default().push(&t.name);
    }
    for (k, names) in by_storage {
        if names.len() > 1 {
            notes.push(format!(
                "storage {k} is shared by {}: copied into each tensor",
                names.join(", ")
            ));
        }
    }
    Ok(Plan {
        tensors,
        notes,
        big_endian,
    })
}

fn is_ordered_dict(values: &Values, id: ValueId) -> bool {
    match values.get(id) {
        Value::Call { callee, .. } => {
            global_name(values, *callee).as_deref() == Some("collections.OrderedDict")
        }
        _ => false,
    }
}

struct Walk<'a, F> {
    values: &'a Values,
    data: &'a [u8],
    items: &'a HashMap<ValueId, Vec<(ValueId, ValueId)>>,
    prefix: &'a str,
    read: &'a F,
    out: Vec<TensorPlan>,
    notes: Vec<String>,
    storages: HashMap<String, (Dtype, Blob)>,
}

const MAX_DEPTH: usize = 64;

impl<F> Walk<'_, F>
where
    F: Fn(&str) -> Result<Option<Blob>, ConvertError>,
{
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
        'outer: while !rest.is_empty() {
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
            if let Some((l, v)) = best {
                cur = v;
                rest = rest.get(l..).unwrap_or("").trim_start_matches('.');
                continue 'outer;
            }
            return Err(bad(format!("--key {key}: no entry {rest:?}")));
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
                match callee.as_str() {
                    "torch._utils._rebuild_tensor_v2" => {
                        let t = self.tensor(*args, &name)?;
                        self.out.push(t);
                    }
                    "torch._utils._rebuild_parameter" => {
                        let data = self
                            .values
                            .items(*args)
                            .and_then(|a| a.first().copied())
                            .ok_or_else(|| {
                                bad(format!("{name}: _rebuild_parameter without data"))
                            })?;
                        self.walk(data, name, depth + 1)?;
                    }
                    _ => self
                        .notes
                        .push(format!("skipped non-tensor {name} ({callee})")),
                }
            }
            Value::List(v) | Value::Tuple(v) => {
                if v.is_empty() {
                    return Ok(());
                }
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
            | Value::Str(_)
            | Value::DataBytes { .. }
            | Value::Bytes(_) => {
                self.notes.push(format!("skipped non-tensor {name}"));
            }
            other => return Err(bad(format!("{name}: unsupported value {other:?}"))),
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

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    fn tensor(&mut self, args: ValueId, name: &str) -> Result<TensorPlan, ConvertError> {
        let a = self
            .values
            .items(args)
            .ok_or_else(|| bad(format!("{name}: bad _rebuild_tensor_v2 arguments")))?;
        let [storage, offset, size, stride, ..] = a else {
            return Err(bad(format!("{name}: too few _rebuild_tensor_v2 arguments")));
        };
        let Value::PersId(pid) = self.values.get(*storage) else {
            return Err(bad(format!("{name}: storage is not a persistent id")));
        };
        let pid = self
            .values
            .items(*pid)
            .ok_or_else(|| bad(format!("{name}: persistent id is not a tuple")))?;
        let [tag, ty, key, _location, _numel] = pid else {
            return Err(bad(format!("{name}: unexpected persistent id shape")));
        };
        if self.values.as_str(*tag) != Some("storage") {
            return Err(bad(format!("{name}: persistent id is not a storage")));
        }
        let ty_name = global_name(self.values, *ty).unwrap_or_default();
        let dtype = ty_name
            .strip_prefix("torch.")
            .and_then(Dtype::from_storage)
            .ok_or_else(|| bad(format!("{name}: unsupported storage type {ty_name}")))?;
        let key = self
            .values
            .as_str(*key)
            .ok_or_else(|| bad(format!("{name}: storage key is not a string")))?
            .to_string();
        let offset = self.int(*offset, "storage offset", name)?;
        let shape = self.ints(*size, "size", name)?;
        let stride = self.ints(*stride, "stride", name)?;
        if shape.len() != stride.len() {
            return Err(bad(format!("{name}: size and stride differ in length")));
        }
        let storage = self.storage(&key, dtype, name)?;
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
        let contiguous = {
            let mut expect = 1usize;
            let mut ok = true;
            for (d, s) in shape.iter().zip(&stride).rev() {
                if *d != 1 && *s != expect {
                    ok = false;
                }
                expect = expect.saturating_mul(*d);
            }
            ok
        };
        Ok(TensorPlan {
            name: name.to_string(),
            dtype,
            shape,
            storage_key: key,
            storage,
            offset,
            stride,
            contiguous,
        })
    }

    fn storage(&mut self, key: &str, dtype: Dtype, name: &str) -> Result<Blob, ConvertError> {
        if let Some((d, b)) = self.storages.get(key) {
            if *d != dtype {
                return Err(bad(format!("{name}: storage {key} used with two dtypes")));
            }
            return Ok(b.clone());
        }
        if key.contains('/') || key.contains("..") {
            return Err(bad(format!("{name}: bad storage key {key:?}")));
        }
        let member = format!("{}data/{key}", self.prefix);
        let b = (self.read)(&member)?
            .ok_or_else(|| bad(format!("{name}: storage member {member} missing")))?;
        if b.len() % dtype.size() != 0 {
            return Err(bad(format!(
                "{name}: storage {key} size is not a multiple of the element size"
            )));
        }
        self.storages.insert(key.to_string(), (dtype, b.clone()));
        Ok(b)
    }
}

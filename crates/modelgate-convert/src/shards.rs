//! Hugging Face sharded checkpoints: `pytorch_model.bin.index.json` (`{"metadata":
//! {"total_size": N}, "weight_map": {tensor: shard file}}`) and the `.bin` shards it names.
//!
//! Every shard is scanned and planned before anything is written: one refused shard refuses
//! the whole conversion. The output is one `model-0000i-of-0000n.safetensors` per input
//! shard (in the order of the shard names) and `model.safetensors.index.json` with the
//! weight map remapped to them.

use crate::plan::Plan;
use crate::{ConvertError, Input, Options, open_input, plan, write_safetensors};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The index file a directory of `.bin` shards carries.
pub const BIN_INDEX: &str = "pytorch_model.bin.index.json";
/// The index file written next to the safetensors shards.
pub const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";
/// Largest index file read.
const MAX_INDEX_BYTES: u64 = 64 << 20;
/// Most shards in one checkpoint.
const MAX_SHARDS: usize = 100_000;

/// One planned shard.
pub struct ShardPlan {
    /// The input shard's file name (as the index names it).
    pub source: String,
    pub input: Input,
    pub plan: Plan,
    /// The output file name.
    pub output: String,
}

/// A planned sharded conversion.
pub struct ShardedPlan {
    pub shards: Vec<ShardPlan>,
    /// Tensor name -> output file name.
    pub weight_map: BTreeMap<String, String>,
    pub notes: Vec<String>,
}

impl ShardedPlan {
    /// Bytes of tensor data written over all shards.
    pub fn total_size(&self) -> u64 {
        self.shards
            .iter()
            .flat_map(|s| &s.plan.tensors)
            .map(|t| t.nbytes() as u64)
            .fold(0u64, u64::saturating_add)
    }
}

fn bad(msg: impl Into<String>) -> ConvertError {
    ConvertError::Unsupported(msg.into())
}

/// The index file for `path`: the file itself when it is a JSON object with a `weight_map`,
/// or `pytorch_model.bin.index.json` inside a directory. `Ok(None)` for anything else (a
/// single checkpoint).
pub fn find_index(path: &Path) -> Result<Option<PathBuf>, ConvertError> {
    if path.is_dir() {
        let p = path.join(BIN_INDEX);
        if !p.is_file() {
            return Err(bad(format!(
                "{}: directory has no {BIN_INDEX}",
                path.display()
            )));
        }
        return Ok(Some(p));
    }
    let len = std::fs::metadata(path)?.len();
    if len > MAX_INDEX_BYTES {
        return Ok(None);
    }
    // Only JSON objects are read whole: look at the first bytes before anything else.
    let mut head = [0u8; 64];
    let n = std::io::Read::read(&mut std::fs::File::open(path)?, &mut head)?;
    if head
        .get(..n)
        .and_then(|h| h.iter().find(|b| !b.is_ascii_whitespace()))
        != Some(&b'{')
    {
        return Ok(None);
    }
    let bytes = std::fs::read(path)?;
    let is_index = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get("weight_map").is_some());
    Ok(is_index.then(|| path.to_path_buf()))
}

/// Read the index: tensor name -> shard file name. Shard names must be plain file names.
fn read_index(index: &Path) -> Result<BTreeMap<String, String>, ConvertError> {
    let len = std::fs::metadata(index)?.len();
    if len > MAX_INDEX_BYTES {
        return Err(bad(format!(
            "{}: index larger than {MAX_INDEX_BYTES} bytes",
            index.display()
        )));
    }
    let v: Value = serde_json::from_slice(&std::fs::read(index)?)
        .map_err(|e| bad(format!("{}: not JSON: {e}", index.display())))?;
    let map = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("{}: no weight_map object", index.display())))?;
    let mut out = BTreeMap::new();
    for (name, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| bad(format!("weight_map[{name}] is not a string")))?;
        let plain = !file.is_empty()
            && !file.contains(['/', '\\'])
            && file != "."
            && file != ".."
            && !file.contains('\0');
        if !plain {
            return Err(ConvertError::Refused {
                reasons: vec![format!(
                    "weight_map[{name}] = {file:?} is not a plain file name next to the index"
                )],
                findings: Vec::new(),
            });
        }
        out.insert(name.clone(), file.to_string());
    }
    Ok(out)
}

/// Scan and plan every shard named by `index`; nothing is written.
pub fn plan_sharded(index: &Path, opts: &Options) -> Result<ShardedPlan, ConvertError> {
    let dir = index.parent().unwrap_or(Path::new("."));
    let map = read_index(index)?;
    let files: BTreeSet<&str> = map.values().map(String::as_str).collect();
    if files.is_empty() {
        return Err(bad(format!("{}: empty weight_map", index.display())));
    }
    if files.len() > MAX_SHARDS {
        return Err(bad(format!("more than {MAX_SHARDS} shards")));
    }
    let n = files.len();
    let mut shards = Vec::with_capacity(n);
    let mut refusals = Vec::new();
    let mut refused_findings = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let input = open_input(&dir.join(file))?;
        match plan(&input, opts) {
            Ok(p) => shards.push(ShardPlan {
                source: file.to_string(),
                input,
                plan: p,
                output: format!("model-{:05}-of-{n:05}.safetensors", i + 1),
            }),
            Err(ConvertError::Refused { reasons, findings }) => {
                refusals.extend(reasons.into_iter().map(|r| format!("{file}: {r}")));
                refused_findings.extend(findings);
            }
            Err(ConvertError::Unsupported(m)) => return Err(bad(format!("{file}: {m}"))),
            Err(e) => return Err(e),
        }
    }
    if !refusals.is_empty() {
        return Err(ConvertError::Refused {
            reasons: refusals,
            findings: refused_findings,
        });
    }
    let mut weight_map = BTreeMap::new();
    let mut notes = Vec::new();
    for s in &shards {
        for t in &s.plan.tensors {
            if weight_map
                .insert(t.name.clone(), s.output.clone())
                .is_some()
            {
                return Err(bad(format!("tensor {} is in more than one shard", t.name)));
            }
            if map.get(&t.name) != Some(&s.source) {
                notes.push(format!(
                    "{}: tensor {} is not listed for this shard in the index; written anyway",
                    s.source, t.name
                ));
            }
        }
        for (dropped, kept) in &s.plan.dropped {
            notes.push(format!(
                "{}: {dropped} is identical to {kept}: left out of the weight map (alias in the shard's __metadata__)",
                s.source
            ));
        }
        notes.extend(s.plan.notes.iter().map(|m| format!("{}: {m}", s.source)));
    }
    for (name, file) in &map {
        let dropped = shards
            .iter()
            .any(|s| s.source == *file && s.plan.dropped.iter().any(|(d, _)| d == name));
        if !weight_map.contains_key(name) && !dropped {
            return Err(bad(format!(
                "the index lists {name} in {file}, but the shard has no such tensor"
            )));
        }
    }
    Ok(ShardedPlan {
        shards,
        weight_map,
        notes,
    })
}

/// Write every shard and the index into `out_dir` (created if missing).
pub fn write_sharded(sp: &ShardedPlan, out_dir: &Path) -> Result<(), ConvertError> {
    std::fs::create_dir_all(out_dir)?;
    for s in &sp.shards {
        write_safetensors(&s.plan, &s.input, &out_dir.join(&s.output))?;
    }
    let mut meta = Map::new();
    meta.insert("total_size".into(), json!(sp.total_size()));
    let index = json!({"metadata": meta, "weight_map": sp.weight_map});
    let text = serde_json::to_vec_pretty(&index).map_err(|e| bad(e.to_string()))?;
    std::fs::write(out_dir.join(SAFETENSORS_INDEX), text)?;
    Ok(())
}

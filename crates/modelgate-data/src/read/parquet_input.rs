//! Parquet input (cargo feature `parquet`), read through the `parquet` crate's row API
//! (codecs: uncompressed, snappy, gzip, lz4, lz4_raw, zstd, brotli).
//!
//! * Flat columns (string, integer, float, boolean, date, time, timestamp, decimal) read as
//!   the text a CSV cell would hold; nulls become empty fields, so they are treated exactly
//!   like empty CSV cells.
//! * Chat / instruction data: when no `--text`/`--features` is given and the first row,
//!   converted to JSON, has a chat layout (`messages: list<struct<role, content>>`,
//!   `conversations: list<struct<from, value>>`, `prompt`/`completion`,
//!   `instruction`/`output`), every row is converted to the JSON object a JSONL line would
//!   hold and read by the same code as chat JSONL.
//! * A nested column (list, struct, map) named as the text column is rendered as compact
//!   JSON; one named as a feature is an error naming it and its type.
//!
//! The "line" of an error is the 1-based data row.

use super::{
    Builder, JsonRows, Limits, Progress, Records, Spec, Stream, finish, push_row, resolve,
};
use crate::error::{DataError, Result};
use base64::Engine as _;
use parquet::basic::{ConvertedType, LogicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

fn bad(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::Parquet {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The display form of dates and timestamps, guarded against values outside the calendar
/// range the display code accepts.
fn temporal(field: &Field) -> String {
    // Days / milliseconds / microseconds that stay within about ±200 000 years.
    const MAX_DAYS: i32 = 73_000_000;
    const MAX_MILLIS: i64 = 6_300_000_000_000_000_000 / 1000;
    match field {
        Field::Date(d) if d.unsigned_abs() > MAX_DAYS.unsigned_abs() => {
            format!("{d} days since 1970-01-01")
        }
        Field::TimestampMillis(v) if v.unsigned_abs() > MAX_MILLIS.unsigned_abs() => {
            format!("{v} ms since 1970-01-01")
        }
        Field::TimestampMicros(v) if v.unsigned_abs() / 1000 > MAX_MILLIS.unsigned_abs() => {
            format!("{v} µs since 1970-01-01")
        }
        other => other.to_string(),
    }
}

/// One cell as the text the CSV reader would have seen, or what kind of value this reader
/// does not take as flat text.
fn cell(field: &Field) -> std::result::Result<String, &'static str> {
    Ok(match field {
        Field::Null => String::new(),
        Field::Bool(v) => v.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float16(v) => f32::from(*v).to_string(),
        Field::Float(v) => v.to_string(),
        Field::Double(v) => v.to_string(),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => s.to_string(),
            Err(_) => return Err("binary value that is not UTF-8"),
        },
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => {
            return Err("nested value (struct, list or map)");
        }
        // Dates, times, timestamps, decimals: their display form.
        other => temporal(other),
    })
}

/// Converts cells to the JSON a JSONL writer would have produced, within a size budget.
struct ToJson {
    max_depth: usize,
    max_bytes: usize,
    used: usize,
}

impl ToJson {
    fn new(limits: &Limits) -> Self {
        ToJson {
            max_depth: limits.max_nesting,
            max_bytes: limits.max_cell_bytes,
            used: 0,
        }
    }

    fn spend(&mut self, n: usize) -> std::result::Result<(), String> {
        self.used = self.used.saturating_add(n);
        if self.used > self.max_bytes {
            return Err(format!(
                "a nested value larger than the cell limit of {} bytes",
                self.max_bytes
            ));
        }
        Ok(())
    }

    /// Floats keep the decimal text they were written with (a float32 0.1 stays 0.1);
    /// NaN and infinities, which JSON has no number for, become strings.
    fn float(text: String) -> Value {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => serde_json::Number::from_f64(v)
                .map(Value::Number)
                .unwrap_or(Value::String(text)),
            _ => Value::String(text),
        }
    }

    fn value(&mut self, field: &Field, depth: usize) -> std::result::Result<Value, String> {
        if depth > self.max_depth {
            return Err(format!(
                "a value nested deeper than {} levels",
                self.max_depth
            ));
        }
        self.spend(8)?;
        Ok(match field {
            Field::Null => Value::Null,
            Field::Bool(v) => Value::Bool(*v),
            Field::Byte(v) => Value::from(*v),
            Field::Short(v) => Value::from(*v),
            Field::Int(v) => Value::from(*v),
            Field::Long(v) => Value::from(*v),
            Field::UByte(v) => Value::from(*v),
            Field::UShort(v) => Value::from(*v),
            Field::UInt(v) => Value::from(*v),
            Field::ULong(v) => Value::from(*v),
            Field::Float16(v) => Self::float(f32::from(*v).to_string()),
            Field::Float(v) => Self::float(v.to_string()),
            Field::Double(v) => Self::float(v.to_string()),
            Field::Str(s) => {
                self.spend(s.len())?;
                Value::String(s.clone())
            }
            // Binary: the text when it is valid UTF-8, otherwise standard base64 (lossless).
            Field::Bytes(b) => {
                let s = match std::str::from_utf8(b.data()) {
                    Ok(s) => s.to_string(),
                    Err(_) => base64::engine::general_purpose::STANDARD.encode(b.data()),
                };
                self.spend(s.len())?;
                Value::String(s)
            }
            Field::Group(row) => Value::Object(self.object(row, depth + 1)?),
            Field::ListInternal(list) => {
                let mut out = Vec::with_capacity(list.len().min(1 << 16));
                for f in list.elements() {
                    out.push(self.value(f, depth + 1)?);
                }
                Value::Array(out)
            }
            Field::MapInternal(map) => {
                let mut out = Map::new();
                for (k, v) in map.entries() {
                    let key = match self.value(k, depth + 1)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, self.value(v, depth + 1)?);
                }
                Value::Object(out)
            }
            // Decimals, dates, times, timestamps: their display form as a string.
            other => {
                let s = temporal(other);
                self.spend(s.len())?;
                Value::String(s)
            }
        })
    }

    fn object(
        &mut self,
        row: &Row,
        depth: usize,
    ) -> std::result::Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for (name, f) in row.get_column_iter() {
            self.spend(name.len())?;
            out.insert(name.clone(), self.value(f, depth)?);
        }
        Ok(out)
    }
}

/// One Parquet row as the JSON object a JSONL line would hold. The cell limit applies to
/// each top-level column.
fn row_json(path: &Path, line: u64, row: &Row, limits: &Limits) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (name, f) in row.get_column_iter() {
        let v = ToJson::new(limits)
            .value(f, 0)
            .map_err(|m| column_error(path, line, name, &m))?;
        out.insert(name.clone(), v);
    }
    Ok(out)
}

fn column_error(path: &Path, line: u64, name: &str, what: &str) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        message: format!("column {name:?} holds {what}"),
    }
}

/// A short type name for a schema node, e.g. `list<struct<role: string, content: string>>`.
fn describe(t: &Type, depth: usize) -> String {
    if depth > 6 {
        return "...".into();
    }
    let info = t.get_basic_info();
    if t.is_primitive() {
        return match info.logical_type_ref() {
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json) => "string".into(),
            Some(LogicalType::Decimal { scale, precision }) => {
                format!("decimal({precision}, {scale})")
            }
            Some(LogicalType::Date) => "date".into(),
            Some(LogicalType::Time { .. }) => "time".into(),
            Some(LogicalType::Timestamp { .. }) => "timestamp".into(),
            _ if info.converted_type() == ConvertedType::UTF8 => "string".into(),
            _ => t.get_physical_type().to_string().to_lowercase(),
        };
    }
    let fields = t.get_fields();
    let is_list = matches!(info.logical_type_ref(), Some(LogicalType::List))
        || info.converted_type() == ConvertedType::LIST;
    let is_map = matches!(info.logical_type_ref(), Some(LogicalType::Map))
        || matches!(
            info.converted_type(),
            ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE
        );
    match (fields, is_list, is_map) {
        ([rep], true, _) => {
            // Three-level lists wrap the element in a repeated group of one field.
            let elem = match rep.get_fields() {
                [e] if !rep.is_primitive() => e,
                _ => rep,
            };
            format!("list<{}>", describe(elem, depth + 1))
        }
        ([kv], _, true) => match kv.get_fields() {
            [k, v] => format!(
                "map<{}, {}>",
                describe(k, depth + 1),
                describe(v, depth + 1)
            ),
            _ => "map".into(),
        },
        _ => {
            let inner: Vec<String> = fields
                .iter()
                .take(8)
                .map(|f| format!("{}: {}", f.name(), describe(f, depth + 1)))
                .collect();
            let more = if fields.len() > 8 { ", ..." } else { "" };
            format!("struct<{}{more}>", inner.join(", "))
        }
    }
}

pub(super) fn read_parquet(
    path: &Path,
    spec: &Spec,
    limits: &Limits,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    let file = std::fs::File::open(path).map_err(|e| super::io_err(path, e))?;
    let len = file.metadata().map_err(|e| super::io_err(path, e))?.len();
    if len > limits.max_bytes {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: "the input is larger than the byte limit".into(),
        });
    }
    {
        // The row API reads the footer from the end; check the trailing magic first so a
        // truncated file is named as such.
        use std::io::{Read, Seek, SeekFrom};
        let mut f = &file;
        let mut tail = [0u8; 4];
        let ok = len >= 12
            && f.seek(SeekFrom::End(-4)).is_ok()
            && f.read_exact(&mut tail).is_ok()
            && &tail == b"PAR1";
        if !ok {
            return Err(bad(
                path,
                "truncated: the file starts with the Parquet magic PAR1 but does not end with it (no footer)",
            ));
        }
    }
    // The parquet crate reports malformed input as errors; a panic inside it is still turned
    // into an error naming the file rather than taking the process down.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_rows(path, file, spec, limits, stream)
    }));
    match outcome {
        Ok(r) => r,
        Err(_) => Err(bad(path, "the Parquet reader failed on malformed data")),
    }
}

/// The file's schema reduced to the top-level columns `keep` (in file order), for the row
/// API's projection: the other columns' pages are never read or decoded.
fn projection(root: &Type, keep: &[bool]) -> Result<Type> {
    let fields: Vec<Arc<Type>> = root
        .get_fields()
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(f, _)| f.clone())
        .collect();
    Type::group_type_builder(root.name())
        .with_fields(fields)
        .build()
        .map_err(|e| DataError::Invalid(format!("Parquet projection: {e}")))
}

/// Top-level columns a chat file can hold (the layouts' keys); with the label, id and source
/// columns they are all the chat path reads.
const CHAT_COLUMNS: [&str; 7] = [
    "messages",
    "conversations",
    "instruction",
    "input",
    "output",
    "prompt",
    "completion",
];

fn read_rows(
    path: &Path,
    file: std::fs::File,
    spec: &Spec,
    limits: &Limits,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    let reader = SerializedFileReader::new(file).map_err(|e| bad(path, e))?;
    let meta = reader.metadata();
    let total_rows = meta.file_metadata().num_rows();
    if usize::try_from(total_rows).map_or(true, |n| n > limits.max_rows) {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!(
                "{total_rows} rows in the Parquet metadata (limit {})",
                limits.max_rows
            ),
        });
    }
    let declared: i64 = meta.row_groups().iter().map(|g| g.total_byte_size()).sum();
    if u64::try_from(declared).is_ok_and(|d| d > limits.max_bytes) {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: "the decompressed input is larger than the byte limit".into(),
        });
    }
    let schema = meta.file_metadata().schema_descr();
    if let Some(deep) = schema
        .columns()
        .iter()
        .find(|c| c.path().parts().len() > limits.max_nesting)
    {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!(
                "column {:?} is nested {} levels deep in the Parquet schema (limit {})",
                deep.path().string(),
                deep.path().parts().len(),
                limits.max_nesting
            ),
        });
    }
    let top: Vec<&Type> = schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.as_ref())
        .collect();
    let header: Vec<String> = top.iter().map(|f| f.name().to_string()).collect();
    if header.len() > limits.max_columns {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!("{} columns (limit {})", header.len(), limits.max_columns),
        });
    }
    let root = schema.root_schema();
    // Chat data: decided from the first row exactly as for JSONL, reading only the columns a
    // chat layout or the label / id / source can name. When a named label, id or source
    // column is missing, every column is read so that the error lists them all, as before.
    if spec.text.is_none() && spec.features.is_none() && !spec.vectors {
        let named: Vec<&str> = [&spec.label, &spec.id, &spec.source]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let all_there = named.iter().all(|n| header.iter().any(|h| h == n));
        let keep: Vec<bool> = header
            .iter()
            .map(|h| {
                !all_there
                    || CHAT_COLUMNS.contains(&h.as_str())
                    || h == "id"
                    || named.contains(&h.as_str())
            })
            .collect();
        if keep.iter().any(|&k| k) {
            let proj = projection(root, &keep)?;
            let mut iter = reader
                .get_row_iter(Some(proj))
                .map_err(|e| bad(path, e))?
                .peekable();
            let first = match iter.peek() {
                Some(Ok(row)) => Some(row_json(path, 1, row, limits)?),
                Some(Err(e)) => return Err(bad(path, format!("row 1: {e}"))),
                None => None,
            };
            if first.as_ref().and_then(super::chat_layout).is_some() {
                return read_json_rows(path, iter, spec, limits, stream);
            }
        }
    }
    let (cols, names) = resolve(path, &header, spec)?;
    for (k, &i) in cols.features.iter().enumerate() {
        if let Some(t) = top.get(i).filter(|t| t.is_group()) {
            let name = names.get(k).map(String::as_str).unwrap_or("?");
            return Err(DataError::Invalid(format!(
                "{}: feature column {name:?} is a nested Parquet column ({}), not a number; name it with --text to read it as JSON text, or leave it out of --features",
                path.display(),
                describe(t, 0)
            )));
        }
    }
    let id_name = cols.id.and_then(|i| header.get(i).cloned());
    let total = usize::try_from(total_rows).unwrap_or(0);
    let stream = stream.map(|s| Stream {
        progress: Progress::Rows(total),
        ..s
    });
    let mut b = Builder::new(stream);
    let mut rows = 0usize;
    let mut needed = vec![false; header.len()];
    for i in [cols.label, cols.text, cols.id, cols.source]
        .into_iter()
        .flatten()
        .chain(cols.features.iter().copied())
    {
        if let Some(n) = needed.get_mut(i) {
            *n = true;
        }
    }
    // Only the selected columns are decoded; `at[j]` is the header index of the projected
    // row's column j.
    // (No column selected at all: every column is read, as a projection needs one.)
    if !needed.iter().any(|&n| n) {
        needed.iter_mut().for_each(|n| *n = true);
    }
    let at: Vec<usize> = (0..header.len())
        .filter(|&i| needed.get(i) == Some(&true))
        .collect();
    let iter = reader
        .get_row_iter(Some(projection(root, &needed)?))
        .map_err(|e| bad(path, e))?;
    let mut fields: Vec<String> = vec![String::new(); header.len()];
    for row in iter {
        let line = rows as u64 + 1;
        let row = row.map_err(|e| bad(path, format!("row {line}: {e}")))?;
        for (j, (name, field)) in row.get_column_iter().enumerate() {
            let Some(&k) = at.get(j) else {
                continue;
            };
            let text = match cell(field) {
                Ok(t) => t,
                // A nested column read as text: its compact JSON.
                Err(_) if Some(k) == cols.text && !field.is_primitive() => ToJson::new(limits)
                    .value(field, 0)
                    .map_err(|m| column_error(path, line, name, &m))?
                    .to_string(),
                Err(what) => {
                    return Err(DataError::Malformed {
                        path: path.to_path_buf(),
                        line,
                        message: format!("column {name:?} holds a {what}, which is not read"),
                    });
                }
            };
            if let Some(f) = fields.get_mut(k) {
                *f = text;
            }
        }
        let get = |i: usize| fields.get(i).cloned();
        push_row(&mut b, path, line, &cols, &names, &get, limits)?;
        rows += 1;
    }
    finish(path, b, &cols, names, id_name, rows, "parquet")
}

/// Every row as a JSON object through the JSONL code (chat layouts).
fn read_json_rows(
    path: &Path,
    iter: impl Iterator<Item = parquet::errors::Result<Row>>,
    spec: &Spec,
    limits: &Limits,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    let mut sink = JsonRows::new(path, spec, limits, stream);
    for (k, row) in iter.enumerate() {
        let line = k as u64 + 1;
        let row = row.map_err(|e| bad(path, format!("row {line}: {e}")))?;
        let obj = row_json(path, line, &row, limits)?;
        sink.push(&obj, line)?;
    }
    sink.finish("parquet")
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::data_type::ByteArray;

    fn json(field: &Field, limits: &Limits) -> std::result::Result<Value, String> {
        ToJson::new(limits).value(field, 0)
    }

    #[test]
    fn scalars_convert_like_a_jsonl_writer_would_write_them() {
        let l = Limits::default();
        let ok = |f: Field| json(&f, &l).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok(Field::Float(0.1)), serde_json::json!(0.1));
        assert_eq!(ok(Field::Float(f32::NAN)), serde_json::json!("NaN"));
        assert_eq!(ok(Field::Double(f64::INFINITY)), serde_json::json!("inf"));
        assert_eq!(ok(Field::ULong(u64::MAX)), serde_json::json!(u64::MAX));
        assert_eq!(
            ok(Field::Bytes(ByteArray::from(vec![0xffu8, 0, 1]))),
            serde_json::json!("/wAB")
        );
        assert_eq!(
            ok(Field::Bytes(ByteArray::from("ok".as_bytes().to_vec()))),
            serde_json::json!("ok")
        );
        assert_eq!(ok(Field::Date(19724)), serde_json::json!("2024-01-02"));
        // Out of the calendar's range: a plain count, not a panic in the date printer.
        assert_eq!(
            ok(Field::Date(i32::MIN)),
            serde_json::json!("-2147483648 days since 1970-01-01")
        );
        assert_eq!(
            ok(Field::TimestampMillis(i64::MAX)),
            serde_json::json!(format!("{} ms since 1970-01-01", i64::MAX))
        );
        assert!(ok(Field::TimestampMicros(i64::MIN)).is_string());
        let row = Row::new(vec![("b".into(), Field::Int(1)), ("a".into(), Field::Null)]);
        assert_eq!(
            ok(Field::Group(row)),
            serde_json::json!({"b": 1, "a": null})
        );
    }

    #[test]
    fn depth_and_size_limits_are_errors() {
        let mut f = Field::Str("x".into());
        for _ in 0..10 {
            f = Field::Group(Row::new(vec![("k".into(), f)]));
        }
        let shallow = Limits {
            max_nesting: 5,
            ..Limits::default()
        };
        let e = json(&f, &shallow).err().unwrap_or_default();
        assert!(e.contains("nested deeper than 5"), "{e}");
        assert!(json(&f, &Limits::default()).is_ok());
        let small = Limits {
            max_cell_bytes: 100,
            ..Limits::default()
        };
        let e = json(&Field::Str("y".repeat(200)), &small)
            .err()
            .unwrap_or_default();
        assert!(e.contains("cell limit of 100 bytes"), "{e}");
    }
}

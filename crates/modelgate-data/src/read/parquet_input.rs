//! Parquet input (cargo feature `parquet`): flat files of string, integer, float and boolean
//! columns, read through the `parquet` crate's row API. Nulls become empty fields, so they are
//! treated exactly like empty CSV cells. The "line" of an error is the 1-based data row.

use super::{Builder, Limits, Records, Spec, finish, push_row, resolve};
use crate::error::{DataError, Result};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::Path;

fn bad(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::Parquet {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// One cell as the text the CSV reader would have seen, or what kind of value this reader
/// does not take.
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
        other => other.to_string(),
    })
}

pub(super) fn read_parquet(path: &Path, spec: &Spec, limits: &Limits) -> Result<Records> {
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
        read_rows(path, file, spec, limits)
    }));
    match outcome {
        Ok(r) => r,
        Err(_) => Err(bad(path, "the Parquet reader failed on malformed data")),
    }
}

fn read_rows(path: &Path, file: std::fs::File, spec: &Spec, limits: &Limits) -> Result<Records> {
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
    let header: Vec<String> = meta
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    if header.len() > limits.max_columns {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!("{} columns (limit {})", header.len(), limits.max_columns),
        });
    }
    let (cols, names) = resolve(path, &header, spec)?;
    let id_name = cols.id.and_then(|i| header.get(i).cloned());
    let mut b = Builder::new();
    let mut rows = 0usize;
    let iter = reader.get_row_iter(None).map_err(|e| bad(path, e))?;
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
    let mut fields: Vec<String> = Vec::with_capacity(header.len());
    for row in iter {
        let line = rows as u64 + 1;
        let row = row.map_err(|e| bad(path, format!("row {line}: {e}")))?;
        fields.clear();
        for (k, (name, field)) in row.get_column_iter().enumerate() {
            if !needed.get(k).copied().unwrap_or(false) {
                fields.push(String::new());
                continue;
            }
            let text = cell(field).map_err(|what| DataError::Malformed {
                path: path.to_path_buf(),
                line,
                message: format!("column {name:?} holds a {what}, which is not read"),
            })?;
            fields.push(text);
        }
        let get = |i: usize| fields.get(i).cloned();
        push_row(&mut b, path, line, &cols, &names, &get, limits)?;
        rows += 1;
    }
    finish(path, b, &cols, names, id_name, rows, "parquet")
}

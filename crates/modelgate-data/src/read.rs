//! Readers: CSV, TSV and JSONL (each optionally gzip-compressed), Parquet (cargo feature
//! `parquet`; recognised by its `PAR1` magic, whatever the file name), chat/instruction JSONL
//! layouts (OpenAI `messages`, `prompt`/`completion`, Alpaca `instruction`/`input`/`output`,
//! ShareGPT `conversations`) detected from the first record, and `.npy` matrices.
//!
//! Only the columns an analysis needs are kept; every text field is capped at
//! [`Limits::max_field_chars`] characters, and the whole input at [`Limits::max_bytes`]
//! (after decompression) and [`Limits::max_rows`] rows. Hitting a limit is an error naming it,
//! never a silent truncation of the dataset.

use crate::error::{DataError, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[cfg(feature = "parquet")]
mod parquet_input;

/// Budgets for reading one input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum decompressed bytes read from one file.
    pub max_bytes: u64,
    /// Maximum data rows.
    pub max_rows: usize,
    /// Text fields longer than this many characters are cut (counted in the stats).
    pub max_field_chars: usize,
    /// Maximum columns for `--features all` / `.npy` width.
    pub max_columns: usize,
    /// Maximum nesting of a Parquet column: levels of its schema path (a list adds two, a
    /// struct or map one or two).
    pub max_nesting: usize,
    /// Maximum size of one nested Parquet cell converted to JSON (bytes of text, roughly).
    pub max_cell_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 << 30,
            max_rows: 20_000_000,
            max_field_chars: 4000,
            max_columns: 10_000,
            max_nesting: 32,
            max_cell_bytes: 16 << 20,
        }
    }
}

/// Which columns to read.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub label: Option<String>,
    pub text: Option<String>,
    /// Numeric feature columns; `["all"]` (or `["*"]`) takes every other column.
    pub features: Option<Vec<String>>,
    pub id: Option<String>,
    pub source: Option<String>,
    /// Features come from a `.npy` file (rows must match the data file).
    pub vectors: bool,
}

/// The layout of a chat / instruction JSONL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChatLayout {
    OpenAiMessages,
    PromptCompletion,
    Alpaca,
    ShareGpt,
}

/// What the rows carry.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// One text per row.
    Text(Vec<String>),
    /// Numeric columns (names, row-major values).
    Features {
        names: Vec<String>,
        values: Vec<Vec<f64>>,
    },
    /// Prompt/response pairs.
    Chat {
        layout: ChatLayout,
        prompts: Vec<String>,
        responses: Vec<String>,
    },
    /// Only labels/ids were read (the vectors come from a `.npy` file).
    None,
}

/// The rows of one input, reduced to what the analyses need.
#[derive(Debug, Clone)]
pub struct Records {
    pub path: PathBuf,
    /// Row ids as given by the id column; `None` means "use the 0-based row index".
    pub ids: Option<Vec<String>>,
    pub id_column: Option<String>,
    /// Given labels as strings (empty when the data has no label column, e.g. chat).
    pub labels: Vec<String>,
    pub sources: Option<Vec<String>>,
    pub content: Content,
    pub rows: usize,
    pub truncated_fields: usize,
    pub format: &'static str,
}

struct Budget<R> {
    inner: R,
    left: u64,
    hit: bool,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // Probe one byte: if more data exists the budget is exceeded.
            let mut probe = [0u8; 1];
            let n = self.inner.read(&mut probe)?;
            if n > 0 {
                self.hit = true;
                return Err(std::io::Error::other("input byte budget exceeded"));
            }
            return Ok(0);
        }
        let cap = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

fn io_err(path: &Path, source: std::io::Error) -> DataError {
    if source.to_string().contains("byte budget exceeded") {
        return DataError::Limit {
            path: path.to_path_buf(),
            what: "the decompressed input is larger than the byte limit".into(),
        };
    }
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Counts the bytes read from the file (before decompression).
struct Counted<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Open a file, transparently gunzipping it when it starts with the gzip magic.
pub fn open(path: &Path, limits: &Limits) -> Result<Box<dyn BufRead>> {
    open_counted(path, limits).map(|(r, _)| r)
}

/// [`open`], and how much of the file has been read.
fn open_counted(path: &Path, limits: &Limits) -> Result<(Box<dyn BufRead>, Progress)> {
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut magic = [0u8; 2];
    let n = read_fully(&mut f, &mut magic).map_err(|e| io_err(path, e))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(n as u64));
    let progress = Progress::Bytes(counter.clone(), len);
    let chained = head.chain(Counted {
        inner: f,
        read: counter,
    });
    let reader: Box<dyn Read> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(chained))
    } else {
        Box::new(chained)
    };
    let r: Box<dyn BufRead> = Box::new(BufReader::with_capacity(
        1 << 16,
        Budget {
            inner: reader,
            left: limits.max_bytes,
            hit: false,
        },
    ));
    Ok((r, progress))
}

fn read_fully(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = r.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// The logical format of a data file (decided from the name, then the first byte).
fn detect(path: &Path, first: Option<u8>) -> &'static str {
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".tsv") || name.ends_with(".tab") {
        "tsv"
    } else if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        "jsonl"
    } else if name.ends_with(".csv") {
        "csv"
    } else if first == Some(b'{') {
        "jsonl"
    } else {
        "csv"
    }
}

fn cut(s: &str, max: usize, truncated: &mut usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => {
            *truncated += 1;
            s[..i].to_string()
        }
        None => s.to_string(),
    }
}

/// Read a data file according to `spec`.
pub fn read(path: &Path, spec: &Spec, limits: &Limits) -> Result<Records> {
    read_with(path, spec, limits, None).map(|(r, _)| r)
}

/// Read a data file according to `spec`, handing its text column to `sink` every
/// `chunk_rows` rows (and the last rows at the end) instead of keeping every row's text:
/// each chunk can be tokenised and freed before the next is parsed. Labels, ids and sources
/// are kept as [`read`] keeps them, and the same limits and errors apply (a row that fails
/// after some chunks were sent is still an error for the whole file).
///
/// Returns the records and whether the texts went to the sink; they do for a text column of
/// CSV, TSV, JSONL and Parquet files, and the records' content is then an empty
/// [`Content::Text`]. Feature columns, chat layouts and label-only reads (`--vectors`) are
/// returned whole as [`read`] returns them, and the sink is not called.
pub fn read_streaming(
    path: &Path,
    spec: &Spec,
    limits: &Limits,
    chunk_rows: usize,
    sink: TextSink<'_>,
) -> Result<(Records, bool)> {
    let stream = Stream {
        sink,
        chunk_rows: chunk_rows.max(1),
        progress: Progress::Unknown,
        sent: 0,
    };
    read_with(path, spec, limits, Some(stream))
}

/// [`read_streaming`] with the parsing on a thread of its own: the next chunk is parsed
/// while `consume` works on this one (at most one parsed chunk waits between them). The
/// records, errors and chunks are those of [`read_streaming`].
pub fn read_pipelined(
    path: &Path,
    spec: &Spec,
    limits: &Limits,
    chunk_rows: usize,
    consume: &mut dyn FnMut(Vec<String>, f64),
) -> Result<(Records, bool)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<String>, f64)>(1);
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            read_streaming(path, spec, limits, chunk_rows, &mut |texts, done| {
                tx.send((texts, done))
                    .map_err(|_| DataError::Invalid("internal: the chunk consumer stopped".into()))
            })
        });
        for (texts, done) in rx {
            consume(texts, done);
        }
        reader.join().map_err(|_| {
            DataError::Invalid(format!("{}: the reader thread failed", path.display()))
        })?
    })
}

fn read_with(
    path: &Path,
    spec: &Spec,
    limits: &Limits,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    if is_parquet(path)? {
        return read_parquet(path, spec, limits, stream);
    }
    let (mut r, progress) = open_counted(path, limits)?;
    let stream = stream.map(|s| Stream { progress, ..s });
    let first = {
        let buf = r.fill_buf().map_err(|e| io_err(path, e))?;
        buf.iter().copied().find(|b| !b.is_ascii_whitespace())
    };
    if first.is_none() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    match detect(path, first) {
        "jsonl" => read_jsonl(path, r, spec, limits, stream),
        "tsv" => read_delimited(path, r, b'\t', spec, limits, "tsv", stream),
        _ => read_delimited(path, r, b',', spec, limits, "csv", stream),
    }
}

/// Parquet files start (and end) with the magic `PAR1`.
fn is_parquet(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut magic = [0u8; 4];
    let n = read_fully(&mut f, &mut magic).map_err(|e| io_err(path, e))?;
    Ok(n == 4 && &magic == b"PAR1")
}

#[cfg(feature = "parquet")]
fn read_parquet(
    path: &Path,
    spec: &Spec,
    limits: &Limits,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    parquet_input::read_parquet(path, spec, limits, stream)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(
    path: &Path,
    _spec: &Spec,
    _limits: &Limits,
    _stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    Err(DataError::Parquet {
        path: path.to_path_buf(),
        message: "this is a Parquet file, and this build of modelgate-data has no Parquet support: rebuild with the cargo feature `parquet` (modelgate-data/parquet), or convert the file to CSV".into(),
    })
}

/// Column selection resolved against the header.
struct Cols {
    label: Option<usize>,
    text: Option<usize>,
    id: Option<usize>,
    source: Option<usize>,
    features: Vec<usize>,
}

fn no_column(path: &Path, name: &str, header: &[String]) -> DataError {
    DataError::NoColumn {
        path: path.to_path_buf(),
        name: name.to_string(),
        available: header.join(", "),
    }
}

fn resolve(path: &Path, header: &[String], spec: &Spec) -> Result<(Cols, Vec<String>)> {
    let find = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &String| find(name).ok_or_else(|| no_column(path, name, header));
    let label = spec.label.as_ref().map(need).transpose()?;
    let id = match &spec.id {
        Some(n) => Some(need(n)?),
        None => find("id"),
    };
    let source = spec.source.as_ref().map(need).transpose()?;
    let mut text = spec.text.as_ref().map(need).transpose()?;
    let mut features = Vec::new();
    let mut names = Vec::new();
    if let Some(list) = &spec.features {
        if list.len() == 1 && (list[0] == "all" || list[0] == "*") {
            for (i, h) in header.iter().enumerate() {
                if Some(i) != label && Some(i) != id && Some(i) != source && Some(i) != text {
                    features.push(i);
                    names.push(h.clone());
                }
            }
        } else {
            for n in list {
                features.push(need(n)?);
                names.push(n.clone());
            }
        }
        if features.is_empty() {
            return Err(DataError::Invalid(format!(
                "{}: --features selected no columns",
                path.display()
            )));
        }
    } else if text.is_none() && !spec.vectors {
        text = find("text");
        if text.is_none() {
            return Err(DataError::Invalid(format!(
                "{}: say which column holds the row content: --text COL, --features COLS or --vectors X.npy (columns are: {})",
                path.display(),
                header.join(", ")
            )));
        }
    }
    Ok((
        Cols {
            label,
            text,
            id,
            source,
            features,
        },
        names,
    ))
}

/// Receives the texts of consecutive rows, in row order, a chunk at a time, with the share of
/// the input read so far (0 when unknown).
pub type TextSink<'s> = &'s mut dyn FnMut(Vec<String>, f64) -> Result<()>;

/// How far through its input a reader is (for the sink's size estimate).
#[derive(Clone, Default)]
pub(crate) enum Progress {
    #[default]
    Unknown,
    /// Bytes of the file consumed (before decompression) out of its length.
    Bytes(std::sync::Arc<std::sync::atomic::AtomicU64>, u64),
    /// Rows out of the total (Parquet metadata).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    Rows(usize),
}

impl Progress {
    fn done(&self, rows: usize) -> f64 {
        match self {
            Progress::Unknown => 0.0,
            Progress::Bytes(read, len) if *len > 0 => {
                read.load(std::sync::atomic::Ordering::Relaxed) as f64 / *len as f64
            }
            Progress::Bytes(..) => 0.0,
            Progress::Rows(total) if *total > 0 => rows as f64 / *total as f64,
            Progress::Rows(_) => 0.0,
        }
    }
}

/// Where a streaming read sends the text column, and how many rows it sends at once.
pub(crate) struct Stream<'s> {
    sink: TextSink<'s>,
    chunk_rows: usize,
    progress: Progress,
    /// Rows already handed to the sink.
    sent: usize,
}

pub(crate) struct Builder<'s> {
    ids: Vec<String>,
    labels: Vec<String>,
    sources: Vec<String>,
    texts: Vec<String>,
    values: Vec<Vec<f64>>,
    truncated: usize,
    stream: Option<Stream<'s>>,
}

impl<'s> Builder<'s> {
    fn new(stream: Option<Stream<'s>>) -> Self {
        Builder {
            ids: Vec::new(),
            labels: Vec::new(),
            sources: Vec::new(),
            texts: Vec::new(),
            values: Vec::new(),
            truncated: 0,
            stream,
        }
    }

    /// Text rows so far, sent or held.
    fn text_rows(&self) -> usize {
        self.texts.len() + self.stream.as_ref().map_or(0, |s| s.sent)
    }

    /// Hand the held texts to the sink once a chunk is full (or at the end: `all`).
    fn flush(&mut self, all: bool) -> Result<()> {
        let Some(st) = self.stream.as_mut() else {
            return Ok(());
        };
        if self.texts.is_empty() || (!all && self.texts.len() < st.chunk_rows) {
            return Ok(());
        }
        let texts = std::mem::take(&mut self.texts);
        st.sent += texts.len();
        let done = if all { 1.0 } else { st.progress.done(st.sent) };
        (st.sink)(texts, done)
    }
}

fn parse_num(path: &Path, line: u64, col: &str, s: &str) -> Result<f64> {
    let t = s.trim();
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| DataError::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!("feature column {col:?} holds {t:?}, not a finite number"),
        })
}

#[allow(clippy::too_many_arguments)]
fn push_row(
    b: &mut Builder,
    path: &Path,
    line: u64,
    cols: &Cols,
    names: &[String],
    get: &dyn Fn(usize) -> Option<String>,
    limits: &Limits,
) -> Result<()> {
    if b.labels
        .len()
        .max(b.text_rows())
        .max(b.values.len())
        .max(b.ids.len())
        >= limits.max_rows
    {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!("more than {} rows", limits.max_rows),
        });
    }
    if let Some(i) = cols.label {
        let v = get(i).unwrap_or_default();
        let v = v.trim();
        if v.is_empty() {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                line,
                message: "the label is empty".into(),
            });
        }
        b.labels.push(v.to_string());
    }
    if let Some(i) = cols.id {
        b.ids.push(get(i).unwrap_or_default());
    }
    if let Some(i) = cols.source {
        b.sources.push(get(i).unwrap_or_default());
    }
    if let Some(i) = cols.text {
        let t = get(i).unwrap_or_default();
        b.texts
            .push(cut(&t, limits.max_field_chars, &mut b.truncated));
        b.flush(false)?;
    }
    if !cols.features.is_empty() {
        let mut row = Vec::with_capacity(cols.features.len());
        for (k, &i) in cols.features.iter().enumerate() {
            let name = names.get(k).map(String::as_str).unwrap_or("?");
            row.push(parse_num(path, line, name, &get(i).unwrap_or_default())?);
        }
        b.values.push(row);
    }
    Ok(())
}

/// The records, and whether the texts went to a stream's sink.
fn finish(
    path: &Path,
    mut b: Builder<'_>,
    cols: &Cols,
    names: Vec<String>,
    id_name: Option<String>,
    rows: usize,
    format: &'static str,
) -> Result<(Records, bool)> {
    if rows == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let streamed = b.stream.is_some() && cols.text.is_some() && cols.features.is_empty();
    if streamed {
        b.flush(true)?;
    }
    let content = if !cols.features.is_empty() {
        Content::Features {
            names,
            values: b.values,
        }
    } else if cols.text.is_some() {
        Content::Text(b.texts)
    } else {
        Content::None
    };
    Ok((
        Records {
            path: path.to_path_buf(),
            ids: cols.id.map(|_| b.ids),
            id_column: id_name,
            labels: b.labels,
            sources: cols.source.map(|_| b.sources),
            content,
            rows,
            truncated_fields: b.truncated,
            format,
        },
        streamed,
    ))
}

fn read_delimited(
    path: &Path,
    r: Box<dyn BufRead>,
    delim: u8,
    spec: &Spec,
    limits: &Limits,
    format: &'static str,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(false)
        .has_headers(false)
        .from_reader(r);
    let mut rec = csv::ByteRecord::new();
    let map_csv = |e: csv::Error| -> DataError {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => io_err(path, io),
            csv::ErrorKind::UnequalLengths {
                pos,
                expected_len,
                len,
            } => DataError::Ragged {
                path: path.to_path_buf(),
                line: pos.map(|p| p.line()).unwrap_or(line),
                expected: expected_len as usize,
                found: len as usize,
            },
            other => DataError::Malformed {
                path: path.to_path_buf(),
                line,
                message: format!("{other:?}"),
            },
        }
    };
    let got = rdr.read_byte_record(&mut rec).map_err(map_csv)?;
    if !got {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut header = Vec::with_capacity(rec.len());
    for f in rec.iter() {
        let s = std::str::from_utf8(f).map_err(|_| DataError::NotUtf8 {
            path: path.to_path_buf(),
            line: 1,
        })?;
        header.push(s.trim().trim_start_matches('\u{feff}').to_string());
    }
    if header.len() > limits.max_columns {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!("{} columns (limit {})", header.len(), limits.max_columns),
        });
    }
    let (cols, names) = resolve(path, &header, spec)?;
    let id_name = cols.id.and_then(|i| header.get(i).cloned());
    let mut b = Builder::new(stream);
    let mut rows = 0usize;
    loop {
        let more = rdr.read_byte_record(&mut rec).map_err(map_csv)?;
        if !more {
            break;
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) && header.len() > 1 {
            continue; // blank line
        }
        let mut fields = Vec::with_capacity(rec.len());
        for f in rec.iter() {
            let s = std::str::from_utf8(f).map_err(|_| DataError::NotUtf8 {
                path: path.to_path_buf(),
                line,
            })?;
            fields.push(s);
        }
        let get = |i: usize| fields.get(i).map(|s| (*s).to_string());
        push_row(&mut b, path, line, &cols, &names, &get, limits)?;
        rows += 1;
    }
    finish(path, b, &cols, names, id_name, rows, format)
}

fn json_to_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Detect a chat layout from one JSON object.
pub fn chat_layout(obj: &serde_json::Map<String, serde_json::Value>) -> Option<ChatLayout> {
    if obj.get("messages").is_some_and(|m| m.is_array()) {
        Some(ChatLayout::OpenAiMessages)
    } else if obj.get("conversations").is_some_and(|m| m.is_array()) {
        Some(ChatLayout::ShareGpt)
    } else if obj.contains_key("instruction") && obj.contains_key("output") {
        Some(ChatLayout::Alpaca)
    } else if obj.contains_key("prompt") && obj.contains_key("completion") {
        Some(ChatLayout::PromptCompletion)
    } else {
        None
    }
}

fn text_of(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        // OpenAI content parts: [{"type":"text","text":"..."}]
        Some(serde_json::Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}

/// Split one chat record into (prompt, response). The prompt is every user/system turn, the
/// response every assistant turn, each joined by newlines.
fn chat_pair(
    layout: ChatLayout,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<(String, String), String> {
    match layout {
        ChatLayout::OpenAiMessages | ChatLayout::ShareGpt => {
            let (key, role_key, content_key) = if layout == ChatLayout::OpenAiMessages {
                ("messages", "role", "content")
            } else {
                ("conversations", "from", "value")
            };
            let msgs = obj
                .get(key)
                .and_then(|m| m.as_array())
                .ok_or_else(|| format!("no {key:?} array"))?;
            let mut prompt = Vec::new();
            let mut response = Vec::new();
            for m in msgs {
                let role = m.get(role_key).and_then(|r| r.as_str()).unwrap_or("");
                let text = text_of(m.get(content_key));
                match role {
                    "assistant" | "gpt" | "model" | "bot" => response.push(text),
                    _ => prompt.push(text),
                }
            }
            if response.is_empty() {
                return Err("no assistant message".into());
            }
            Ok((prompt.join("\n"), response.join("\n")))
        }
        ChatLayout::PromptCompletion => {
            Ok((text_of(obj.get("prompt")), text_of(obj.get("completion"))))
        }
        ChatLayout::Alpaca => {
            let ins = text_of(obj.get("instruction"));
            let inp = text_of(obj.get("input"));
            let prompt = if inp.trim().is_empty() {
                ins
            } else {
                format!("{ins}\n{inp}")
            };
            Ok((prompt, text_of(obj.get("output"))))
        }
    }
}

/// Column selection, feature names, keys of the first record, chat layout.
type JsonlState = (Cols, Vec<String>, Vec<String>, Option<ChatLayout>);

/// Rows given as JSON objects (JSONL lines, or Parquet rows converted to the same JSON
/// values): the column selection and chat layout come from the first object, every object
/// is then reduced exactly the same way whatever file it came from.
pub(crate) struct JsonRows<'a, 's> {
    path: &'a Path,
    spec: &'a Spec,
    limits: &'a Limits,
    b: Builder<'s>,
    rows: usize,
    state: Option<JsonlState>,
    prompts: Vec<String>,
    responses: Vec<String>,
}

impl<'a, 's> JsonRows<'a, 's> {
    pub(crate) fn new(
        path: &'a Path,
        spec: &'a Spec,
        limits: &'a Limits,
        stream: Option<Stream<'s>>,
    ) -> Self {
        JsonRows {
            path,
            spec,
            limits,
            b: Builder::new(stream),
            rows: 0,
            state: None,
            prompts: Vec::new(),
            responses: Vec::new(),
        }
    }

    /// Take one record; `line` is what an error calls its position.
    pub(crate) fn push(
        &mut self,
        obj: &serde_json::Map<String, serde_json::Value>,
        line: u64,
    ) -> Result<()> {
        let path = self.path;
        let spec = self.spec;
        if self.state.is_none() {
            let header: Vec<String> = obj.keys().cloned().collect();
            let layout = if spec.text.is_none() && spec.features.is_none() && !spec.vectors {
                chat_layout(obj)
            } else {
                None
            };
            let (cols, names) = if layout.is_some() {
                let find = |name: &str| header.iter().position(|h| h == name);
                let need = |name: &String| find(name).ok_or_else(|| no_column(path, name, &header));
                (
                    Cols {
                        label: spec.label.as_ref().map(need).transpose()?,
                        text: None,
                        id: match &spec.id {
                            Some(n) => Some(need(n)?),
                            None => find("id"),
                        },
                        source: spec.source.as_ref().map(need).transpose()?,
                        features: Vec::new(),
                    },
                    Vec::new(),
                )
            } else {
                resolve(path, &header, spec)?
            };
            self.state = Some((cols, names, header, layout));
        }
        let Some((cols, names, header, layout)) = &self.state else {
            return Ok(());
        };
        let get = |i: usize| header.get(i).and_then(|k| obj.get(k)).map(json_to_string);
        push_row(&mut self.b, path, line, cols, names, &get, self.limits)?;
        if let Some(layout) = layout {
            let (p, q) = chat_pair(*layout, obj).map_err(|m| DataError::Malformed {
                path: path.to_path_buf(),
                line,
                message: format!("chat record ({layout:?}): {m}"),
            })?;
            let max = self.limits.max_field_chars;
            self.prompts.push(cut(&p, max, &mut self.b.truncated));
            self.responses.push(cut(&q, max, &mut self.b.truncated));
        }
        self.rows += 1;
        Ok(())
    }

    pub(crate) fn finish(self, format: &'static str) -> Result<(Records, bool)> {
        let path = self.path;
        let Some((cols, names, header, layout)) = self.state else {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        };
        let id_name = cols.id.and_then(|i| header.get(i).cloned());
        let (mut rec, streamed) = finish(path, self.b, &cols, names, id_name, self.rows, format)?;
        if let Some(layout) = layout {
            rec.content = Content::Chat {
                layout,
                prompts: self.prompts,
                responses: self.responses,
            };
        }
        Ok((rec, streamed))
    }
}

fn read_jsonl(
    path: &Path,
    mut r: Box<dyn BufRead>,
    spec: &Spec,
    limits: &Limits,
    stream: Option<Stream<'_>>,
) -> Result<(Records, bool)> {
    let mut line_no: u64 = 0;
    let mut buf = Vec::new();
    let mut sink = JsonRows::new(path, spec, limits, stream);
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let s = std::str::from_utf8(&buf).map_err(|_| DataError::NotUtf8 {
            path: path.to_path_buf(),
            line: line_no,
        })?;
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(s).map_err(|e| DataError::Malformed {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("not a JSON object: {e}"),
        })?;
        let obj = v.as_object().ok_or_else(|| DataError::Malformed {
            path: path.to_path_buf(),
            line: line_no,
            message: "each line must be a JSON object".into(),
        })?;
        sink.push(obj, line_no)?;
    }
    sink.finish("jsonl")
}

/// Read a 2-D little-endian float32/float64 (or integer) `.npy` matrix, C order.
/// Row vectors from a 2-D `.npy` file, or from a `.npz` archive (as `numpy.savez` /
/// `savez_compressed` write it) holding one array, or an array named `x`, `X`, `vectors` or
/// `embeddings`.
pub fn read_npy(path: &Path, limits: &Limits) -> Result<Vec<Vec<f64>>> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    if bytes.starts_with(b"PK\x03\x04") {
        let npy = npz_member(path, bytes, limits)?;
        return parse_npy(path, &npy, limits);
    }
    parse_npy(path, &bytes, limits)
}

/// The bytes of the vectors array inside a `.npz` archive.
fn npz_member(path: &Path, bytes: Vec<u8>, limits: &Limits) -> Result<Vec<u8>> {
    use modelgate_formats::zip::ZipArchive;
    let bad = |m: String| DataError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        message: m,
    };
    let blob = modelgate_core::Blob::from_vec(bytes);
    let archive = ZipArchive::parse(blob.as_slice(), 4096);
    let arrays: Vec<_> = archive
        .entries
        .iter()
        .filter(|e| !e.is_dir && e.name.ends_with(".npy"))
        .collect();
    let entry = match arrays.as_slice() {
        [] => return Err(bad(".npz archive holds no .npy array".into())),
        [one] => *one,
        many => many
            .iter()
            .find(|e| {
                matches!(
                    e.name.trim_end_matches(".npy"),
                    "x" | "X" | "vectors" | "embeddings"
                )
            })
            .copied()
            .ok_or_else(|| {
                let names: Vec<&str> = many.iter().map(|e| e.name.as_str()).collect();
                bad(format!(
                    ".npz archive holds several arrays ({}); name the vectors x, X, vectors or embeddings",
                    names.join(", ")
                ))
            })?,
    };
    let member = archive
        .read(&blob, entry, limits.max_bytes, 100_000, true)
        .map_err(|e| bad(format!("{} in the .npz archive: {e}", entry.name)))?;
    if member.crc_ok == Some(false) {
        return Err(bad(format!(
            "{} in the .npz archive fails its CRC check",
            entry.name
        )));
    }
    Ok(member.data.as_slice().to_vec())
}

fn parse_npy(path: &Path, bytes: &[u8], limits: &Limits) -> Result<Vec<Vec<f64>>> {
    let bad = |m: &str| DataError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        message: m.to_string(),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
            10usize,
        ),
        2 | 3 => {
            let b4 = bytes.get(8..12).ok_or_else(|| bad("truncated header"))?;
            let n = u32::from_le_bytes([b4[0], b4[1], b4[2], b4[3]]);
            (n as usize, 12usize)
        }
        _ => return Err(bad("unsupported .npy version")),
    };
    let end = start
        .checked_add(hlen)
        .ok_or_else(|| bad("header length overflow"))?;
    let header = bytes
        .get(start..end)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad("no descr in header"))?;
    let fortran = dict_value(header, "fortran_order").unwrap_or_default();
    if fortran.trim().starts_with("True") {
        return Err(bad(
            "Fortran-order arrays are not supported; save with C order",
        ));
    }
    let shape = dict_value(header, "shape").ok_or_else(|| bad("no shape in header"))?;
    let dims: Vec<usize> = shape
        .trim()
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("bad shape"))?;
    let (n, d) = match dims.as_slice() {
        [n, d] => (*n, *d),
        [n] => (*n, 1),
        _ => return Err(bad("expected a 2-D array (rows x dims)")),
    };
    if n > limits.max_rows || d > limits.max_columns {
        return Err(DataError::Limit {
            path: path.to_path_buf(),
            what: format!("array of {n} x {d} exceeds the row/column limits"),
        });
    }
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let (size, kind): (usize, char) = match descr {
        "<f4" => (4, 'f'),
        "<f8" => (8, 'f'),
        "<i4" => (4, 'i'),
        "<i8" => (8, 'i'),
        "|u1" | "<u1" => (1, 'u'),
        other => return Err(bad(&format!("unsupported dtype {other}"))),
    };
    let total = n
        .checked_mul(d)
        .and_then(|x| x.checked_mul(size))
        .ok_or_else(|| bad("array size overflow"))?;
    let data = bytes.get(end..).ok_or_else(|| bad("truncated data"))?;
    if data.len() < total {
        return Err(bad(&format!(
            "data is {} bytes, the header promises {total}",
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = Vec::with_capacity(d);
        for j in 0..d {
            let o = (i * d + j) * size;
            let c = &data[o..o + size];
            let v = match (kind, size) {
                ('f', 4) => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                ('f', _) => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
                ('i', 4) => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                ('i', _) => {
                    i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64
                }
                _ => f64::from(c[0]),
            };
            if !v.is_finite() {
                return Err(bad(&format!("row {i} column {j} is not finite")));
            }
            row.push(v);
        }
        out.push(row);
    }
    Ok(out)
}

fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}':");
    let pat2 = format!("\"{key}\":");
    let at = header
        .find(&pat1)
        .map(|i| i + pat1.len())
        .or_else(|| header.find(&pat2).map(|i| i + pat2.len()))?;
    let rest = header.get(at..)?.trim_start();
    if rest.starts_with('(') {
        let close = rest.find(')')?;
        return rest.get(..=close);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest.get(..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        let mut f = std::fs::File::create(&p).unwrap_or_else(|e| panic!("{e}"));
        f.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        p
    }

    fn spec(label: &str, text: &str) -> Spec {
        Spec {
            label: Some(label.into()),
            text: Some(text.into()),
            ..Spec::default()
        }
    }

    #[test]
    fn csv_tsv_jsonl_and_gzip_read_the_same_rows() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let csv = write(
            &dir,
            "a.csv",
            b"id,text,label\nr1,\"hello, world\",ham\nr2,buy now,spam\n",
        );
        let tsv = write(
            &dir,
            "a.tsv",
            b"id\ttext\tlabel\nr1\thello, world\tham\nr2\tbuy now\tspam\n",
        );
        let jsonl = write(
            &dir,
            "a.jsonl",
            b"{\"id\":\"r1\",\"text\":\"hello, world\",\"label\":\"ham\"}\n{\"id\":\"r2\",\"text\":\"buy now\",\"label\":\"spam\"}\n",
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"id,text,label\nr1,\"hello, world\",ham\nr2,buy now,spam\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let gzp = write(
            &dir,
            "a.csv.gz",
            &gz.finish().unwrap_or_else(|e| panic!("{e}")),
        );
        for p in [csv, tsv, jsonl, gzp] {
            let r = read(&p, &spec("label", "text"), &Limits::default())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.rows, 2, "{}", p.display());
            assert_eq!(r.labels, vec!["ham", "spam"]);
            assert_eq!(r.ids, Some(vec!["r1".to_string(), "r2".to_string()]));
            assert_eq!(
                r.content,
                Content::Text(vec!["hello, world".into(), "buy now".into()])
            );
        }
    }

    #[test]
    fn bad_inputs_give_named_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let l = Limits::default();
        let ragged = write(&dir, "r.csv", b"text,label\na,b\nc,d,e\n");
        let e = read(&ragged, &spec("label", "text"), &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ragged") && e.contains("line 3"), "{e}");
        let nocol = write(&dir, "n.csv", b"text,label\na,b\n");
        let e = read(&nocol, &spec("klass", "text"), &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("no column named \"klass\"") && e.contains("text, label"),
            "{e}"
        );
        let empty = write(&dir, "e.csv", b"");
        let e = read(&empty, &spec("label", "text"), &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("empty"), "{e}");
        let header_only = write(&dir, "h.csv", b"text,label\n");
        let e = read(&header_only, &spec("label", "text"), &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("empty"), "{e}");
        let bad = write(&dir, "u.csv", b"text,label\nok,a\n\xff\xfe,b\n");
        let e = read(&bad, &spec("label", "text"), &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 3 is not valid UTF-8"), "{e}");
        let badj = write(
            &dir,
            "b.jsonl",
            b"{\"text\":\"a\",\"label\":\"x\"}\n[1,2]\n",
        );
        let e = read(&badj, &spec("label", "text"), &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 2") && e.contains("JSON object"), "{e}");
        let small = Limits {
            max_rows: 1,
            ..Limits::default()
        };
        let e = read(&nocol, &spec("label", "text"), &small);
        assert!(e.is_ok());
        let two = write(&dir, "two.csv", b"text,label\na,b\nc,d\n");
        let e = read(&two, &spec("label", "text"), &small)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("limit exceeded"), "{e}");
        let tiny = Limits {
            max_bytes: 8,
            ..Limits::default()
        };
        let e = read(&two, &spec("label", "text"), &tiny)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("byte limit"), "{e}");
        let num = write(&dir, "f.csv", b"a,b,label\n1,2,x\n3,oops,y\n");
        let s = Spec {
            label: Some("label".into()),
            features: Some(vec!["all".into()]),
            ..Spec::default()
        };
        let e = read(&num, &s, &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 3") && e.contains("\"b\""), "{e}");
    }

    #[test]
    fn chat_layouts_are_detected() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cases: [(&[u8], ChatLayout); 4] = [
            (b"{\"messages\":[{\"role\":\"system\",\"content\":\"be nice\"},{\"role\":\"user\",\"content\":\"hi?\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n", ChatLayout::OpenAiMessages),
            (b"{\"prompt\":\"hi?\",\"completion\":\"hello\"}\n", ChatLayout::PromptCompletion),
            (b"{\"instruction\":\"hi?\",\"input\":\"\",\"output\":\"hello\"}\n", ChatLayout::Alpaca),
            (b"{\"conversations\":[{\"from\":\"human\",\"value\":\"hi?\"},{\"from\":\"gpt\",\"value\":\"hello\"}]}\n", ChatLayout::ShareGpt),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let p = write(&dir, &format!("c{i}.jsonl"), bytes);
            let r =
                read(&p, &Spec::default(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
            match r.content {
                Content::Chat {
                    layout,
                    prompts,
                    responses,
                } => {
                    assert_eq!(layout, *want);
                    assert!(prompts[0].contains("hi?"));
                    assert_eq!(responses[0], "hello");
                }
                other => panic!("not chat: {other:?}"),
            }
        }
    }

    #[test]
    fn npy_roundtrip_and_garbage() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
        bytes.extend_from_slice(h.as_bytes());
        for v in [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.5] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let p = write(&dir, "x.npy", &bytes);
        let m = read_npy(&p, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.5]]);
        let cut = write(&dir, "y.npy", &bytes[..bytes.len() - 4]);
        assert!(read_npy(&cut, &Limits::default()).is_err());
        let junk = write(&dir, "z.npy", b"hello world, not numpy");
        assert!(read_npy(&junk, &Limits::default()).is_err());
    }
}

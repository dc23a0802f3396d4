//! JSON records: NDJSON (one object per line) or one JSON array of objects, told apart by
//! the first byte. A push decoder like the CSV one: bytes in, [`TextBatch`]es out.
//!
//! Every value becomes text for the same coercion CSV goes through: strings unescaped,
//! numbers exactly as written (no trip through f64, so `12345678901234567890.12` keeps its
//! digits), `true`/`false`, nested objects and arrays as their JSON text (for json/jsonb
//! columns), and `null` or a missing key as NULL. The columns are the keys seen in the
//! first batch of records, in order of first appearance.

mod record;
mod splitter;

use arrow_array::builder::StringBuilder;

use crate::{RecordReject, TextBatch};
use record::{Record, parse_record};
use splitter::{Splitter, Value};

/// Appends one JSON value (a record taken from a page, a batch or a message) to `out` as
/// an NDJSON line. A valid JSON text holds line breaks only between tokens (a string cannot
/// contain a raw one), so they become spaces and the value is exactly one line: its line
/// number is then its position among the records.
pub fn push_ndjson_line(out: &mut Vec<u8>, json: &str) {
    out.extend(
        json.bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    out.push(b'\n');
}

/// How the file is laid out and how much of it to hold at once.
#[derive(Debug, Clone)]
pub struct JsonOptions {
    /// A record larger than this is an error: it protects memory from a runaway string.
    pub max_record_bytes: usize,
    pub batch_rows: usize,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            max_record_bytes: 64 << 20,
            batch_rows: 16384,
        }
    }
}

/// Field bytes held before a batch is cut, whatever its row count.
const BATCH_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("line {line}: a JSON value longer than {limit} bytes (--max-line-bytes)")]
    TooLong { line: u64, limit: usize },
    #[error("line {line}: the JSON value that starts here is not complete at the end of the file")]
    Unterminated { line: u64 },
    #[error("the JSON array that starts on line {line} is not closed with ]")]
    UnclosedArray { line: u64 },
    #[error("line {line}: unexpected {found:?} after the end of the JSON array")]
    AfterArray { line: u64, found: char },
    #[error("line {line}: unexpected {found:?} between the records of a JSON array")]
    BetweenRecords { line: u64, found: char },
}

pub struct JsonDecoder {
    options: JsonOptions,
    splitter: Splitter,
    /// Column names, in order of first appearance.
    keys: Vec<String>,
    /// Column of each key, for wide records.
    key_index: std::collections::HashMap<String, usize>,
    frozen: bool,
    ended: bool,
    columns: Vec<StringBuilder>,
    lines: Vec<u64>,
    rejects: Vec<RecordReject>,
    held_bytes: usize,
    bytes_read: u64,
}

impl JsonDecoder {
    pub fn new(options: JsonOptions) -> Self {
        let splitter = Splitter::new(options.max_record_bytes);
        JsonDecoder {
            options,
            splitter,
            keys: Vec::new(),
            key_index: std::collections::HashMap::new(),
            frozen: false,
            ended: false,
            columns: Vec::new(),
            lines: Vec::new(),
            rejects: Vec::new(),
            held_bytes: 0,
            bytes_read: 0,
        }
    }

    /// Takes bytes until the batch is full; returns how many it took. Call [`flush`]
    /// when it took fewer than offered.
    ///
    /// [`flush`]: JsonDecoder::flush
    pub fn decode(&mut self, input: &[u8]) -> Result<usize, JsonError> {
        let mut pos = 0;
        while pos < input.len() && !self.is_full() {
            let (used, value) = self.splitter.feed(&input[pos..])?;
            pos += used;
            if let Some(value) = value {
                self.accept(value);
            }
        }
        self.bytes_read += pos as u64;
        Ok(pos)
    }

    /// The input ended: completes a last value (a number at the end of an NDJSON file).
    pub fn finish(&mut self) -> Result<(), JsonError> {
        self.ended = true;
        if let Some(value) = self.splitter.finish()? {
            self.accept(value);
        }
        Ok(())
    }

    /// Whether [`keys`](JsonDecoder::keys) is final: the first batch is full (or was
    /// flushed), or the input ended.
    pub fn columns_known(&self) -> bool {
        self.frozen || self.ended || self.is_full()
    }

    /// The column names so far. They are fixed by the first [`flush`](JsonDecoder::flush).
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    pub fn has_records(&self) -> bool {
        !self.lines.is_empty() || !self.rejects.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.lines.len() + self.rejects.len() >= self.options.batch_rows
            || self.held_bytes >= BATCH_BYTES
    }

    /// The records decoded so far as a batch; fixes the columns.
    pub fn flush(&mut self) -> Option<TextBatch> {
        self.frozen = true;
        if !self.has_records() {
            return None;
        }
        let columns = self.columns.iter_mut().map(|c| c.finish()).collect();
        self.held_bytes = 0;
        Some(TextBatch {
            columns,
            lines: std::mem::take(&mut self.lines),
            rejects: std::mem::take(&mut self.rejects),
            bytes_read: self.bytes_read,
        })
    }

    fn accept(&mut self, value: Value) {
        let record = match parse_record(&value.bytes) {
            Ok(r) => r,
            Err(reason) => return self.reject(&value, reason),
        };
        // The column of each key, and which columns the record fills.
        let mut slots: Vec<usize> = Vec::with_capacity(record.len());
        let mut filled = vec![false; self.columns.len()];
        for (key, _) in &record {
            let col = match self.key_index.get(key.as_ref()).copied() {
                Some(c) => c,
                None if self.frozen => {
                    return self.reject(
                        &value,
                        format!(
                            "key {key:?} is not among the keys of the first records, which set the columns; put it in the first record, or load without it"
                        ),
                    );
                }
                None => {
                    self.keys.push(key.to_string());
                    self.key_index.insert(key.to_string(), self.keys.len() - 1);
                    let mut b = StringBuilder::new();
                    for _ in 0..self.lines.len() {
                        b.append_null();
                    }
                    self.columns.push(b);
                    filled.push(false);
                    self.keys.len() - 1
                }
            };
            if filled[col] {
                return self.reject(&value, format!("key {key:?} appears twice in the record"));
            }
            filled[col] = true;
            slots.push(col);
        }
        self.append(record, &slots, &filled);
        self.lines.push(value.line);
    }

    fn append(&mut self, record: Record<'_>, slots: &[usize], filled: &[bool]) {
        for ((_, text), &c) in record.into_iter().zip(slots) {
            match text {
                Some(t) => {
                    self.held_bytes += t.len();
                    self.columns[c].append_value(t);
                }
                None => self.columns[c].append_null(),
            }
        }
        for (c, done) in filled.iter().enumerate() {
            if !done {
                self.columns[c].append_null();
            }
        }
    }

    fn reject(&mut self, value: &Value, reason: String) {
        const SHOWN: usize = 1024;
        let raw = String::from_utf8_lossy(&value.bytes[..value.bytes.len().min(SHOWN)]);
        self.held_bytes += raw.len();
        self.rejects.push(RecordReject {
            column: None,
            line: value.line,
            reason,
            raw: raw.into_owned(),
        });
    }
}

#[cfg(test)]
mod tests;

//! Tokenising with csv-core and handling each record it completes: line numbers, the
//! record size limit, the header, NULL markers and records with the wrong number of fields.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use crate::csv::columns::Batch;
use crate::csv::line_counter::LineCounter;
use crate::csv::quote_scan::{Quoting, ends_inside_quotes, quoted_fields};
use crate::csv::record::{TextFault, check_text, header_names, join_raw};
use crate::csv::{CsvError, CsvOptions};
use crate::{RecordReject, TextBatch};

/// A batch is also full once it holds this many field bytes, whatever `batch_rows` says:
/// with several batches in flight between the stages, this is what keeps memory flat for
/// wide rows (3,000 rows of 100 KB peaked at 588 MB with 256 MiB batches).
const BATCH_BYTES_LIMIT: usize = 4 << 20;
/// `max_record_bytes` is capped so that a column of a batch (at most `BATCH_BYTES_LIMIT`
/// plus one record) always fits `StringArray`'s `i32` offsets.
const RECORD_BYTES_CAP: usize = 1 << 30;

/// Tokenising and record handling, over UTF-8 (or, unvalidated, the raw source).
pub(super) struct Core {
    reader: Reader,
    quoting: Quoting,
    /// Whether a record's fields must be checked for invalid UTF-8 and for a character split
    /// between two fields (see `CsvDecoder::new`); NUL bytes are checked either way.
    check_utf8: bool,
    has_header: bool,
    /// The NULL marker (`CsvOptions::null`).
    null: Option<Vec<u8>>,
    max_record_bytes: usize,
    batch_rows: usize,
    header: Option<Vec<String>>,
    /// The line of the next byte handed to csv-core (whose own `line()` counts LF only).
    lines: LineCounter,
    rec: RecordBuf,
    batch: Batch,
}

/// The record in progress: csv-core's output for it, and where it started.
struct RecordBuf {
    /// Unescaped field bytes, fields back to back (`out[..out_len]`).
    out: Vec<u8>,
    out_len: usize,
    /// End offset in `out` of each field read (`ends[..ends_len]`).
    ends: Vec<usize>,
    ends_len: usize,
    /// Whether the record's first byte has been consumed (blank lines before it are not
    /// part of it).
    started: bool,
    /// 1-based line of the record's first byte.
    line: u64,
    /// Bytes consumed since the record's first byte.
    bytes: usize,
    /// The record's raw bytes consumed by earlier calls (only kept while the record spans
    /// calls; it is bounded by `max_record_bytes`), to detect an unterminated quote at EOF.
    raw: Vec<u8>,
}

impl RecordBuf {
    fn new() -> Self {
        RecordBuf {
            out: vec![0; 16 << 10],
            out_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            started: false,
            line: 0,
            bytes: 0,
            raw: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.out_len = 0;
        self.ends_len = 0;
        self.started = false;
        self.bytes = 0;
        self.raw.clear();
    }
}

impl Core {
    /// A tokeniser for `quoting`, with the header, NULL marker and limits of `options`;
    /// `check_utf8` is decided by `CsvDecoder::new` (see the field).
    pub(super) fn new(quoting: Quoting, check_utf8: bool, options: CsvOptions) -> Self {
        let reader = ReaderBuilder::new()
            .delimiter(quoting.delimiter)
            .quote(quoting.quote)
            .escape(quoting.escape)
            .double_quote(quoting.double_quote)
            .build();
        Core {
            reader,
            quoting,
            check_utf8,
            has_header: options.has_header,
            null: options.null.map(String::into_bytes),
            max_record_bytes: options.max_record_bytes.min(RECORD_BYTES_CAP),
            batch_rows: options.batch_rows.max(1),
            header: None,
            lines: LineCounter::new(),
            rec: RecordBuf::new(),
            batch: Batch::new(),
        }
    }

    /// The header's field names once read (see `CsvDecoder::header`).
    pub(super) fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    /// The records and rejects decoded so far (see `CsvDecoder::flush`).
    pub(super) fn take_batch(&mut self, bytes_read: u64) -> Option<TextBatch> {
        self.batch.take(bytes_read)
    }

    pub(super) fn is_full(&self) -> bool {
        self.batch.len() >= self.batch_rows || self.batch.bytes >= BATCH_BYTES_LIMIT
    }

    /// Feeds `data` (never empty input to csv-core: that means EOF) and handles each record
    /// completed. With `respect_full`, stops before a record when the batch is full. Returns
    /// the bytes consumed.
    pub(super) fn tokenize(&mut self, data: &[u8], respect_full: bool) -> Result<usize, CsvError> {
        let mut pos = 0;
        // Where the record in progress starts in `data` (0 if it started in an earlier call).
        let mut raw_from = 0;
        while pos < data.len() {
            if respect_full && self.is_full() {
                break;
            }
            let rec = &mut self.rec;
            let (res, nin, nout, nend) = self.reader.read_record(
                &data[pos..],
                &mut rec.out[rec.out_len..],
                &mut rec.ends[rec.ends_len..],
            );
            let consumed = &data[pos..pos + nin];
            if rec.started {
                rec.bytes += nin;
                self.lines.advance(consumed);
            } else if let Some(i) = consumed.iter().position(|&b| b != b'\r' && b != b'\n') {
                // csv-core skips line terminators before a record (blank lines, and the LF of
                // a CRLF that ended the previous record): the record starts after them.
                rec.started = true;
                self.lines.advance(&consumed[..i]);
                rec.line = self.lines.line;
                self.lines.advance(&consumed[i..]);
                rec.bytes = nin - i;
                raw_from = pos + i;
            } else {
                self.lines.advance(consumed);
            }
            pos += nin;
            rec.out_len += nout;
            rec.ends_len += nend;
            // A completed record's last byte is its terminator, which does not count.
            let content = rec
                .bytes
                .saturating_sub(usize::from(res == ReadRecordResult::Record));
            if rec.started && content > self.max_record_bytes {
                return Err(CsvError::RecordTooLarge {
                    line: rec.line,
                    limit: self.max_record_bytes,
                });
            }
            match res {
                ReadRecordResult::InputEmpty => {
                    if rec.started {
                        rec.raw.extend_from_slice(&data[raw_from..pos]);
                    }
                }
                ReadRecordResult::OutputFull => {
                    let len = rec.out.len();
                    rec.out.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = rec.ends.len();
                    rec.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => {
                    self.end_record(false, &data[raw_from..pos])?;
                    raw_from = pos;
                }
                ReadRecordResult::End => break,
            }
        }
        Ok(pos)
    }

    /// Tells csv-core the input ended, completing a last record without a terminator.
    pub(super) fn finish_records(&mut self) -> Result<(), CsvError> {
        loop {
            let rec = &mut self.rec;
            let (res, _, _, nend) = self.reader.read_record(
                &[],
                &mut rec.out[rec.out_len..],
                &mut rec.ends[rec.ends_len..],
            );
            rec.ends_len += nend;
            match res {
                ReadRecordResult::Record => self.end_record(true, &[])?,
                ReadRecordResult::OutputEndsFull => {
                    let len = rec.ends.len();
                    rec.ends.resize(len * 2, 0);
                }
                ReadRecordResult::End
                | ReadRecordResult::InputEmpty
                | ReadRecordResult::OutputFull => return Ok(()),
            }
        }
    }

    /// Handles the record csv-core just completed (`at_eof`: completed by the end of input,
    /// with `rec.raw` holding all its bytes; otherwise its raw bytes are `rec.raw` followed
    /// by `tail`).
    fn end_record(&mut self, at_eof: bool, tail: &[u8]) -> Result<(), CsvError> {
        let Core {
            quoting,
            check_utf8,
            has_header,
            null,
            header,
            lines,
            rec,
            batch,
            ..
        } = self;
        let line = if rec.started { rec.line } else { lines.line };
        if at_eof && ends_inside_quotes(&rec.raw, *quoting) {
            return Err(CsvError::UnterminatedQuote { line });
        }
        let data = &rec.out[..rec.out_len];
        let ends = &rec.ends[..rec.ends_len];
        match check_text(data, ends, *check_utf8) {
            Ok(()) => {}
            // A NUL inside a field of a data record rejects that record; in the header (a
            // file in UTF-16 read as UTF-8 is NULs throughout) it fails the file.
            Err(TextFault::Nul { field }) if header.is_some() => {
                let names = header.as_deref().unwrap_or_default();
                let column = names
                    .get(field)
                    .cloned()
                    .unwrap_or_else(|| format!("column_{}", field + 1));
                let start = field.checked_sub(1).map_or(0, |f| ends[f]);
                batch.rejects.push(RecordReject {
                    column: Some(column),
                    line,
                    reason: "NUL byte in the value; PostgreSQL text cannot hold it".into(),
                    raw: String::from_utf8_lossy(&data[start..ends[field]]).into_owned(),
                });
                rec.reset();
                return Ok(());
            }
            Err(fault) => return Err(fault.into_error(line, header.as_deref())),
        }

        match header {
            None if *has_header => {
                let names = header_names(data, ends)?;
                batch.set_width(names.len());
                *header = Some(names);
                rec.reset();
                return Ok(());
            }
            None => {
                let names = (1..=ends.len()).map(|i| format!("column_{i}")).collect();
                batch.set_width(ends.len());
                *header = Some(names);
            }
            Some(_) => {}
        }

        let ncols = batch.columns.len();
        if ends.len() == ncols {
            let null = null.as_deref();
            // Fields equal to the NULL marker that were quoted, and so are not NULL. Only
            // looked for when the record has a quote and a field equal to the marker.
            let mut quoted = Vec::new();
            let has_quote = |raw: &[u8]| memchr::memchr(quoting.quote, raw).is_some();
            if let Some(marker) = null
                && (has_quote(&rec.raw) || has_quote(tail))
            {
                let mut start = 0;
                let any = ends.iter().any(|&end| {
                    let hit = &data[start..end] == marker;
                    start = end;
                    hit
                });
                if any {
                    quoted_fields(rec.raw.iter().chain(tail), *quoting, |i| quoted.push(i));
                }
            }
            let mut start = 0;
            for (i, (column, &end)) in batch.columns.iter_mut().zip(ends).enumerate() {
                let field = &data[start..end];
                if null == Some(field) && !quoted.contains(&i) {
                    column.push_null();
                } else {
                    column.push(field);
                }
                start = end;
            }
            batch.bytes += data.len();
            batch.lines.push(line);
        } else if ends.len() == 1 && data.is_empty() {
            // An empty line (e.g. `""`): skipped, as csv-core skips truly blank lines.
        } else {
            batch.rejects.push(RecordReject {
                column: None,
                line,
                reason: format!("expected {ncols} fields, found {}", ends.len()),
                raw: join_raw(data, ends, quoting.delimiter),
            });
        }
        rec.reset();
        Ok(())
    }
}

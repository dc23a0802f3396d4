use std::collections::HashMap;

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use encoding_rs::{CoderResult, Decoder as Transcoder, UTF_8};

use crate::csv::columns::Batch;
use crate::csv::quote_scan::{Quoting, ends_inside_quotes, quoted_fields};
use crate::csv::{CsvError, CsvOptions};
use crate::sniff::UTF8_BOM;
use crate::{RecordReject, TextBatch};

/// UTF-8 produced per transcoding step. After `finish`, the last batch may exceed
/// `batch_rows` by the records of at most one such step (see `CsvDecoder::finish`).
const TRANSCODE_CHUNK: usize = 32 << 10;
/// A batch is also full once it holds this many field bytes, whatever `batch_rows` says:
/// with several batches in flight between the stages, this is what keeps memory flat for
/// wide rows (3,000 rows of 100 KB peaked at 588 MB with 256 MiB batches).
const BATCH_BYTES_LIMIT: usize = 4 << 20;
/// `max_record_bytes` is capped so that a column of a batch (at most `BATCH_BYTES_LIMIT`
/// plus one record) always fits `StringArray`'s `i32` offsets.
const RECORD_BYTES_CAP: usize = 1 << 30;
/// How much of a rejected record is kept in `RecordReject::raw`.
const REJECT_RAW_LIMIT: usize = 1024;

/// A push decoder for delimited text.
///
/// Feed bytes with [`decode`](Self::decode) until it takes fewer than offered (the batch is
/// full) or the input ends; call [`finish`](Self::finish) once at the end of input; take
/// records with [`flush`](Self::flush).
///
/// Records are split by `csv-core` (CR, LF and CRLF all end a record; blank lines are
/// skipped). Line numbers count the same three line breaks, a CRLF as one, inside quoted
/// fields too, so a CR-only file (old Mac, Excel's "CSV (Macintosh)") is numbered as an editor
/// shows it. With an `escape` byte, quotes inside quoted fields are escaped with it and not by
/// doubling. Every field is checked as it is read: invalid UTF-8, a NUL byte or a record over
/// `max_record_bytes` is an error from `decode` (or `finish`), and the decoder then keeps
/// returning that error.
pub struct CsvDecoder {
    core: Core,
    /// `Some` when the source is transcoded to UTF-8 before tokenising.
    transcode: Option<Transcode>,
    /// UTF-8 source only: how many bytes of a leading BOM have been seen (3 once decided).
    bom_matched: usize,
    bom_done: bool,
    bytes_read: u64,
    finished: bool,
    failed: Option<CsvError>,
}

/// The source decoder and the UTF-8 it produced that is not tokenised yet.
struct Transcode {
    decoder: Transcoder,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

/// Tokenising and record handling, over UTF-8 (or, unvalidated, the raw source).
struct Core {
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

/// Line numbering as an editor shows it: LF, CRLF and a CR not followed by LF each end a line.
/// The input comes in pieces, so a CR is counted as soon as it is seen and an LF only when the
/// byte before it (maybe at the end of the previous piece) was not a CR.
#[derive(Debug, Clone, Copy)]
struct LineCounter {
    /// 1-based line of the next byte.
    line: u64,
    /// Whether the last byte counted was a CR.
    after_cr: bool,
}

impl LineCounter {
    fn new() -> Self {
        LineCounter {
            line: 1,
            after_cr: false,
        }
    }

    fn advance(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            let after_cr = match i {
                0 => self.after_cr,
                _ => bytes[i - 1] == b'\r',
            };
            if bytes[i] == b'\r' || !after_cr {
                self.line += 1;
            }
        }
        self.after_cr = last == b'\r';
    }
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

impl CsvDecoder {
    pub fn new(options: CsvOptions) -> Self {
        // A quote that escapes itself is the doubling rule.
        let escape = options.escape.filter(|&e| e != options.quote);
        let quoting = Quoting {
            delimiter: options.delimiter,
            quote: options.quote,
            escape,
            double_quote: escape.is_none(),
        };
        let reader = ReaderBuilder::new()
            .delimiter(quoting.delimiter)
            .quote(quoting.quote)
            .escape(quoting.escape)
            .double_quote(quoting.double_quote)
            .build();
        // UTF-8 named explicitly is read as if unnamed: validated, not repaired.
        let transcode = options
            .encoding
            .filter(|&enc| enc != UTF_8)
            .map(|enc| Transcode {
                decoder: enc.new_decoder_with_bom_removal(),
                buf: vec![0; TRANSCODE_CHUNK],
                pos: 0,
                len: 0,
            });
        // Transcoded input is valid UTF-8, and csv-core only removes or splits at the
        // delimiter, quote, escape and line-break bytes: when those are ASCII they are never
        // part of a multi-byte character, so the fields are valid UTF-8 as they are. Raw input
        // is checked as a whole and at every field boundary (ASCII delimiters do not stop
        // `\xC3,\xA9` from reading as "é" once the fields are put back to back).
        let ascii_syntax = quoting.delimiter.is_ascii()
            && quoting.quote.is_ascii()
            && quoting.escape.is_none_or(|e| e.is_ascii());
        let check_utf8 = transcode.is_none() || !ascii_syntax;
        CsvDecoder {
            core: Core {
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
            },
            transcode,
            bom_matched: 0,
            bom_done: false,
            bytes_read: 0,
            finished: false,
            failed: None,
        }
    }

    /// The header's field names once read (or `column_1..column_n` without a header, once
    /// the first record is read). `None` until then.
    pub fn header(&self) -> Option<&[String]> {
        self.core.header.as_deref()
    }

    /// Takes bytes from `input`; returns how many were consumed. Returns fewer than
    /// `input.len()` only when the current batch is full: flush, then call again.
    ///
    /// With a source encoding other than UTF-8, the count is of source bytes handed to the
    /// transcoder, some of which may still wait, as UTF-8, for the next batch.
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish).
    pub fn decode(&mut self, input: &[u8]) -> Result<usize, CsvError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        assert!(!self.finished, "CsvDecoder::decode called after finish");
        let result = match &mut self.transcode {
            Some(t) => decode_transcoded(&mut self.core, t, input),
            None => self.decode_utf8(input),
        };
        match result {
            Ok(n) => {
                self.bytes_read += n as u64;
                Ok(n)
            }
            Err(err) => {
                self.failed = Some(err.clone());
                Err(err)
            }
        }
    }

    /// Marks the end of input: completes a last record without a trailing newline and
    /// reports an unterminated quote or an empty file.
    ///
    /// The records it completes join the current batch even if it is full: one record for
    /// UTF-8 input, and with another encoding at most the records of the last transcoded
    /// chunk (32 KiB), so the last batch may exceed `batch_rows` slightly.
    pub fn finish(&mut self) -> Result<(), CsvError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let result = self.finish_inner();
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// The records decoded so far (possibly none), or `None` when there is nothing at all
    /// (no records and no rejects).
    pub fn flush(&mut self) -> Result<Option<TextBatch>, CsvError> {
        Ok(self.core.batch.take(self.bytes_read))
    }

    fn decode_utf8(&mut self, input: &[u8]) -> Result<usize, CsvError> {
        let mut pos = 0;
        if !self.bom_done {
            while pos < input.len()
                && self.bom_matched < UTF8_BOM.len()
                && input[pos] == UTF8_BOM[self.bom_matched]
            {
                self.bom_matched += 1;
                pos += 1;
            }
            if self.bom_matched == UTF8_BOM.len() {
                self.bom_done = true;
            } else if pos < input.len() {
                // Not a BOM after all.
                self.release_held_bom()?;
            } else {
                // Everything so far may be the start of a BOM.
                return Ok(pos);
            }
        }
        pos += self.core.tokenize(&input[pos..], true)?;
        Ok(pos)
    }

    /// Decides that the leading bytes held back as a possible BOM are data, and tokenises
    /// them (they cannot end a record, so the batch cannot fill here).
    fn release_held_bom(&mut self) -> Result<(), CsvError> {
        self.bom_done = true;
        self.core.tokenize(&UTF8_BOM[..self.bom_matched], false)?;
        Ok(())
    }

    fn finish_inner(&mut self) -> Result<(), CsvError> {
        match &mut self.transcode {
            Some(t) => {
                if t.pos < t.len {
                    self.core.tokenize(&t.buf[t.pos..t.len], false)?;
                    t.pos = t.len;
                }
                loop {
                    let (res, _, written, _) = t.decoder.decode_to_utf8(&[], &mut t.buf, true);
                    self.core.tokenize(&t.buf[..written], false)?;
                    if res == CoderResult::InputEmpty {
                        break;
                    }
                }
            }
            None => {
                if !self.bom_done {
                    // A file shorter than a BOM that starts like one.
                    self.release_held_bom()?;
                }
            }
        }
        self.core.finish_records()?;
        if self.core.header.is_none() {
            return Err(CsvError::Empty);
        }
        Ok(())
    }
}

/// Transcodes `input` step by step and tokenises the UTF-8, leaving what does not fit in the
/// batch in `t.buf` for the next call.
fn decode_transcoded(core: &mut Core, t: &mut Transcode, input: &[u8]) -> Result<usize, CsvError> {
    let mut src = 0;
    loop {
        if t.pos < t.len {
            t.pos += core.tokenize(&t.buf[t.pos..t.len], true)?;
            if t.pos < t.len {
                break; // the batch is full
            }
        }
        if src == input.len() || core.is_full() {
            break;
        }
        let (_, read, written, _) = t.decoder.decode_to_utf8(&input[src..], &mut t.buf, false);
        src += read;
        t.pos = 0;
        t.len = written;
        if read == 0 && written == 0 {
            debug_assert!(false, "the transcoder made no progress");
            break;
        }
    }
    Ok(src)
}

impl Core {
    fn is_full(&self) -> bool {
        self.batch.len() >= self.batch_rows || self.batch.bytes >= BATCH_BYTES_LIMIT
    }

    /// Feeds `data` (never empty input to csv-core: that means EOF) and handles each record
    /// completed. With `respect_full`, stops before a record when the batch is full. Returns
    /// the bytes consumed.
    fn tokenize(&mut self, data: &[u8], respect_full: bool) -> Result<usize, CsvError> {
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
    fn finish_records(&mut self) -> Result<(), CsvError> {
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
        check_text(data, ends, *check_utf8)
            .map_err(|fault| fault.into_error(line, header.as_deref()))?;

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
                line,
                reason: format!("expected {ncols} fields, found {}", ends.len()),
                raw: join_raw(data, ends, quoting.delimiter),
            });
        }
        rec.reset();
        Ok(())
    }
}

/// What is wrong with a record's text: the field (0-based) and, for UTF-8, the first bad byte.
enum TextFault {
    Utf8 { field: usize, byte: u8 },
    Nul { field: usize },
}

impl TextFault {
    fn into_error(self, line: u64, header: Option<&[String]>) -> CsvError {
        let name = |field: usize| match header.and_then(|h| h.get(field)) {
            Some(name) => name.clone(),
            None => format!("column_{}", field + 1),
        };
        match self {
            TextFault::Utf8 { field, byte } => CsvError::InvalidUtf8 {
                line,
                column: name(field),
                byte,
            },
            TextFault::Nul { field } => CsvError::NulByte {
                line,
                column: name(field),
            },
        }
    }
}

/// Checks that each field of a record is valid UTF-8 without NUL bytes: the fields back to
/// back must be valid UTF-8 and each field boundary a char boundary. Without `check_utf8`
/// (the fields are known to be valid UTF-8), only NUL bytes are looked for.
fn check_text(data: &[u8], ends: &[usize], check_utf8: bool) -> Result<(), TextFault> {
    let field_of = |pos: usize| ends.partition_point(|&end| end <= pos);
    if check_utf8 {
        if let Err(err) = std::str::from_utf8(data) {
            let pos = err.valid_up_to();
            return Err(TextFault::Utf8 {
                field: field_of(pos),
                byte: data[pos],
            });
        }
        let is_continuation = |b: u8| b & 0xC0 == 0x80;
        for &end in ends {
            if end < data.len() && is_continuation(data[end]) {
                // A character split between two fields: report its lead byte.
                let mut pos = end;
                while pos > 0 && is_continuation(data[pos]) {
                    pos -= 1;
                }
                return Err(TextFault::Utf8 {
                    field: field_of(pos),
                    byte: data[pos],
                });
            }
        }
    } else {
        debug_assert!(
            std::str::from_utf8(data).is_ok()
                && ends
                    .iter()
                    .all(|&end| end >= data.len() || data[end] & 0xC0 != 0x80),
            "fields assumed valid UTF-8 are not"
        );
    }
    if let Some(pos) = memchr::memchr(0, data) {
        return Err(TextFault::Nul {
            field: field_of(pos),
        });
    }
    Ok(())
}

/// The header's names, trimmed; empty or (case-insensitively) repeated names are errors.
fn header_names(data: &[u8], ends: &[usize]) -> Result<Vec<String>, CsvError> {
    let mut names = Vec::with_capacity(ends.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(ends.len());
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        let position = i + 1;
        // Valid UTF-8 (see `check_text`).
        let name = String::from_utf8_lossy(&data[start..end]);
        start = end;
        let name = name.trim();
        if name.is_empty() {
            return Err(CsvError::EmptyHeader { index: position });
        }
        if let Some(&first) = seen.get(&name.to_lowercase()) {
            return Err(CsvError::DuplicateHeader {
                name: name.to_owned(),
                first,
                second: position,
            });
        }
        seen.insert(name.to_lowercase(), position);
        names.push(name.to_owned());
    }
    Ok(names)
}

/// A rejected record's fields joined by the delimiter, cut to about `REJECT_RAW_LIMIT` bytes.
fn join_raw(data: &[u8], ends: &[usize], delimiter: u8) -> String {
    let mut raw = Vec::with_capacity((data.len() + ends.len()).min(REJECT_RAW_LIMIT + 4));
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        if raw.len() > REJECT_RAW_LIMIT {
            break;
        }
        if i > 0 {
            raw.push(delimiter);
        }
        let take = end.min(start + REJECT_RAW_LIMIT + 4);
        raw.extend_from_slice(&data[start..take]);
        start = end;
    }
    let truncated = raw.len() > REJECT_RAW_LIMIT;
    if truncated {
        let mut cut = REJECT_RAW_LIMIT;
        while cut > 0 && raw[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        raw.truncate(cut);
    }
    let mut raw = String::from_utf8_lossy(&raw).into_owned();
    if truncated {
        raw.push('…');
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::{CsvDecoder, LineCounter};
    use crate::csv::{CsvError, CsvOptions};

    /// Transcoded input skips the UTF-8 checks only when the syntax bytes are ASCII: a
    /// non-ASCII delimiter matches inside the UTF-8 of a character and splits it.
    #[test]
    fn transcoded_with_non_ascii_delimiter_is_still_checked() {
        let decode = |delimiter: u8| {
            let mut decoder = CsvDecoder::new(CsvOptions {
                delimiter,
                encoding: Some(encoding_rs::WINDOWS_1252),
                ..CsvOptions::default()
            });
            // "a§b": '§' is 0xA7 in Windows-1252 and C2 A7 in UTF-8.
            decoder.decode(b"a\xa7b\n").and_then(|_| decoder.finish())
        };
        assert_eq!(
            decode(0xA7),
            Err(CsvError::InvalidUtf8 {
                line: 1,
                column: "column_1".into(),
                byte: 0xC2
            })
        );
        assert_eq!(decode(b','), Ok(()));
    }

    /// The line after feeding `pieces` one after another.
    fn line_after(pieces: &[&[u8]]) -> u64 {
        let mut counter = LineCounter::new();
        for piece in pieces {
            counter.advance(piece);
        }
        counter.line
    }

    #[test]
    fn line_breaks() {
        assert_eq!(line_after(&[b""]), 1);
        assert_eq!(line_after(&[b"a\nb\n"]), 3);
        assert_eq!(line_after(&[b"a\r\nb\r\n"]), 3);
        assert_eq!(line_after(&[b"a\rb\r"]), 3);
        assert_eq!(line_after(&[b"\r\r\n\n\r"]), 5);
        assert_eq!(line_after(&[b"\n\r"]), 3);
    }

    #[test]
    fn crlf_split_between_pieces() {
        assert_eq!(line_after(&[b"a\r", b"\nb"]), 2);
        assert_eq!(line_after(&[b"a\r", b"", b"\nb"]), 2);
        assert_eq!(line_after(&[b"a\r", b"b\n"]), 3);
        assert_eq!(line_after(&[b"\r", b"\r", b"\n", b"\n"]), 4);
        assert_eq!(line_after(&[b"\n", b"\n"]), 3);
    }
}

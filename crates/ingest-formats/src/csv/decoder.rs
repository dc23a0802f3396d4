//! The public push decoder: a leading UTF-8 BOM, transcoding from other encodings, and the
//! error and end-of-input bookkeeping around the tokeniser (`tokenizer::Core`).

use encoding_rs::{CoderResult, Decoder as Transcoder, UTF_8};

use crate::TextBatch;
use crate::csv::quote_scan::Quoting;
use crate::csv::tokenizer::Core;
use crate::csv::{CsvError, CsvOptions};
use crate::sniff::UTF8_BOM;

/// UTF-8 produced per transcoding step. After `finish`, the last batch may exceed
/// `batch_rows` by the records of at most one such step (see `CsvDecoder::finish`).
const TRANSCODE_CHUNK: usize = 32 << 10;

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
            core: Core::new(quoting, check_utf8, options),
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
        self.core.header()
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
        Ok(self.core.take_batch(self.bytes_read))
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
        if self.core.header().is_none() {
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

#[cfg(test)]
mod tests {
    use super::CsvDecoder;
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
}

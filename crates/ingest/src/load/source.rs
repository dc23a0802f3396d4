//! Stage one: bytes from a reader, split into batches of text records.

use std::io::Read;

use ingest_formats::TextBatch;
use ingest_formats::csv::{CsvDecoder, CsvError, CsvOptions};

/// Bytes read from the source per `read` call.
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A delimited-text source: a reader and the push decoder it feeds.
pub struct CsvSource {
    reader: Box<dyn Read + Send>,
    decoder: CsvDecoder,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    finished: bool,
}

impl CsvSource {
    pub fn new(reader: Box<dyn Read + Send>, options: CsvOptions) -> Self {
        CsvSource {
            reader,
            decoder: CsvDecoder::new(options),
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            finished: false,
        }
    }

    /// Reads until the header (or, without one, the first record) is known. `None` for an
    /// empty file.
    pub fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        while self.decoder.header().is_none() && !self.finished {
            self.step()?;
        }
        Ok(self.decoder.header().map(<[String]>::to_vec))
    }

    /// The next batch of records, `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<TextBatch>, SourceError> {
        loop {
            if self.finished {
                return Ok(self.decoder.flush()?);
            }
            if self.step()?
                && let Some(batch) = self.decoder.flush()?
            {
                return Ok(Some(batch));
            }
        }
    }

    /// Feeds the decoder once; true when it is full and must be flushed.
    fn step(&mut self) -> Result<bool, SourceError> {
        if self.pos == self.len {
            self.len = loop {
                match self.reader.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            self.pos = 0;
            if self.len == 0 {
                match self.decoder.finish() {
                    Ok(()) => {}
                    // An empty file has no header: say so through `header()`.
                    Err(CsvError::Empty) => {}
                    Err(e) => return Err(e.into()),
                }
                self.finished = true;
                return Ok(false);
            }
        }
        let n = self.decoder.decode(&self.buf[self.pos..self.len])?;
        self.pos += n;
        Ok(self.pos < self.len)
    }
}

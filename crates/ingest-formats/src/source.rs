//! What every reader gives a load: a [`RecordSource`] hands out its header, then batches of
//! text fields ([`TextBatch`]) or typed Arrow columns ([`TypedBatch`]). [`StreamSource`]
//! drives a push decoder (CSV, JSON) from a byte stream.

use std::io::Read;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};

use crate::compression::ByteCounter;
use crate::csv::{CsvDecoder, CsvError, CsvOptions};
use crate::json::{JsonDecoder, JsonError, JsonOptions};
use crate::text_batch::TextBatch;

/// Bytes read from the source per `read` call.
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("Parquet: {0}")]
    Parquet(String),
    #[error("Avro: {0}")]
    Avro(String),
    #[error("xlsx: {0}")]
    Xlsx(#[from] crate::xlsx::XlsxError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The next file of a multi-file source failed to open (the opener's own error, which
    /// the caller downcasts back).
    #[error(transparent)]
    Next(Box<dyn std::error::Error + Send + Sync>),
}

/// What stage one hands on: text fields to parse, or typed columns to cast.
#[derive(Debug)]
pub enum SourceBatch {
    Text(TextBatch),
    Typed(TypedBatch),
}

/// Columns read from a typed format (Parquet, Avro), in the order of `header()`.
#[derive(Debug)]
pub struct TypedBatch {
    pub columns: Vec<ArrayRef>,
    /// The 1-based row number of the first row in the file.
    pub first_row: u64,
    /// Source bytes read so far, for progress.
    pub bytes_read: u64,
}

impl TypedBatch {
    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.len())
    }
}

/// What stage one reads from, whatever the format.
pub trait RecordSource: Send {
    /// The column names, read as far as needed to know them; `None` for an empty input.
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError>;
    /// The Arrow type of each column, for a typed format (known before any row is read).
    fn column_types(&self) -> Option<Vec<DataType>> {
        None
    }
    /// The next batch, `None` at the end.
    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError>;
    /// The file the last batch came from, when a load reads several.
    fn current_file(&self) -> Option<std::sync::Arc<str>> {
        None
    }
}

/// A decoder fed slices of bytes that yields text batches (CSV, JSON).
pub trait PushDecoder: Send {
    fn decode(&mut self, input: &[u8]) -> Result<usize, SourceError>;
    /// The input ended.
    fn finish(&mut self) -> Result<(), SourceError>;
    fn flush(&mut self) -> Result<Option<TextBatch>, SourceError>;
    /// The column names, once they are known.
    fn header(&self) -> Option<Vec<String>>;
}

impl PushDecoder for CsvDecoder {
    fn decode(&mut self, input: &[u8]) -> Result<usize, SourceError> {
        Ok(CsvDecoder::decode(self, input)?)
    }
    fn finish(&mut self) -> Result<(), SourceError> {
        match CsvDecoder::finish(self) {
            // An empty file has no header: say so through `header()`.
            Ok(()) | Err(CsvError::Empty) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
    fn flush(&mut self) -> Result<Option<TextBatch>, SourceError> {
        Ok(CsvDecoder::flush(self)?)
    }
    fn header(&self) -> Option<Vec<String>> {
        CsvDecoder::header(self).map(<[String]>::to_vec)
    }
}

/// JSON's columns are the keys of its first batch of records, so they are known once that
/// batch is full or the input ended.
impl PushDecoder for JsonDecoder {
    fn decode(&mut self, input: &[u8]) -> Result<usize, SourceError> {
        Ok(JsonDecoder::decode(self, input)?)
    }
    fn finish(&mut self) -> Result<(), SourceError> {
        Ok(JsonDecoder::finish(self)?)
    }
    fn flush(&mut self) -> Result<Option<TextBatch>, SourceError> {
        Ok(JsonDecoder::flush(self))
    }
    fn header(&self) -> Option<Vec<String>> {
        let any = self.has_records() || !self.keys().is_empty();
        (self.columns_known() && any).then(|| self.keys().to_vec())
    }
}

/// A byte stream and the push decoder it feeds.
pub struct StreamSource<D> {
    reader: Box<dyn Read + Send>,
    decoder: D,
    /// Bytes read from storage (before decompression), reported as progress.
    raw_bytes: ByteCounter,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    finished: bool,
}

pub fn csv_source(
    reader: Box<dyn Read + Send>,
    options: CsvOptions,
    raw_bytes: ByteCounter,
) -> StreamSource<CsvDecoder> {
    StreamSource::new(reader, CsvDecoder::new(options), raw_bytes)
}

pub fn json_source(
    reader: Box<dyn Read + Send>,
    options: JsonOptions,
    raw_bytes: ByteCounter,
) -> StreamSource<JsonDecoder> {
    StreamSource::new(reader, JsonDecoder::new(options), raw_bytes)
}

impl<D: PushDecoder> StreamSource<D> {
    fn new(reader: Box<dyn Read + Send>, decoder: D, raw_bytes: ByteCounter) -> Self {
        StreamSource {
            reader,
            decoder,
            raw_bytes,
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            finished: false,
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
                self.decoder.finish()?;
                self.finished = true;
                return Ok(false);
            }
        }
        let n = self.decoder.decode(&self.buf[self.pos..self.len])?;
        self.pos += n;
        Ok(self.pos < self.len)
    }

    fn with_progress(&self, mut batch: TextBatch) -> TextBatch {
        batch.bytes_read = self.raw_bytes.get();
        batch
    }
}

impl<D: PushDecoder> RecordSource for StreamSource<D> {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        while self.decoder.header().is_none() && !self.finished {
            self.step()?;
        }
        Ok(self.decoder.header())
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        loop {
            if self.finished {
                let batch = self.decoder.flush()?;
                return Ok(batch.map(|b| SourceBatch::Text(self.with_progress(b))));
            }
            if self.step()?
                && let Some(batch) = self.decoder.flush()?
            {
                return Ok(Some(SourceBatch::Text(self.with_progress(batch))));
            }
        }
    }
}

/// Rows per batch from a typed reader.
pub(crate) const BATCH_ROWS: usize = 16384;

pub(crate) fn typed(batch: RecordBatch, next_row: &mut u64, bytes_read: u64) -> SourceBatch {
    let first_row = *next_row;
    *next_row += batch.num_rows() as u64;
    SourceBatch::Typed(TypedBatch {
        columns: batch.columns().to_vec(),
        first_row,
        bytes_read,
    })
}

pub(crate) fn field_names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

pub(crate) fn field_types(schema: &SchemaRef) -> Vec<DataType> {
    schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

//! Stage one for typed formats: Parquet (row group by row group) and Avro (block by
//! block), read into Arrow columns that stage two casts to the target's types.

use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use futures_util::StreamExt;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use tokio::runtime::Handle;

use crate::load::input::Seekable;
use crate::load::source::{RecordSource, SourceBatch, SourceError, TypedBatch};
use crate::load::store::ObjectRanges;
use ingest_formats::xlsx::{XlsxError, XlsxLimits, XlsxSheet};
use object_store::ObjectStoreExt;

/// Rows per batch from a typed reader.
const BATCH_ROWS: usize = 16384;

/// What both Parquet sources keep: the schema, and the rows handed out, from which
/// progress in bytes is estimated (row groups are decoded whole, so bytes read do not
/// follow the batches).
struct ParquetRows {
    schema: SchemaRef,
    rows_total: u64,
    file_size: u64,
    next_row: u64,
}

impl ParquetRows {
    fn new(
        schema: SchemaRef,
        metadata: &parquet::file::metadata::ParquetMetaData,
        file_size: u64,
    ) -> Self {
        ParquetRows {
            schema,
            rows_total: metadata.file_metadata().num_rows().max(0) as u64,
            file_size,
            next_row: 1,
        }
    }

    fn batch(&mut self, batch: RecordBatch) -> SourceBatch {
        let rows = batch.num_rows() as u64;
        let bytes_read = (self.next_row - 1 + rows) * self.file_size / self.rows_total.max(1);
        typed(batch, &mut self.next_row, bytes_read)
    }
}

/// A Parquet file on local disk.
pub struct ParquetSource {
    reader: ParquetRecordBatchReader,
    rows: ParquetRows,
}

impl ParquetSource {
    pub fn open(file: File, file_size: u64) -> Result<Self, SourceError> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(parquet_error)?
            .with_batch_size(BATCH_ROWS);
        let rows = ParquetRows::new(builder.schema().clone(), builder.metadata(), file_size);
        Ok(ParquetSource {
            reader: builder.build().map_err(parquet_error)?,
            rows,
        })
    }
}

impl RecordSource for ParquetSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(Some(field_names(&self.rows.schema)))
    }

    fn column_types(&self) -> Option<Vec<DataType>> {
        Some(field_types(&self.rows.schema))
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        let batch = self.reader.next().transpose();
        let Some(batch) = batch.map_err(|e| SourceError::Parquet(e.to_string()))? else {
            return Ok(None);
        };
        Ok(Some(self.rows.batch(batch)))
    }
}

/// A Parquet object in a store, read by range requests: the footer, then each row group's
/// column chunks (parquet's async reader, driven from stage one's thread).
pub struct RemoteParquetSource {
    stream: ParquetRecordBatchStream<ObjectRanges>,
    handle: Handle,
    rows: ParquetRows,
}

impl RemoteParquetSource {
    /// Reads the footer. Blocks: call it off the runtime's threads.
    pub fn open(ranges: ObjectRanges, handle: Handle) -> Result<Self, SourceError> {
        let file_size = ranges.size;
        let prefetch = ranges.prefetch.clone();
        let builder = handle
            .block_on(ParquetRecordBatchStreamBuilder::new(ranges))
            .map_err(parquet_error)?
            .with_batch_size(BATCH_ROWS);
        let spans = builder
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| {
                let (lo, hi) = rg.columns().iter().fold((u64::MAX, 0), |(lo, hi), c| {
                    let (start, len) = c.byte_range();
                    (lo.min(start), hi.max(start + len))
                });
                lo..hi
            })
            .collect();
        prefetch.lock().expect("prefetch").set_spans(spans);
        let rows = ParquetRows::new(builder.schema().clone(), builder.metadata(), file_size);
        Ok(RemoteParquetSource {
            stream: builder.build().map_err(parquet_error)?,
            handle,
            rows,
        })
    }
}

impl RecordSource for RemoteParquetSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(Some(field_names(&self.rows.schema)))
    }

    fn column_types(&self) -> Option<Vec<DataType>> {
        Some(field_types(&self.rows.schema))
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        let Some(batch) = self.handle.block_on(self.stream.next()) else {
            return Ok(None);
        };
        Ok(Some(self.rows.batch(batch.map_err(parquet_error)?)))
    }
}

/// An Avro object container file, read as a stream (any codec arrow-avro has).
pub struct AvroSource {
    schema: SchemaRef,
    reader: arrow_avro::reader::Reader<BufReader<TailKeeper>>,
    sync: [u8; 16],
    /// The last bytes of the file, once read.
    last: Arc<Mutex<Vec<u8>>>,
    next_row: u64,
    raw_bytes: ingest_formats::ByteCounter,
}

impl AvroSource {
    pub fn open(
        reader: Box<dyn Read + Send>,
        raw_bytes: ingest_formats::ByteCounter,
    ) -> Result<Self, SourceError> {
        let last = Arc::new(Mutex::new(Vec::with_capacity(32)));
        let tail = TailKeeper {
            inner: reader,
            last: last.clone(),
        };
        let reader = arrow_avro::reader::ReaderBuilder::new()
            .with_batch_size(BATCH_ROWS)
            .build(BufReader::with_capacity(1 << 20, tail))
            .map_err(avro_error)?;
        Ok(AvroSource {
            schema: reader.schema(),
            sync: reader.avro_header().sync(),
            reader,
            last,
            next_row: 1,
            raw_bytes,
        })
    }
}

impl RecordSource for AvroSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(Some(field_names(&self.schema)))
    }

    fn column_types(&self) -> Option<Vec<DataType>> {
        Some(field_types(&self.schema))
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        match self.reader.next().transpose().map_err(avro_error)? {
            Some(batch) => Ok(Some(typed(batch, &mut self.next_row, self.raw_bytes.get()))),
            None => {
                // arrow-avro ends quietly at a cut-off block: a whole file ends with the
                // sync marker (the header's, when there are no blocks).
                if *self.last.lock().expect("tail") != self.sync {
                    return Err(SourceError::Avro(
                        "the file is truncated: it does not end with a complete block".into(),
                    ));
                }
                Ok(None)
            }
        }
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> SourceError {
    let msg = e.to_string();
    SourceError::Parquet(
        msg.strip_prefix("Parquet error: ")
            .unwrap_or(&msg)
            .to_string(),
    )
}

fn avro_error(e: arrow_schema::ArrowError) -> SourceError {
    let msg = e.to_string();
    let msg = msg.strip_prefix("Avro error: ").unwrap_or(&msg).to_string();
    SourceError::Avro(msg)
}

/// A reader that remembers the last 16 bytes it passed on.
pub struct TailKeeper {
    inner: Box<dyn Read + Send>,
    last: Arc<Mutex<Vec<u8>>>,
}

impl Read for TailKeeper {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut last = self.last.lock().expect("tail");
        last.extend_from_slice(&buf[..n]);
        let excess = last.len().saturating_sub(16);
        last.drain(..excess);
        Ok(n)
    }
}

fn typed(batch: RecordBatch, next_row: &mut u64, bytes_read: u64) -> SourceBatch {
    let first_row = *next_row;
    *next_row += batch.num_rows() as u64;
    SourceBatch::Typed(TypedBatch {
        columns: batch.columns().to_vec(),
        first_row,
        bytes_read,
    })
}

fn field_names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

fn field_types(schema: &SchemaRef) -> Vec<DataType> {
    schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

/// One sheet of an xlsx workbook, read whole (see `ingest_formats::xlsx`).
pub struct XlsxSource {
    sheet: XlsxSheet,
    size: u64,
}

impl XlsxSource {
    /// Reads the workbook. Blocks: call it off the runtime's threads.
    pub fn open(
        seekable: Seekable,
        sheet: Option<&str>,
        null: Option<String>,
        limits: XlsxLimits,
        handle: &Handle,
    ) -> Result<Self, SourceError> {
        let size = match &seekable {
            Seekable::Local(f) => f.metadata()?.len(),
            Seekable::Remote(r) => r.size,
        };
        if size > limits.max_file_bytes {
            return Err(XlsxError::TooLarge {
                size,
                limit: limits.max_file_bytes,
            }
            .into());
        }
        let bytes = match seekable {
            Seekable::Local(mut f) => {
                let mut bytes = Vec::with_capacity(size as usize);
                f.read_to_end(&mut bytes)?;
                bytes
            }
            Seekable::Remote(r) => {
                let get = async {
                    let result = r.remote.store.get(&r.remote.path).await?;
                    result.bytes().await
                };
                handle
                    .block_on(get)
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .to_vec()
            }
        };
        Ok(XlsxSource {
            sheet: XlsxSheet::open(bytes, sheet, null, limits)?,
            size,
        })
    }
}

impl RecordSource for XlsxSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(self.sheet.header().map(<[String]>::to_vec))
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        Ok(self.sheet.next_batch()?.map(|mut b| {
            // Read whole before the first row.
            b.bytes_read = self.size;
            SourceBatch::Text(b)
        }))
    }
}

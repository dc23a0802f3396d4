//! Parquet, read row group by row group into Arrow columns that the load casts to the
//! target's types: from a local file, or from any `AsyncFileReader` (an object store's
//! range requests) driven from the reader's own thread.

use std::fs::File;
use std::ops::Range;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use futures_util::StreamExt;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStream};
use tokio::runtime::Handle;

use crate::source::{
    BATCH_ROWS, RecordSource, SourceBatch, SourceError, field_names, field_types, typed,
};

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
pub struct RemoteParquetSource<R> {
    stream: ParquetRecordBatchStream<R>,
    handle: Handle,
    rows: ParquetRows,
}

impl<R: AsyncFileReader + Unpin + Send + 'static> RemoteParquetSource<R> {
    /// Reads the footer of the `file_size` bytes `reader` reads, then tells `row_groups`
    /// each row group's byte span (so the reader can fetch the next one ahead). Blocks:
    /// call it off the runtime's threads.
    pub fn open(
        reader: R,
        file_size: u64,
        row_groups: impl FnOnce(Vec<Range<u64>>),
        handle: Handle,
    ) -> Result<Self, SourceError> {
        let builder = handle
            .block_on(ParquetRecordBatchStreamBuilder::new(reader))
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
        row_groups(spans);
        let rows = ParquetRows::new(builder.schema().clone(), builder.metadata(), file_size);
        Ok(RemoteParquetSource {
            stream: builder.build().map_err(parquet_error)?,
            handle,
            rows,
        })
    }
}

impl<R: AsyncFileReader + Unpin + Send + 'static> RecordSource for RemoteParquetSource<R> {
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

fn parquet_error(e: parquet::errors::ParquetError) -> SourceError {
    let msg = e.to_string();
    SourceError::Parquet(
        msg.strip_prefix("Parquet error: ")
            .unwrap_or(&msg)
            .to_string(),
    )
}

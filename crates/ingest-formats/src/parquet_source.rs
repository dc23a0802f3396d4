//! Parquet, read row group by row group into Arrow columns that the load casts to the
//! target's types: from a local file, or from any `AsyncFileReader` (an object store's
//! range requests) driven from the reader's own thread.

use std::fs::File;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use futures_util::StreamExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStream};
use parquet::arrow::{
    ParquetRecordBatchStreamBuilder, ProjectionMask, parquet_to_arrow_field_levels,
};
use parquet::file::metadata::ParquetMetaData;
use tokio::runtime::Handle;

use crate::parquet_footer::{
    lenient, read_local, read_schema, reader_metadata, repaired, row_group_rows,
};
use crate::parquet_pages::CheckedRowGroups;

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
    fn new(schema: SchemaRef, metadata: &ParquetMetaData, file_size: u64) -> Self {
        ParquetRows {
            schema,
            rows_total: row_group_rows(metadata),
            file_size,
            next_row: 1,
        }
    }

    fn batch(&mut self, batch: RecordBatch) -> SourceBatch {
        let rows = batch.num_rows() as u64;
        let bytes_read = (self.next_row - 1 + rows) * self.file_size / self.rows_total.max(1);
        typed(batch, &mut self.next_row, bytes_read)
    }

    /// The reader ended: it must have given every row the row groups hold, never fewer.
    fn end(&self) -> Result<Option<SourceBatch>, SourceError> {
        let read = self.next_row - 1;
        if read != self.rows_total {
            return Err(SourceError::Parquet(format!(
                "the file's row groups hold {} rows but {read} were read: the file is corrupt, or written in a form this reader misreads",
                self.rows_total
            )));
        }
        Ok(None)
    }
}

/// A Parquet file on local disk.
pub struct ParquetSource {
    reader: ParquetRecordBatchReader,
    rows: ParquetRows,
}

impl ParquetSource {
    /// Reads the footer, repairs it (see `parquet_footer`) and reads the pages through
    /// `parquet_pages`, which checks each one as it is decoded.
    pub fn open(file: File, file_size: u64) -> Result<Self, SourceError> {
        let metadata = read_local(&file)
            .and_then(repaired)
            .map_err(parquet_error)?;
        let metadata = Arc::new(metadata);
        let schema = read_schema(&metadata).map_err(parquet_error)?;
        let levels = parquet_to_arrow_field_levels(
            metadata.file_metadata().schema_descr(),
            ProjectionMask::all(),
            Some(schema.fields()),
        )
        .map_err(parquet_error)?;
        let rows = ParquetRows::new(schema, &metadata, file_size);
        let groups = CheckedRowGroups::new(file, metadata);
        let reader =
            ParquetRecordBatchReader::try_new_with_row_groups(&levels, &groups, BATCH_ROWS, None)
                .map_err(parquet_error)?;
        Ok(ParquetSource { reader, rows })
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
        let Some(batch) = batch.map_err(|e| parquet_error(e.into()))? else {
            return self.rows.end();
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
        let mut reader = reader;
        let metadata = handle
            .block_on(remote_footer(&mut reader, file_size))
            .map_err(parquet_error)?;
        let metadata = reader_metadata(metadata).map_err(parquet_error)?;
        let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
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
            return self.rows.end();
        };
        Ok(Some(self.rows.batch(batch.map_err(parquet_error)?)))
    }
}

/// The footer of an object: as the parquet crate reads it, else leniently (see
/// `parquet_footer::lenient`).
async fn remote_footer<R: AsyncFileReader>(
    reader: &mut R,
    size: u64,
) -> parquet::errors::Result<ParquetMetaData> {
    let strict = match reader.get_metadata(None).await {
        Ok(metadata) => return Ok(Arc::try_unwrap(metadata).unwrap_or_else(|m| (*m).clone())),
        Err(e) => e,
    };
    let Some(at) = size.checked_sub(8) else {
        return Err(strict);
    };
    let tail = reader.get_bytes(at..size).await?;
    if tail.len() != 8 || &tail[4..] != b"PAR1" {
        return Err(strict);
    }
    let footer_len = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
    let Some(start) = at.checked_sub(footer_len) else {
        return Err(strict);
    };
    let footer = reader.get_bytes(start..at).await?;
    lenient(&footer, strict)
}

fn parquet_error(e: parquet::errors::ParquetError) -> SourceError {
    SourceError::Parquet(bare_message(&e.to_string()).to_string())
}

/// The message without the wrappers an error collects on its way out of the Arrow reader
/// (`External: Parquet argument error: Parquet error: …`).
fn bare_message(mut msg: &str) -> &str {
    const WRAPPERS: [&str; 4] = [
        "External: ",
        "Parquet argument error: ",
        "Parquet error: ",
        "External error: ",
    ];
    while let Some(rest) = WRAPPERS.iter().find_map(|w| msg.strip_prefix(w)) {
        msg = rest;
    }
    msg
}

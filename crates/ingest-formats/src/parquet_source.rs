//! Parquet, read row group by row group into Arrow columns that the load casts to the
//! target's types: from a local file, or from any `AsyncFileReader` (an object store's
//! range requests) driven from the reader's own thread.

use std::fs::File;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{FieldLevels, ProjectionMask, parquet_to_arrow_field_levels};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataBuilder};
use tokio::runtime::Handle;

use crate::parquet_footer::{lenient, read_local, read_schema, repaired, row_group_rows};
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
        let (metadata, schema, levels) = read_plan(metadata)?;
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
        let batch = guarded(|| self.reader.next().transpose())?;
        let Some(batch) = batch.map_err(|e| parquet_error(e.into()))? else {
            return self.rows.end();
        };
        Ok(Some(self.rows.batch(batch)))
    }
}

/// A Parquet object in a store, read by range requests: the footer, then each row group's
/// span (its column chunks, fetched as one range while the row group before it is
/// decoded) read through the same checked pages as a local file.
pub struct RemoteParquetSource<R> {
    reader: R,
    handle: Handle,
    metadata: Arc<ParquetMetaData>,
    levels: FieldLevels,
    spans: Vec<Range<u64>>,
    file_size: u64,
    next_group: usize,
    current: Option<ParquetRecordBatchReader>,
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
            .and_then(repaired)
            .map_err(parquet_error)?;
        let (metadata, schema, levels) = read_plan(metadata)?;
        let spans: Vec<Range<u64>> = metadata
            .row_groups()
            .iter()
            .map(|rg| {
                let (lo, hi) = rg.columns().iter().fold((u64::MAX, 0), |(lo, hi), c| {
                    let (start, len) = c.byte_range();
                    (lo.min(start), hi.max(start + len))
                });
                lo.min(hi)..hi
            })
            .collect();
        row_groups(spans.clone());
        let rows = ParquetRows::new(schema, &metadata, file_size);
        Ok(RemoteParquetSource {
            reader,
            handle,
            metadata,
            levels,
            spans,
            file_size,
            next_group: 0,
            current: None,
            rows,
        })
    }

    /// Fetches the next row group's span and opens a reader over it.
    fn open_group(&mut self) -> Result<ParquetRecordBatchReader, SourceError> {
        let g = self.next_group;
        self.next_group += 1;
        let span = self.spans[g].clone();
        // As a list of ranges, so a reader that prefetches by row group (the store's)
        // recognises the span and starts fetching the next one.
        let bytes = self
            .handle
            .block_on(self.reader.get_byte_ranges(vec![span.clone()]))
            .map_err(parquet_error)?
            .pop()
            .unwrap_or_default();
        // This row group alone (not a copy of every row group's metadata per row group).
        let one = ParquetMetaDataBuilder::new(self.metadata.file_metadata().clone())
            .add_row_group(self.metadata.row_group(g).clone())
            .build();
        let span_reader = SpanReader {
            base: span.start,
            bytes,
            file_size: self.file_size,
        };
        let groups = CheckedRowGroups::new(span_reader, Arc::new(one)).numbered_from(g);
        ParquetRecordBatchReader::try_new_with_row_groups(&self.levels, &groups, BATCH_ROWS, None)
            .map_err(parquet_error)
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
        loop {
            if let Some(reader) = self.current.as_mut() {
                match guarded(|| reader.next().transpose())? {
                    Ok(Some(batch)) => return Ok(Some(self.rows.batch(batch))),
                    Ok(None) => self.current = None,
                    Err(e) => return Err(parquet_error(e.into())),
                }
            }
            if self.next_group == self.spans.len() {
                return self.rows.end();
            }
            self.current = Some(self.open_group()?);
        }
    }
}

/// One row group's span of an object, fetched whole, read at the file's own offsets.
struct SpanReader {
    base: u64,
    bytes: bytes::Bytes,
    file_size: u64,
}

impl SpanReader {
    fn range(&self, start: u64, length: usize) -> parquet::errors::Result<std::ops::Range<usize>> {
        let from = start
            .checked_sub(self.base)
            .map(|f| f as usize)
            .filter(|f| f.saturating_add(length) <= self.bytes.len());
        from.map(|f| f..f + length).ok_or_else(|| {
            parquet::errors::ParquetError::General(format!(
                "a column chunk reaches outside its row group ({length} bytes at {start})"
            ))
        })
    }
}

impl parquet::file::reader::Length for SpanReader {
    fn len(&self) -> u64 {
        self.file_size
    }
}

impl parquet::file::reader::ChunkReader for SpanReader {
    type T = bytes::buf::Reader<bytes::Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let rest = self.bytes.len() - self.range(start, 0)?.start;
        let range = self.range(start, rest)?;
        Ok(bytes::Buf::reader(self.bytes.slice(range)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        Ok(self.bytes.slice(self.range(start, length)?))
    }
}

/// What both sources read a (repaired) footer into: the metadata, the Arrow schema (INT96
/// at microseconds) and the field levels the page-level reader decodes with.
fn read_plan(
    metadata: ParquetMetaData,
) -> Result<(Arc<ParquetMetaData>, SchemaRef, FieldLevels), SourceError> {
    let metadata = Arc::new(metadata);
    let schema = read_schema(&metadata).map_err(parquet_error)?;
    let levels = parquet_to_arrow_field_levels(
        metadata.file_metadata().schema_descr(),
        ProjectionMask::all(),
        Some(schema.fields()),
    )
    .map_err(parquet_error)?;
    Ok((metadata, schema, levels))
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

/// Runs a step of the parquet crate's decoder, turning a panic (the crate still has
/// `expect`s a damaged file can reach; the fuzz target found one) into the file's error
/// instead of the end of the load's reader thread.
fn guarded<T>(step: impl FnOnce() -> T) -> Result<T, SourceError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        SourceError::Parquet(format!(
            "the file could not be decoded (the reader failed: {what}); it is corrupt or written in a form this reader cannot read"
        ))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a whole file of `bytes` as Parquet: the first error, if any.
    fn read_all(name: &str, bytes: &[u8]) -> Result<u64, SourceError> {
        let path = std::env::temp_dir().join(format!("{name}-{}.parquet", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let mut source = ParquetSource::open(file, bytes.len() as u64)?;
        let mut rows = 0;
        while let Some(batch) = source.next_batch()? {
            if let SourceBatch::Typed(b) = batch {
                rows += b.num_rows() as u64;
            }
        }
        Ok(rows)
    }

    /// Refused with `words` in the message: an error, never a panic or an allocation.
    fn refused(name: &str, bytes: &[u8], words: &str) {
        let err = read_all(name, bytes).unwrap_err();
        assert!(err.to_string().contains(words), "{name}: {err}");
    }

    /// Regression tests, each a file the `parquet_file` fuzz target found:
    /// - a dictionary-encoded page in a chunk without a dictionary page made the parquet
    ///   crate panic ("Decoder for dict should have been set"), killing the reader thread;
    /// - a dictionary page whose header claims more values than its bytes hold made it
    ///   allocate for the claim (5.9 GB);
    /// - a column chunk at a negative offset made it panic ("column start and length
    ///   should not be negative").
    #[test]
    fn files_the_fuzzer_found_are_errors_not_crashes() {
        refused(
            "dict-missing",
            include_bytes!("../tests/data/parquet-dictionary-page-missing.parquet"),
            "without its dictionary page",
        );
        refused(
            "dict-billions",
            include_bytes!("../tests/data/parquet-dictionary-claims-billions.parquet"),
            "a dictionary page claims",
        );
        refused(
            "negative-range",
            include_bytes!("../tests/data/parquet-negative-column-range.parquet"),
            "negative offset or length",
        );
    }
}

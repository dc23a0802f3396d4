//! A Parquet footer as the file's pages need it read: what other writers got wrong and
//! other readers tolerate is repaired, and INT96 timestamps are read at microseconds.
//!
//! - A file whose footer counts fewer rows than its row groups hold (an old parquet-rs
//!   wrote `num_rows: 0`) is read as its row groups say: the parquet crate would stop at
//!   the footer's count and return nothing, without a word.
//! - A column chunk whose dictionary page "is at offset 0" (Dremio writes that for "no
//!   dictionary") is read from its first data page, as pyarrow reads it.
//! - INT96 (Spark's timestamps) defaults to nanoseconds in Arrow, whose 64 bits end in
//!   2262: `9999-12-31` would wrap to 1816. Microseconds, PostgreSQL's own resolution,
//!   reach year 294,247.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use parquet::arrow::parquet_to_arrow_schema;
use parquet::basic::Type as PhysicalType;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{
    ColumnChunkMetaData, FileMetaData, ParquetMetaData, ParquetMetaDataBuilder,
    ParquetMetaDataReader,
};
use parquet::file::reader::ChunkReader;

/// The footer of a local file: as the parquet crate reads it, else (a footer some writer
/// filled with fields of its own) with those fields dropped, as pyarrow reads it.
pub(crate) fn read_local<R: ChunkReader>(file: &R) -> Result<ParquetMetaData> {
    let strict = match ParquetMetaDataReader::new().parse_and_finish(file) {
        Ok(metadata) => return Ok(metadata),
        Err(e) => e,
    };
    let len = file.len();
    let tail = match len.checked_sub(8) {
        Some(at) => file.get_bytes(at, 8)?,
        None => return Err(strict),
    };
    if &tail[4..] != b"PAR1" {
        return Err(strict);
    }
    let footer_len = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
    let Some(start) = len.checked_sub(8 + footer_len) else {
        return Err(strict);
    };
    let footer = file.get_bytes(start, footer_len as usize)?;
    lenient(&footer, strict)
}

/// `footer` with the fields that made the strict read fail dropped, or that failure.
pub(crate) fn lenient(footer: &[u8], strict: ParquetError) -> Result<ParquetMetaData> {
    match crate::parquet_thrift::sanitized(footer) {
        Some(fixed) => ParquetMetaDataReader::decode_metadata(&fixed).map_err(|_| strict),
        None => Err(strict),
    }
}

/// Rows the file's row groups hold.
pub(crate) fn row_group_rows(metadata: &ParquetMetaData) -> u64 {
    metadata
        .row_groups()
        .iter()
        .map(|rg| rg.num_rows().max(0) as u64)
        .sum()
}

/// `metadata` with the footer's row count and bogus dictionary offsets repaired; a
/// column chunk placed at a negative offset or length is refused (the parquet crate
/// would panic on it).
pub(crate) fn repaired(metadata: ParquetMetaData) -> Result<ParquetMetaData> {
    for (g, rg) in metadata.row_groups().iter().enumerate() {
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            if start < 0 || c.data_page_offset() < 0 || c.compressed_size() < 0 {
                return Err(ParquetError::General(format!(
                    "column {:?}, row group {g}: the footer places its chunk at a negative offset or length: the file is corrupt",
                    c.column_path().string()
                )));
            }
        }
    }
    let rows = row_group_rows(&metadata) as i64;
    let mut builder = metadata.into_builder();
    let mut row_groups = builder.take_row_groups();
    for rg in row_groups.iter_mut() {
        if !rg.columns().iter().any(bogus_dictionary) {
            continue;
        }
        let mut columns = Vec::with_capacity(rg.num_columns());
        for c in rg.columns() {
            let mut c = c.clone();
            if bogus_dictionary(&c) {
                c = c.into_builder().set_dictionary_page_offset(None).build()?;
            }
            columns.push(c);
        }
        *rg = rg
            .clone()
            .into_builder()
            .set_column_metadata(columns)
            .build()?;
    }
    let builder = builder.set_row_groups(row_groups);
    let metadata = builder.build();
    let file = metadata.file_metadata();
    if file.num_rows() >= rows {
        return Ok(metadata);
    }
    let fixed = FileMetaData::new(
        file.version(),
        rows,
        file.created_by().map(str::to_string),
        file.key_value_metadata().cloned(),
        file.schema_descr_ptr(),
        file.column_orders().cloned(),
    );
    let mut builder = metadata.into_builder();
    let row_groups = builder.take_row_groups();
    Ok(ParquetMetaDataBuilder::new(fixed)
        .set_row_groups(row_groups)
        .build())
}

/// A dictionary page "at" an offset inside the magic bytes or past the first data page:
/// Dremio writes 0 for "none".
fn bogus_dictionary(c: &ColumnChunkMetaData) -> bool {
    c.dictionary_page_offset()
        .is_some_and(|o| o < 4 || o >= c.data_page_offset())
}

/// The Arrow schema the file is read with: the file's own, with top-level INT96 columns
/// as microsecond timestamps.
pub(crate) fn read_schema(metadata: &ParquetMetaData) -> Result<Arc<Schema>> {
    let file = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    let int96: Vec<&str> = file
        .schema_descr()
        .columns()
        .iter()
        .filter(|c| c.physical_type() == PhysicalType::INT96 && c.path().parts().len() == 1)
        .map(|c| c.name())
        .collect();
    if int96.is_empty() {
        return Ok(Arc::new(schema));
    }
    let fields: Fields = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
                if int96.contains(&f.name().as_str()) =>
            {
                Arc::new(Field::new(
                    f.name(),
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                    f.is_nullable(),
                ))
            }
            _ => f.clone(),
        })
        .collect();
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

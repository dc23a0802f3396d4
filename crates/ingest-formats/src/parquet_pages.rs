//! The pages of a local Parquet file, each checked as it is decoded (not in a pass of its
//! own): a page whose checksum fails (with the parquet crate's `crc` feature) or whose
//! dictionary indices use an invalid bit width is refused, and every page error names its
//! column and row group. The Arrow reader is built over these pages through parquet's
//! `RowGroups`, the hook it offers for page sources of one's own.

use std::sync::Arc;

use parquet::arrow::arrow_reader::RowGroups;
use parquet::basic::Encoding;
use parquet::column::page::{Page, PageIterator, PageMetadata, PageReader};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::reader::ChunkReader;
use parquet::file::serialized_reader::SerializedPageReader;

/// Every row group of a file, its pages checked.
pub(crate) struct CheckedRowGroups<R> {
    reader: Arc<R>,
    metadata: Arc<ParquetMetaData>,
    /// The file's number of the first row group here (a remote file is read one row
    /// group at a time), for messages.
    first: usize,
}

impl<R: ChunkReader + 'static> CheckedRowGroups<R> {
    pub(crate) fn new(reader: R, metadata: Arc<ParquetMetaData>) -> Self {
        CheckedRowGroups {
            reader: Arc::new(reader),
            metadata,
            first: 0,
        }
    }

    /// Messages number the row groups from `first`.
    pub(crate) fn numbered_from(mut self, first: usize) -> Self {
        self.first = first;
        self
    }
}

impl<R: ChunkReader + 'static> RowGroups for CheckedRowGroups<R> {
    fn num_rows(&self) -> usize {
        crate::parquet_footer::row_group_rows(&self.metadata) as usize
    }

    fn column_chunks(&self, i: usize) -> Result<Box<dyn PageIterator>> {
        Ok(Box::new(ColumnChunks {
            column: i,
            next_row_group: 0,
            first: self.first,
            reader: self.reader.clone(),
            metadata: self.metadata.clone(),
        }))
    }

    fn row_groups(&self) -> Box<dyn Iterator<Item = &RowGroupMetaData> + '_> {
        Box::new(self.metadata.row_groups().iter())
    }

    fn metadata(&self) -> &ParquetMetaData {
        &self.metadata
    }
}

/// One column's chunks, row group after row group.
struct ColumnChunks<R> {
    column: usize,
    next_row_group: usize,
    first: usize,
    reader: Arc<R>,
    metadata: Arc<ParquetMetaData>,
}

impl<R: ChunkReader + 'static> Iterator for ColumnChunks<R> {
    type Item = Result<Box<dyn PageReader>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rg = self.metadata.row_groups().get(self.next_row_group)?;
        let row_group = self.next_row_group;
        self.next_row_group += 1;
        let chunk = rg.column(self.column);
        let descr = chunk.column_descr();
        let place = Place {
            column: descr.path().string(),
            row_group: self.first + row_group,
        };
        let pages = SerializedPageReader::new(
            self.reader.clone(),
            chunk,
            rg.num_rows().max(0) as usize,
            None,
        )
        .map_err(|e| place.error(e));
        Some(pages.map(|inner| {
            Box::new(CheckedPages {
                inner,
                place,
                max_rep: descr.max_rep_level(),
                max_def: descr.max_def_level(),
                int96: descr.physical_type() == parquet::basic::Type::INT96,
                dictionary_seen: false,
                min_value_bits: min_plain_bits(descr.physical_type(), descr.type_length()),
            }) as Box<dyn PageReader>
        }))
    }
}

impl<R: ChunkReader + 'static> PageIterator for ColumnChunks<R> {}

/// Where a page is, for messages.
#[derive(Clone)]
struct Place {
    column: String,
    row_group: usize,
}

impl Place {
    fn error(&self, e: ParquetError) -> ParquetError {
        let msg = e.to_string();
        let msg = msg.strip_prefix("Parquet error: ").unwrap_or(&msg);
        ParquetError::General(format!(
            "column {:?}, row group {}: {msg}",
            self.column, self.row_group
        ))
    }
}

struct CheckedPages<R: ChunkReader> {
    inner: SerializedPageReader<R>,
    place: Place,
    max_rep: i16,
    max_def: i16,
    /// Plain INT96 values are checked to fit 64-bit microseconds before they are
    /// converted (dictionary-encoded ones are not: their indices would need decoding).
    int96: bool,
    /// Whether the chunk's dictionary page went by: a dictionary-encoded data page
    /// without one would make the parquet crate panic.
    dictionary_seen: bool,
    /// The fewest bits one plain value takes: a dictionary claiming more values than its
    /// bytes can hold would have the parquet crate allocate for the claim.
    min_value_bits: u64,
}

impl<R: ChunkReader> CheckedPages<R> {
    fn check(&mut self, page: &Page) -> std::result::Result<(), String> {
        let (buf, encoding, values_at, non_null) = match page {
            Page::DataPage { buf, encoding, .. } => {
                let mut at = 0usize;
                for max in [self.max_rep, self.max_def] {
                    if max > 0 {
                        // v1 levels are RLE with a 4-byte length before them.
                        let len = buf
                            .get(at..at + 4)
                            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
                            .ok_or("a data page ends inside its levels")?;
                        at += 4 + len;
                    }
                }
                (buf, *encoding, at, None)
            }
            Page::DataPageV2 {
                buf,
                encoding,
                rep_levels_byte_len,
                def_levels_byte_len,
                num_values,
                num_nulls,
                ..
            } => (
                buf,
                *encoding,
                (*rep_levels_byte_len + *def_levels_byte_len) as usize,
                Some(num_values.saturating_sub(*num_nulls)),
            ),
            // A dictionary may hold entries no row uses (Spark's int96 test file has one a
            // hundred million days out): its values are judged where rows use them.
            Page::DictionaryPage {
                buf, num_values, ..
            } => {
                self.dictionary_seen = true;
                let room = buf.len() as u64 * 8 / self.min_value_bits.max(1);
                if u64::from(*num_values) > room {
                    return Err(format!(
                        "a dictionary page claims {num_values} values in {} bytes: the page is corrupt",
                        buf.len()
                    ));
                }
                return Ok(());
            }
        };
        if self.int96 && encoding == Encoding::PLAIN {
            int96_fit(buf.get(values_at..).unwrap_or_default())?;
        }
        if !matches!(
            encoding,
            Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
        ) {
            return Ok(());
        }
        if !self.dictionary_seen {
            return Err(
                "a dictionary-encoded page comes without its dictionary page: the column chunk is corrupt"
                    .into(),
            );
        }
        let values = buf.get(values_at..).unwrap_or_default();
        let Some(&bit_width) = values.first() else {
            return match non_null {
                Some(n) if n > 0 => Err("a dictionary-encoded page has no index data".into()),
                _ => Ok(()),
            };
        };
        if bit_width > 32 {
            return Err(format!(
                "invalid dictionary index bit width {bit_width} (RLE_DICTIONARY, at most 32): the page is corrupt"
            ));
        }
        // Zero bits are how writers index a one-entry dictionary, in RLE runs. A bit-packed
        // run of zero-bit values is what no writer means (Arrow C++ refuses it; Go's reader
        // crashed on it): decoding it anyway makes every value the dictionary's first.
        if bit_width == 0 && has_bit_packed_run(&values[1..]) {
            return Err(
                "invalid dictionary indices: bit width 0 with a bit-packed run (RLE_DICTIONARY): the page is corrupt"
                    .into(),
            );
        }
        Ok(())
    }
}

impl<R: ChunkReader> Iterator for CheckedPages<R> {
    type Item = Result<Page>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl<R: ChunkReader> PageReader for CheckedPages<R> {
    fn get_next_page(&mut self) -> Result<Option<Page>> {
        let page = self
            .inner
            .get_next_page()
            .map_err(|e| self.place.error(e))?;
        if let Some(page) = &page
            && let Err(msg) = self.check(page)
        {
            return Err(self.place.error(ParquetError::General(msg)));
        }
        Ok(page)
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>> {
        self.inner.peek_next_page().map_err(|e| self.place.error(e))
    }

    fn skip_next_page(&mut self) -> Result<()> {
        self.inner.skip_next_page().map_err(|e| self.place.error(e))
    }

    fn at_record_boundary(&mut self) -> Result<bool> {
        self.inner.at_record_boundary()
    }
}

/// The fewest bits a plain value of a physical type takes (a byte array: its 4-byte
/// length).
fn min_plain_bits(physical: parquet::basic::Type, type_length: i32) -> u64 {
    use parquet::basic::Type as T;
    match physical {
        T::BOOLEAN => 1,
        T::INT32 | T::FLOAT | T::BYTE_ARRAY => 32,
        T::INT64 | T::DOUBLE => 64,
        T::INT96 => 96,
        T::FIXED_LEN_BYTE_ARRAY => 8 * type_length.max(1) as u64,
    }
}

/// Julian day of 1970-01-01, and the most days either side of it whose microseconds fit an
/// `i64` (about 292,277 years).
const JULIAN_EPOCH: i64 = 2_440_588;
const MAX_DAYS_IN_MICROS: i64 = i64::MAX / 86_400_000_000 - 1;

/// Refuses plain INT96 values (8 bytes of nanoseconds, 4 of Julian day) beyond what 64-bit
/// microseconds hold: the parquet crate's conversion would wrap them into another date.
fn int96_fit(values: &[u8]) -> Result<(), String> {
    for value in values.chunks_exact(12) {
        let day = i64::from(i32::from_le_bytes(
            value[8..12].try_into().expect("4 bytes"),
        ));
        if (day - JULIAN_EPOCH).abs() > MAX_DAYS_IN_MICROS {
            return Err(format!(
                "an INT96 timestamp (Julian day {day}) lies beyond what 64-bit microseconds hold (about 292,277 years from 1970): refused rather than loaded as another date"
            ));
        }
    }
    Ok(())
}

/// Whether zero-bit RLE/bit-packed hybrid data holds a bit-packed run: with zero bits every
/// run is its header alone, a varint whose low bit marks a bit-packed one.
fn has_bit_packed_run(mut runs: &[u8]) -> bool {
    while let Some(end) = runs.iter().position(|b| b & 0x80 == 0) {
        if runs[0] & 1 == 1 {
            return true;
        }
        runs = &runs[end + 1..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{has_bit_packed_run, int96_fit};

    #[test]
    fn int96_beyond_64_bit_microseconds_is_refused() {
        let value = |day: i32| {
            let mut v = vec![0u8; 8];
            v.extend_from_slice(&day.to_le_bytes());
            v
        };
        // 290000-12-31 (Spark's largest in int96_from_spark) fits; a million years out does not.
        assert!(int96_fit(&value(2_440_588 + 105_200_000)).is_ok());
        assert!(int96_fit(&value(2_440_588 + 365_250_000)).is_err());
        assert!(int96_fit(&value(-2_000_000_000)).is_err());
    }

    #[test]
    fn zero_bit_runs_are_told_apart() {
        // RLE runs of 300 and 5 (headers 600 and 10): what writers emit.
        assert!(!has_bit_packed_run(&[0xd8, 0x04, 0x0a]));
        // A bit-packed run of 21,192 values (ARROW-GH-43605).
        assert!(has_bit_packed_run(&[0xb3, 0x29]));
        assert!(!has_bit_packed_run(&[]));
    }
}

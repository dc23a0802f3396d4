//! One sheet of an xlsx workbook as a record source (the workbook is read whole; see
//! [`crate::xlsx`]).

use crate::source::{RecordSource, SourceBatch, SourceError};
use crate::xlsx::{XlsxError, XlsxLimits, XlsxSheet};

/// One sheet of an xlsx workbook, read whole.
pub struct XlsxSource {
    sheet: XlsxSheet,
    size: u64,
}

impl XlsxSource {
    /// Refuses a workbook of `size` bytes over the limit before it is fetched.
    pub fn check_size(size: u64, limits: &XlsxLimits) -> Result<(), SourceError> {
        if size > limits.max_file_bytes {
            return Err(XlsxError::TooLarge {
                size,
                limit: limits.max_file_bytes,
            }
            .into());
        }
        Ok(())
    }

    /// Reads the workbook's `sheet` (the first when `None`) from its bytes.
    pub fn open(
        bytes: Vec<u8>,
        sheet: Option<&str>,
        null: Option<String>,
        limits: XlsxLimits,
    ) -> Result<Self, SourceError> {
        let size = bytes.len() as u64;
        Self::check_size(size, &limits)?;
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

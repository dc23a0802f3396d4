//! Delimited text (CSV, TSV, `;`-separated) tokenised by `csv-core`.

mod columns;
mod decoder;
mod error;
mod options;
mod quote_scan;

pub use decoder::CsvDecoder;
pub use error::CsvError;
pub use options::CsvOptions;

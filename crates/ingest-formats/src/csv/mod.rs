//! Delimited text (CSV, TSV, `;`-separated) tokenised by `csv-core`.

mod columns;
mod decoder;
mod error;
mod line_counter;
mod options;
mod quote_scan;
mod record;
mod tokenizer;

pub use decoder::CsvDecoder;
pub use error::CsvError;
pub use options::CsvOptions;

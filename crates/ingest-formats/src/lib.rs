//! Every reader: bytes in, batches of records out, whatever the format.
//!
//! - A [`RecordSource`] is what a load reads from: its header, then [`SourceBatch`]es of
//!   text fields ([`TextBatch`], for CSV/TSV, JSON/NDJSON and xlsx, which the load parses
//!   by the target column's type) or typed Arrow columns ([`TypedBatch`], for Parquet and
//!   Avro, which the load casts).
//! - Text formats are push decoders that do no I/O of their own (the shape of arrow-csv's
//!   `Decoder`): [`csv::CsvDecoder::decode`] takes a slice and says how many bytes it
//!   took, and [`csv::CsvDecoder::flush`] hands out a batch whenever the decoder is full or
//!   the input ends. [`StreamSource`] drives one from any `Read`, so the same decoder
//!   serves a local file, an HTTP body or an object-store stream.
//! - [`ParquetSource`] reads a local file; [`RemoteParquetSource`] reads through any
//!   parquet `AsyncFileReader` (the store crate's range requests). [`AvroSource`] streams
//!   an object container file; [`XlsxSource`] one sheet of a workbook.
//! - [`decompress`] undoes gzip, zstd, bzip2 and xz on the fly, with limits against
//!   decompression bombs; [`Format`] tells a format from a name and the first bytes;
//!   [`sniff_encoding`] tells whether a file is really UTF-8, so a locale's legacy
//!   encoding does not garble it.
//!
//! Nothing here opens a file, a URL or a database connection: callers hand in readers.

mod avro_source;
mod compression;
pub mod csv;
pub mod format;
pub mod json;
mod parquet_footer;
mod parquet_pages;
mod parquet_source;
mod parquet_thrift;
mod sniff;
mod source;
mod text_batch;
pub mod xlsx;
mod xlsx_source;

pub use avro_source::AvroSource;
pub use compression::{BombError, ByteCounter, Compression, Counted, DecompressLimits, decompress};
pub use format::Format;
pub use parquet_source::{ParquetSource, RemoteParquetSource};
pub use sniff::{Sniffed, sniff_encoding};
pub use source::{
    PushDecoder, RecordSource, SourceBatch, SourceError, StreamSource, TypedBatch, csv_source,
    json_source,
};
pub use text_batch::{RecordReject, TextBatch};
pub use xlsx_source::XlsxSource;

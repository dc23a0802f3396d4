//! Push decoders: bytes in, batches of records out.
//!
//! A decoder does no I/O of its own (the shape of arrow-csv's `Decoder`): the caller hands it
//! slices with [`csv::CsvDecoder::decode`], which says how many bytes it took, and takes a
//! [`TextBatch`] with [`csv::CsvDecoder::flush`] whenever the decoder is full or the input
//! ends. The same decoder then serves a local file, an HTTP body or an object-store stream.
//!
//! [`sniff_encoding`] tells from the head of a file whether it is UTF-8, so that a legacy
//! encoding implied by a locale does not garble a file that is really UTF-8.

mod compression;
pub mod csv;
pub mod format;
pub mod json;
mod sniff;
mod text_batch;
pub mod xlsx;

pub use compression::{BombError, ByteCounter, Compression, Counted, DecompressLimits, decompress};
pub use format::Format;
pub use sniff::{Sniffed, sniff_encoding};
pub use text_batch::{RecordReject, TextBatch};

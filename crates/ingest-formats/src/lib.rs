//! Push decoders: bytes in, batches of records out.
//!
//! A decoder does no I/O of its own (the shape of arrow-csv's `Decoder`): the caller hands it
//! slices with [`csv::CsvDecoder::decode`], which says how many bytes it took, and takes a
//! [`TextBatch`] with [`csv::CsvDecoder::flush`] whenever the decoder is full or the input
//! ends. The same decoder then serves a local file, an HTTP body or an object-store stream.

pub mod csv;
mod text_batch;

pub use text_batch::{RecordReject, TextBatch};

//! One export: a table's or a query's rows to Parquet, CSV or NDJSON, in one snapshot,
//! streamed, on a local disk or in a store.
//!
//! [`ExportRequest`] says what to export where ([`args::ExportArgs`] parses it, for the
//! command line and the job API alike); [`run`] reads the rows from one
//! `COPY (...) TO STDOUT` inside a `REPEATABLE READ READ ONLY` transaction and returns an
//! [`ExportSummary`], or an [`ExportError`] whose exit code says who can fix it.
//!
//! - Parquet: the COPY is binary and its rows are decoded straight into Arrow batches
//!   ([`binary_copy`], typed by [`columns`]) on a thread per reader, while another thread
//!   encodes row groups; a large table is read by several connections sharing the
//!   snapshot, each a range of its blocks. [`parquet_files`] writes one file, or a
//!   Hive-partitioned directory with a manifest.
//! - CSV and NDJSON are PostgreSQL's own output, streamed through the compression the
//!   name asks for (`.gz`, `.zst`); `--locale pt-BR` is formatted by the server.
//! - Nothing is written under the final name until the file is whole ([`output`]):
//!   a temporary file renamed, or a multipart upload completed last.
//!
//! This crate does not depend on the load, the server or the binary.

pub mod args;
pub mod binary_copy;
pub mod columns;
mod error;
pub mod output;
mod parquet_export;
pub mod parquet_files;
mod request;
mod run;
mod text;

pub use error::ExportError;
pub use request::{ExportFormat, ExportRequest, ExportSource, ExportSummary, PartitionBy};
pub use run::{refuse_writes, run};

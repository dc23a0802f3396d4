//! One load: from a file (or several) to a committed, or untouched, table.
//!
//! [`LoadRequest`] says what to load where; [`run`] expands the source into its files
//! (globs and prefixes, through `ingest-store`), opens each with its reader (from
//! `ingest-formats`), plans the column mapping against the catalog ([`plan_columns`]),
//! then runs three stages joined by bounded channels, so memory stays flat whatever the
//! file size:
//!
//! 1. read: a [`ingest_formats::RecordSource`] hands out batches of text or typed columns;
//! 2. transform: each column is coerced (text) or cast (typed) to its target type, bad
//!    values become [`Reject`]s, key columns are hashed for in-file duplicates, and the
//!    batch is encoded as binary COPY;
//! 3. deliver: the encoded rows stream into PostgreSQL through
//!    [`ingest_pg::TableWriter`], and the rejects into a [`RejectSink`], under the
//!    [`RejectLimit`].
//!
//! The summary ([`LoadSummary`]) is the load's statistics; [`Progress`] is what a caller
//! watches (bytes and rows so far, whether the load is committing) and how it cancels the
//! server's statement; a [`ProgressView`] shows it (the binary's progress bar).
//! [`args::LoadArgs`] is the load's options as clap definitions, shared by the CLI and the
//! job API so that both accept and refuse exactly the same things.
//!
//! This crate does not depend on the server or the binary.

pub mod args;
mod delivery;
mod error;
mod input;
pub mod inspect;
mod key_hash;
mod multi_source;
mod open;
mod plan;
mod progress;
mod quality;
mod rejects;
mod request;
mod run;
mod sent_lines;
mod server_read;
mod shape;
mod summary;
mod transform;

pub use error::LoadError;
pub use plan::{ColumnPlan, PlanError, plan_columns};
pub use progress::{Progress, ProgressView};
pub use rejects::{Reject, RejectLimit, RejectSink};
pub use request::{
    BeforeCommit, DEFAULT_INFER_ROWS, LoadRequest, RecordsInput, RecordsOpener, TableShape,
    TextOptions,
};
pub use run::run;
pub use shape::infer_table;
pub use summary::LoadSummary;

//! Where bytes live: a URL (`s3://`, `gs://`, `az://`, `http(s)://`, `file://`) or a path,
//! turned into something to read, list, write or delete, through the `object_store` crate.
//!
//! - [`resolve`] gives the [`Remote`] (store and path) a URL names; credentials come from
//!   the environment each store's SDK reads (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
//! - [`open_stream`] and [`open_web`] read a whole object or an http(s) response as a
//!   blocking [`BodyRead`], chunk by chunk, for a reader stage on a thread of its own;
//!   [`ObjectRanges`] gives Parquet random access by range requests, fetching the next
//!   row group ahead.
//! - [`expand`] turns a glob or a prefix ending in `/` into the files it names.
//! - [`redacted`] is how a URL appears in messages: without its password or query string.
//! - [`SourceGuard`] decides what a job that came through the API may read (no private
//!   hosts, no files outside the configured roots).
//! - [`write_stream`], [`delete_object`] and [`unique_tag`] serve the objects the service
//!   writes itself (uploads).
//!
//! Failures are [`StoreError`]s, which say whether the request (a missing object, refused
//! credentials) or the network is at fault. This crate knows nothing of formats, tables or
//! PostgreSQL.

mod body;
mod error;
mod glob;
mod guard;
mod ranges;
mod redact;
mod resolve;
mod upload;
mod web;

pub use body::{BodyRead, open_stream, size};
pub use error::StoreError;
pub use glob::{ExpandError, SourceFile, expand};
pub use guard::SourceGuard;
pub use ranges::{ObjectRanges, Prefetch};
pub use redact::{is_url, redacted};
pub use resolve::{
    DEFAULT_READ_TIMEOUT, Remote, delete_object, install_crypto_provider, object_at, resolve,
    unique_tag,
};
pub use upload::{WriteError, write_stream};
pub use web::{WebUrl, is_web_url_with_query, open_web, request_error, resolve_web};

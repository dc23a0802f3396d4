//! Pull sources: data that sits behind a partner's REST API or in another database,
//! described once ([`SourceSpec`], YAML or JSON) and read incrementally into the same load
//! pipeline as a file.
//!
//! - [`pull()`] runs a spec once: it reads the stored [`cursor`], opens the source's records
//!   past it ([`http`] page by page, [`db`] MariaDB/MySQL or PostgreSQL as a stream, with
//!   the query of [`db_query`]), loads them with `ingest_load::run`, and stores the largest
//!   cursor read ([`track`]) in the load's own transaction.
//! - `${env:NAME}` secrets ([`expand_env`]) are resolved where the source runs and never
//!   written back; [`schedule`] says when a registered source runs next; [`stats`] counts
//!   what a run asked of its source.
//!
//! It depends on the load (and below), never on the server or the binary.

pub mod cursor;
pub mod db;
pub mod db_query;
mod env;
pub mod http;
pub mod pull;
mod resolve;
pub mod schedule;
mod spec;
pub mod stats;
pub mod track;

pub use env::expand_env;
pub use pull::{PullError, PullOptions, PullOutcome, pull};
pub use spec::{
    ApiKeyPlace, Auth, DbSource, HttpRequest, HttpSource, Incremental, Pagination, RateLimit,
    Retry, Schedule, SourceKind, SourceSpec, SpecError, Target, TargetMode,
};

//! The service's state in PostgreSQL: its schema (numbered migrations) and the job queue,
//! a few SQL statements on tokio-postgres. Workers claim a due job with one
//! `FOR UPDATE SKIP LOCKED` statement and hold it by a lease renewed by heartbeat; a job
//! whose lease ran out (its worker died) is put back by the rescuer; a failed attempt that
//! can succeed on retry is queued again after an exponential backoff with jitter, up to
//! `max_attempts`. Idle workers wait on `LISTEN`, woken by the `NOTIFY` of each new job.
//! [`Tokens`] are the API's bearer tokens, stored as SHA-256 hashes.
//!
//! A job's payload is opaque JSON here: this crate knows nothing of loads, exports or
//! HTTP, which the server puts on top of it.

mod migrate;
mod queue;
mod schema;
mod sessions;
mod tokens;

pub use migrate::{LATEST, applied_version, migrate};
pub use queue::{
    Backoff, Heartbeat, Job, JobState, NewJob, Profile, Queue, RejectRow, RunStart, SourceMetrics,
    SourceRow, StoredFile, Tick,
};
pub use schema::Schema;
pub use sessions::Session;
pub use tokens::{Grant, TablePatterns, TokenInfo, Tokens};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("database: {}", full_message(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("migration {version} failed: {source}")]
    Migration {
        version: i32,
        source: tokio_postgres::Error,
    },
    #[error("{0}")]
    Invalid(String),
    /// A run of the source is already queued or running: one at a time.
    #[error("a run of source {0} is already queued or running")]
    SourceBusy(String),
}

/// A database error with the server's own message (tokio-postgres says only "db error").
pub fn full_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

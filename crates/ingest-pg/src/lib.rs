//! The PostgreSQL side of a load.
//!
//! - [`connect`] opens a connection from a URL or the libpq `PG*` variables.
//! - [`catalog::resolve_table`] reads a target table's columns, types, NOT NULL, defaults
//!   and primary key into an [`ingest_core::TableSchema`].
//! - [`CopyEncoder`] writes Arrow columns as PostgreSQL binary COPY, row by row but with
//!   each column's array downcast once per batch.
//! - [`TableWriter`] runs a load's SQL: `COPY` into the target (insert, replace) or into a
//!   per-load UNLOGGED staging table merged into the target (upsert, merge), all in one
//!   transaction, so the target changes only at `COMMIT`.
//! - [`ServerCast`] asks the server for the binary form of values only its input
//!   functions read (types without an encoder here, spellings only PostgreSQL takes).
//! - [`ddl`] makes a table from a file's columns (`--create`) and adds new ones
//!   (`--evolve`), inside the load's transaction.
//! - [`local_pg::find_or_start`] finds a PostgreSQL when none was configured, starting a
//!   private cluster with the system's `initdb` and `pg_ctl` as a last resort.
//!
//! It knows tables and SQL, not files: it depends on `ingest-core` only, never on a
//! reader, a store or the service.

pub mod catalog;
mod connect;
mod copy_encoder;
pub mod ddl;
mod error;
pub mod ident;
pub mod local_pg;
mod numeric;
mod server_cast;
mod writer;

pub use catalog::ResolvedTable;
pub use connect::{ConnectSource, connect, connect_config};
pub use copy_encoder::CopyEncoder;
pub use error::PgError;
pub use server_cast::ServerCast;
pub use writer::{
    DiffSink, DuplicateKey, DuplicatePolicy, LINE_COLUMN, LoadMode, LoadPlanSql, STAGING_SCHEMA,
    TableWriter, WriteStats, ensure_staging_schema,
};

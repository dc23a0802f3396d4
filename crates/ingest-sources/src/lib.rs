//! Pull sources: data that sits behind a partner's REST API or in another database,
//! described once ([`SourceSpec`], YAML or JSON) and read incrementally into the same load
//! pipeline as a file.
//!
//! So far: the spec, read and checked ([`SourceSpec::parse`]), `${env:NAME}` secrets
//! ([`expand_env`]), resolved where the source runs and never written back, and the
//! [`cursor`], stored in the same transaction as the rows it covers, and the query a
//! database source runs past it ([`db_query`]).
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

//! `ingest` as a library: the load command's engine, used by the binary and the tests.
//!
//! [`load::LoadRequest`] says what to load where; [`load::run`] plans the column mapping
//! against the catalog, then runs three stages joined by bounded channels — read and split
//! the file ([`load::source`]), coerce and encode ([`load::transform`]), stream into
//! PostgreSQL ([`ingest_pg::TableWriter`]) — and returns a [`load::LoadSummary`].

pub mod export;
pub mod load;
pub mod local_pg;
pub mod progress;

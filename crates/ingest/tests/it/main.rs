//! Integration tests: the real `ingest` binary against a real PostgreSQL.
//!
//! Every test gets its own schema (dropped at the end) in the database named by
//! `INGEST_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`), and its
//! own temporary directory for files. `scripts/test.sh` starts PostgreSQL first.

mod fixtures;
mod support;

mod api;
mod atomic;
mod bad_input;
mod bad_typed;
mod create;
mod demo;
mod export;
mod formats;
mod keys;
mod load_modes;
mod migrate;
mod parity;
mod pull;
mod quality;
mod real_files;
mod reliability;
mod stores;
mod streams;
mod typed_values;
mod types;
mod worker;

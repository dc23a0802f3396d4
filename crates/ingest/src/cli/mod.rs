//! Command-line arguments.

pub mod client;
pub mod consume_cmd;
pub mod demo;
pub mod export_cmd;
pub mod infer_cmd;
pub mod load_cmd;
pub mod migrate;
pub mod pull_cmd;
pub mod rules_cmd;
pub mod sources_cmd;
pub mod token;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the data failed: rejects over --max-errors, a malformed or corrupt file, a value or
     constraint the database refuses (for `submit --wait` and `wait`: the job failed or
     was cancelled)
  2  usage or configuration error (bad option, unknown table or column, a privilege or a
     request the database or the API refused)
  3  what a retry may cure: the connection, the database server, a deadlock or lock
     timeout, a store that fails or stalls
  130 interrupted (Ctrl-C); nothing was written";

/// Bulk data ingestion into PostgreSQL: typed, validated, atomic.
#[derive(Debug, Parser)]
#[command(name = "ingest", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a file (CSV, TSV, JSON, Parquet, Avro, xlsx; from a path or a store) into a
    /// table: append, upsert, merge or replace
    Load(Box<ingest_load::args::LoadArgs>),
    /// Print the CREATE TABLE a file would make (the types its columns declare, or the
    /// narrowest types a sample of its values fits)
    Infer(Box<ingest_load::args::InferArgs>),
    /// Export a table or a query to Parquet, CSV or NDJSON (a path or a store), in one
    /// snapshot
    Export(Box<ingest_export::args::ExportArgs>),
    /// Run a pull source once (a REST API, MariaDB/MySQL or PostgreSQL): fetch what changed
    /// since its cursor, load it, store the new cursor in the same transaction
    Pull(Box<pull_cmd::PullArgs>),
    /// Consume a stream (Kafka, RabbitMQ, NATS JetStream, Redis Streams) into a table,
    /// exactly once: each micro-batch is a load, committed with the consumer's position
    Consume(Box<consume_cmd::ConsumeArgs>),
    /// Pull sources registered with the service: apply a spec, list, show, run now,
    /// pause, resume, delete
    #[command(subcommand)]
    Sources(sources_cmd::SourcesCommand),
    /// Create or update the service's schema (job queue, rejects, events, API tokens)
    Migrate(migrate::MigrateArgs),
    /// The Bulk API (HTTP) over the job queue, with workers in the same process
    Serve(ingest_server::api::ServeArgs),
    /// Send a file or a URL to the Bulk API as a job (`--wait` to follow it to its end)
    Submit(Box<client::SubmitArgs>),
    /// A job's state, progress and statistics, as JSON
    Status(client::JobArgs),
    /// Wait for a job to end; print it as JSON (exit 1 if it failed)
    Wait(client::JobArgs),
    /// Cancel a job (a running load rolls back: the table is untouched)
    Cancel(client::JobArgs),
    /// A job's rejected rows, as CSV or NDJSON
    Errors(client::ErrorsArgs),
    /// A table's quality rules: register them (every load into the table applies them),
    /// show them, print their JSON Schema
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Create, list and revoke the API's bearer tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Run queued jobs (any number of workers, on any number of machines, one queue)
    Worker(ingest_server::worker::WorkerArgs),
    /// Generate a sample file and load it into a local PostgreSQL (starting a private one if
    /// none is reachable)
    Demo(demo::DemoArgs),
}

pub use ingest_server::{Failure, QueueDb};

/// Prints a failure and gives the exit code.
pub fn exit_code(result: Result<(), Failure>) -> i32 {
    match result {
        Ok(()) => 0,
        Err((code, msg)) => {
            eprintln!("ingest: {msg}");
            code
        }
    }
}

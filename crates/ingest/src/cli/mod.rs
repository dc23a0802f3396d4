//! Command-line arguments.

pub mod client;
pub mod demo;
pub mod export_cmd;
pub mod job_request;
pub mod listen;
pub mod load_args;
pub mod load_cmd;
pub mod migrate;
pub mod openapi;
pub mod serve;
pub mod token;
pub mod worker;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the data failed: rejects over --max-errors, a malformed file, a constraint (for
     `submit --wait` and `wait`: the job failed or was cancelled)
  2  usage or configuration error (bad option, unknown table or column, a request the API
     refused)
  3  connection, database or store error (worth a retry)
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
    Load(Box<load_args::LoadArgs>),
    /// Export a table or a query to Parquet, CSV or NDJSON (a path or a store), in one
    /// snapshot
    Export(Box<export_cmd::ExportArgs>),
    /// Create or update the service's schema (job queue, rejects, events, API tokens)
    Migrate(migrate::MigrateArgs),
    /// The Bulk API (HTTP) over the job queue, with workers in the same process
    Serve(serve::ServeArgs),
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
    /// Create, list and revoke the API's bearer tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Run queued jobs (any number of workers, on any number of machines, one queue)
    Worker(worker::WorkerArgs),
    /// Generate a sample file and load it into a local PostgreSQL (starting a private one if
    /// none is reachable)
    Demo(demo::DemoArgs),
}

/// A command's failure: its exit code and message.
pub type Failure = (i32, String);

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

/// Where the service keeps its state: the database and the schema of the queue.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueDb {
    /// PostgreSQL URL (the queue and the target tables); the libpq variables PGHOST,
    /// PGPORT, PGUSER, ... otherwise
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Schema that holds the service's tables
    #[arg(long, env = "INGEST_SCHEMA", default_value = "ingest")]
    pub schema: String,
}

impl QueueDb {
    /// The queue's database and schema, migrated: what `migrate`, `worker`, `serve` and
    /// `token` start with. Returns the versions it applied.
    pub async fn migrated(
        &self,
    ) -> Result<(ingest_pg::ConnectSource, ingest_queue::Schema, Vec<i32>), Failure> {
        let schema = ingest_queue::Schema::new(&self.schema).map_err(|e| (2, e.to_string()))?;
        let source = match &self.database_url {
            Some(url) => ingest_pg::ConnectSource::Url(url.clone()),
            None => ingest_pg::ConnectSource::Env,
        };
        let mut client = ingest_pg::connect(&source)
            .await
            .map_err(|e| (3, e.to_string()))?;
        let applied = ingest_queue::migrate(&mut client, &schema)
            .await
            .map_err(|e| (3, e.to_string()))?;
        Ok((source, schema, applied))
    }
}

//! The service: the Bulk API over the job queue, and the workers that run its jobs.
//!
//! - [`api::serve`] (`ingest serve`) is an axum app: jobs from a URL or an upload
//!   (`/v1/jobs`, `PUT /v1/jobs/{id}/data`), their state, long polls, events (SSE), rejects,
//!   cancel and retry; exports as jobs (`/v1/exports`); health and metrics; errors as
//!   `application/problem+json`; bearer tokens scoped to tables; the OpenAPI document and
//!   Swagger UI ([`openapi`]). Every source a job names passes the
//!   [`ingest_store::SourceGuard`] first.
//! - [`worker`] (`ingest worker`, and the workers inside `serve`) claims due jobs from the
//!   queue ([`ingest_queue`]), holds each one's lease by heartbeat, runs it as a load
//!   ([`ingest_load`]) or an export ([`ingest_export`]), and records the outcome: a load's
//!   success is written in the load's own transaction, so a job commits exactly once.
//!   A pull source's run ([`ingest_sources`]) is such a load; [`schedule`] (ticked by
//!   every process that runs workers) makes the runs of registered sources.
//! - [`job_request`] turns a job's JSON into the same request the command line builds,
//!   parsed by the same clap definitions; [`listen`] keeps the `LISTEN` connection that
//!   wakes idle workers, delivers cancels and ends long polls.
//!
//! Nothing here depends on the binary; the binary parses arguments and prints.

pub mod api;
pub mod console;
pub mod job_request;
pub mod listen;
pub mod openapi;
pub mod schedule;
pub mod worker;

/// A command's failure: its exit code and message.
pub type Failure = (i32, String);

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

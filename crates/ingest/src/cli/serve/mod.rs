//! `ingest serve`: the Bulk API over the job queue, and workers in the same process.
//!
//! Errors are `application/problem+json` (RFC 9457) with a stable `type`; the details of
//! a server-side failure are logged, never sent.

pub mod events;
pub mod health;
pub mod jobs;
mod problem;
pub mod rejects;
pub mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post, put};
use clap::Args;
use ingest_queue::Queue;
use utoipa::OpenApi;

use crate::cli::openapi::ApiDoc;
use problem::problem;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest serve                              # API on 127.0.0.1:8080 and a worker per core
  ingest serve --port 9000 --workers 0      # API only; run `ingest worker` elsewhere
  curl -X POST localhost:8080/v1/jobs -H 'content-type: application/json' \\
    -d '{\"source\":{\"url\":\"s3://landing/in/orders.csv\"},\"target\":{\"table\":\"public.orders\",\"key\":[\"id\"]},\"mode\":\"upsert\"}'")]
pub struct ServeArgs {
    /// PostgreSQL URL (the queue and the target tables); PG* variables otherwise
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Schema that holds the queue
    #[arg(long, env = "INGEST_SCHEMA", default_value = "ingest")]
    pub schema: String,

    /// Address to listen on; anything but loopback will require API tokens
    #[arg(long, env = "INGEST_BIND", default_value = "127.0.0.1")]
    pub bind: String,

    #[arg(long, env = "INGEST_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Workers in this process (default: the number of cores; 0 for an API-only process)
    #[arg(long)]
    pub workers: Option<usize>,

    /// Seconds a job's lease lasts without a heartbeat
    #[arg(long, default_value_t = 30)]
    pub lease: u64,

    /// Where uploaded files are kept until their job has run
    #[arg(long, env = "INGEST_DATA_DIR", default_value = ".ingest/data")]
    pub data_dir: PathBuf,
}

pub struct Api {
    pub pool: deadpool_postgres::Pool,
    pub queue: Queue,
    pub uploads: PathBuf,
}

type Shared = Arc<Api>;

pub async fn run(a: ServeArgs) -> i32 {
    crate::cli::exit_code(serve(a).await)
}

async fn serve(a: ServeArgs) -> Result<(), (i32, String)> {
    let addr: SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| (2, format!("--bind {}: {e}", a.bind)))?;
    if !addr.ip().is_loopback() {
        return Err((
            2,
            format!(
                "--bind {}: API tokens are not implemented yet, so the API listens on loopback only",
                a.bind
            ),
        ));
    }
    let (source, schema, _) =
        crate::cli::migrated_queue(a.database_url.as_deref(), &a.schema).await?;
    let config = ingest_pg::connect_config(&source).map_err(|e| (2, e.to_string()))?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| (2, e.to_string()))?;
    let uploads = a.data_dir.join("uploads");
    std::fs::create_dir_all(&uploads)
        .map_err(|e| (2, format!("--data-dir {}: {e}", a.data_dir.display())))?;
    let uploads = std::fs::canonicalize(&uploads).map_err(|e| (2, e.to_string()))?;
    let workers = a.workers.unwrap_or_else(crate::cli::worker::default_count);
    if workers > 0 {
        crate::cli::worker::start(
            source,
            schema.clone(),
            workers,
            Duration::from_secs(a.lease),
        )
        .await?;
    }
    let api = Arc::new(Api {
        pool,
        queue: Queue::new(schema),
        uploads,
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| (2, format!("listening on {addr}: {e}")))?;
    eprintln!("ingest: API on http://{addr}");
    axum::serve(listener, router(api))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| (3, e.to_string()))
}

fn router(api: Shared) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    ApiDoc::openapi().to_json().unwrap_or_default(),
                )
            }),
        )
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/jobs", post(jobs::create_job).get(jobs::list_jobs))
        .route("/v1/jobs/{id}", get(jobs::get_job))
        .route("/v1/jobs/{id}/data", put(upload::upload))
        .route("/v1/jobs/{id}/errors", get(rejects::job_errors))
        .route("/v1/jobs/{id}/events", get(events::job_events))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel_job))
        .route("/v1/jobs/{id}/retry", post(jobs::retry_job))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "not-found", "no such endpoint") })
        .with_state(api)
}

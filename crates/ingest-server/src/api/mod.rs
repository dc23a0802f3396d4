//! The Bulk API (`ingest serve`) over the job queue, and workers in the same process.
//!
//! Errors are `application/problem+json` (RFC 9457) with a stable `type`; the details of
//! a server-side failure are logged, never sent.

pub mod auth;
pub mod events;
pub mod exports;
pub mod files;
pub mod health;
pub mod jobs;
mod mapping;
pub(crate) mod problem;
pub mod records;
pub mod rejects;
pub mod report;
pub mod rules;
pub mod sources;
pub mod streams;
pub mod tables;
pub mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use clap::Args;
use ingest_queue::{Queue, Tokens};
use utoipa::OpenApi;

use crate::Failure;
use crate::openapi::ApiDoc;
use problem::problem;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest serve                              # API on 127.0.0.1:8080 and a worker per core
  ingest serve --port 9000 --workers 0      # API only; run `ingest worker` elsewhere
  curl -X POST localhost:8080/v1/jobs -H 'content-type: application/json' \\
    -d '{\"source\":{\"url\":\"s3://landing/in/orders.csv\"},\"target\":{\"table\":\"public.orders\",\"key\":[\"id\"]},\"mode\":\"upsert\"}'")]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: crate::QueueDb,

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

    /// A host (name or address) that job URLs may fetch from even though it is on a
    /// private network; repeat or separate with commas
    #[arg(long = "allow-host", env = "INGEST_ALLOW_HOSTS", value_delimiter = ',')]
    pub allow_hosts: Vec<String>,

    /// A directory whose files jobs may load by path or file:// URL; repeat or separate
    /// with commas (none by default: jobs upload files or name them in a bucket)
    #[arg(long = "file-root", env = "INGEST_FILE_ROOTS", value_delimiter = ',')]
    pub file_roots: Vec<PathBuf>,

    /// Seconds an exported query may run (its statement timeout)
    #[arg(long, default_value_t = 3600)]
    pub query_timeout: u64,

    /// Where uploaded files go, as a store URL (`s3://bucket/ingest/uploads`, `az://...`,
    /// `file:///srv/ingest`): workers on other machines read them from there. Default:
    /// `uploads/` under --data-dir, for workers on this machine
    #[arg(long, env = "INGEST_STORE_URL")]
    pub store_url: Option<String>,

    /// The largest batch `POST /v1/tables/{table}/records` takes, in bytes
    #[arg(long, env = "INGEST_MAX_RECORDS_BYTES", default_value_t = 32 << 20)]
    pub max_records_bytes: usize,

    /// The largest file accepted from `POST /v1/files` (the console's uploads), in bytes
    #[arg(long, env = "INGEST_MAX_UPLOAD_BYTES", default_value_t = 2 << 30)]
    pub max_upload_bytes: u64,

    /// Local state: uploaded files when there is no --store-url
    #[arg(long, env = "INGEST_DATA_DIR", default_value = ".ingest/data")]
    pub data_dir: PathBuf,
}

pub struct Api {
    pub pool: deadpool_postgres::Pool,
    pub queue: Queue,
    /// The store URL uploads are written under (no trailing slash).
    pub uploads: String,
    pub tokens: Tokens,
    pub guard: ingest_store::SourceGuard,
    /// The statement timeout of exports that come through the API.
    pub query_timeout: Duration,
    /// The largest file `POST /v1/files` takes.
    pub max_upload_bytes: u64,
    /// The largest batch of records posted at once.
    pub max_records_bytes: usize,
    /// Where loads that run in the API process itself (records posted) connect.
    pub source: ingest_pg::ConnectSource,
    /// Listening beyond loopback: a token is always required.
    pub public: bool,
    /// The id of each job that ends (the queue's `ended:<id>` notifications), what long
    /// polls and event streams wait on; the nil id means "any may have ended".
    pub ended: tokio::sync::broadcast::Sender<uuid::Uuid>,
}

/// Turns the queue's `ended:<id>` notifications into [`Api::ended`].
struct EndedJobs(tokio::sync::broadcast::Sender<uuid::Uuid>);

impl crate::listen::Listener for EndedJobs {
    fn notified(&self, payload: &str) {
        if let Some(id) = payload
            .strip_prefix("ended:")
            .and_then(|id| id.parse().ok())
        {
            let _ = self.0.send(id);
        }
    }

    /// Ends missed while the connection was down: every waiter looks again.
    fn reconnected(&self) {
        let _ = self.0.send(uuid::Uuid::nil());
    }
}

/// Waits until the job `id` may have ended (its notification, or one that may stand for
/// it); false when the channel closed.
pub async fn ended(rx: &mut tokio::sync::broadcast::Receiver<uuid::Uuid>, id: uuid::Uuid) -> bool {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match rx.recv().await {
            Ok(ended) if ended == id || ended.is_nil() => return true,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return true,
            Err(RecvError::Closed) => return false,
        }
    }
}

pub type Shared = Arc<Api>;

/// Runs the API (and, unless `--workers 0`, workers in the same process) until Ctrl-C.
pub async fn serve(a: ServeArgs) -> Result<(), Failure> {
    let addr: SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| (2, format!("--bind {}: {e}", a.bind)))?;
    let (source, schema, _) = a.db.migrated().await?;
    let tokens = Tokens::new(&schema);
    let public = !addr.ip().is_loopback();
    if public {
        let c = ingest_pg::connect(&source)
            .await
            .map_err(|e| (3, e.to_string()))?;
        if !tokens
            .any_active(&c)
            .await
            .map_err(|e| (3, e.to_string()))?
        {
            return Err((
                2,
                format!(
                    "--bind {}: beyond loopback the API needs tokens, and there are none; \
                     create one first: ingest token create --name etl --tables 'public.orders'",
                    a.bind
                ),
            ));
        }
    }
    let config = ingest_pg::connect_config(&source).map_err(|e| (2, e.to_string()))?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| (2, e.to_string()))?;
    let uploads = match &a.store_url {
        Some(url) => {
            ingest_store::object_at(&format!("{}/probe", url.trim_end_matches('/')))
                .map_err(|e| (2, format!("--store-url: {e}")))?;
            url.trim_end_matches('/').to_string()
        }
        None => {
            let dir = a.data_dir.join("uploads");
            std::fs::create_dir_all(&dir)
                .map_err(|e| (2, format!("--data-dir {}: {e}", a.data_dir.display())))?;
            let dir = std::fs::canonicalize(&dir).map_err(|e| (2, e.to_string()))?;
            format!("file://{}", dir.display())
        }
    };
    let workers = a.workers.unwrap_or_else(crate::worker::default_count);
    if workers > 0 {
        crate::worker::start(
            source.clone(),
            schema.clone(),
            workers,
            Duration::from_secs(a.lease),
        )
        .await?;
    }
    let (ended, _) = tokio::sync::broadcast::channel(1024);
    crate::listen::listen(
        source.clone(),
        schema.channel(),
        Arc::new(EndedJobs(ended.clone())),
    )
    .await
    .map_err(|e| (3, e))?;
    let api = Arc::new(Api {
        pool,
        queue: Queue::new(schema),
        uploads,
        tokens,
        public,
        ended,
        query_timeout: Duration::from_secs(a.query_timeout.max(1)),
        max_upload_bytes: a.max_upload_bytes,
        max_records_bytes: a.max_records_bytes,
        source: source.clone(),
        guard: ingest_store::SourceGuard {
            allow_hosts: a.allow_hosts,
            file_roots: a.file_roots,
        },
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
        // Swagger UI at /docs, over the document generated from the handlers.
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(
            Router::new()
                .route("/v1/jobs", post(jobs::create_job).get(jobs::list_jobs))
                .route("/v1/jobs/{id}", get(jobs::get_job))
                .route("/v1/jobs/{id}/data", put(upload::upload))
                .route("/v1/jobs/{id}/errors", get(rejects::job_errors))
                .route("/v1/jobs/{id}/report", get(report::job_report))
                .route(
                    "/v1/tables/{table}/rules",
                    put(rules::put_rules).get(rules::get_rules),
                )
                .route("/v1/jobs/{id}/events", get(events::job_events))
                .route("/v1/jobs/{id}/cancel", post(jobs::cancel_job))
                .route("/v1/jobs/{id}/retry", post(jobs::retry_job))
                .route("/v1/exports", post(exports::create_export))
                .route("/v1/files", post(files::upload_file))
                .route("/v1/files/{id}/inspect", post(files::inspect_file))
                .route("/v1/tables", get(tables::list_tables))
                .route("/v1/tables/{table}/records", post(records::post_records))
                .route("/v1/tables/{table}/profiles", get(tables::list_profiles))
                .route(
                    "/v1/tables/{table}/profiles/{name}",
                    put(tables::put_profile),
                )
                .route(
                    "/v1/sources",
                    post(sources::create_source).get(sources::list_sources),
                )
                .route(
                    "/v1/sources/{name}",
                    get(sources::get_source)
                        .put(sources::put_source)
                        .delete(sources::delete_source),
                )
                .route("/v1/sources/{name}/run", post(sources::run_source))
                .route("/v1/sources/{name}/pause", post(sources::pause_source))
                .route("/v1/sources/{name}/resume", post(sources::resume_source))
                .route("/v1/sources/{name}/runs", get(sources::source_runs))
                .route(
                    "/v1/streams",
                    post(streams::create_stream).get(streams::list_streams),
                )
                .route("/v1/streams/{id}/stop", post(streams::stop_stream))
                .route("/v1/streams/{id}/resume", post(streams::resume_stream))
                .route_layer(axum::middleware::from_fn_with_state(
                    api.clone(),
                    auth::authenticate,
                )),
        )
        .merge(crate::console::router())
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "not-found", "no such endpoint") })
        .with_state(api)
}

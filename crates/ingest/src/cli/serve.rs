//! `ingest serve`: the Bulk API over the job queue, and workers in the same process.
//!
//! Errors are `application/problem+json` (RFC 9457) with a stable `type`; the details of
//! a server-side failure are logged, never sent.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use clap::Args;
use futures_util::StreamExt;
use ingest_pg::ConnectSource;
use ingest_queue::{Job, JobState, NewJob, Queue};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::cli::job_request::load_request;
use crate::cli::openapi::{ApiDoc, JobList, JobRequest, JobView, ProblemView};
use utoipa::OpenApi;

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
    pool: deadpool_postgres::Pool,
    queue: Queue,
    uploads: PathBuf,
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
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/jobs", post(create_job).get(list_jobs))
        .route("/v1/jobs/{id}", get(get_job))
        .route("/v1/jobs/{id}/data", put(upload))
        .route("/v1/jobs/{id}/errors", get(job_errors))
        .route("/v1/jobs/{id}/events", get(job_events))
        .route("/v1/jobs/{id}/cancel", post(cancel_job))
        .route("/v1/jobs/{id}/retry", post(retry_job))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "not-found", "no such endpoint") })
        .with_state(api)
}

/// An RFC 9457 problem: a stable `type`, and a detail for the caller.
struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://ingest.dev/problems/{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or(""),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn problem_of(status: StatusCode, kind: &'static str, detail: &str) -> Problem {
    Problem {
        status,
        kind,
        detail: detail.to_string(),
    }
}

fn problem(status: StatusCode, kind: &'static str, detail: &str) -> Response {
    problem_of(status, kind, detail).into_response()
}

/// A server-side failure: logged with its cause, answered without it.
fn internal_problem(e: impl std::fmt::Display) -> Problem {
    eprintln!("ingest: API error: {e}");
    problem_of(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed; see its log",
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    internal_problem(e).into_response()
}

async fn client(api: &Api) -> Result<deadpool_postgres::Object, Problem> {
    api.pool.get().await.map_err(|e| {
        eprintln!("ingest: database: {e}");
        problem_of(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database is not reachable",
        )
    })
}

fn job_json(job: &Job) -> Value {
    let id = job.id;
    let mut v = json!({
        "id": id.to_string(),
        "kind": job.kind,
        "state": job.state.as_str(),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "target": job.payload.get("target"),
        "source": job.payload.get("source"),
        "mode": job.payload.get("mode"),
        "progress": job.progress,
        "stats": job.stats,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "status_url": format!("/v1/jobs/{id}"),
        "errors_url": format!("/v1/jobs/{id}/errors"),
    });
    if job.state == JobState::PendingUpload {
        v["upload_url"] = json!(format!("/v1/jobs/{id}/data"));
    }
    v
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "The database answers and the schema is current"), (status = 503, body = ProblemView)))]
pub async fn readyz(State(api): State<Shared>) -> Response {
    let Ok(c) = api.pool.get().await else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database is not reachable",
        );
    };
    match ingest_queue::applied_version(&c, api.queue.schema()).await {
        Ok(v) if v == ingest_queue::LATEST => "ready".into_response(),
        Ok(v) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-migrated",
            &format!(
                "schema at version {v}, {} expected: run ingest migrate",
                ingest_queue::LATEST
            ),
        ),
        Err(e) => internal(e),
    }
}

#[utoipa::path(post, path = "/v1/jobs", request_body = JobRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key with the same request returns the same job")),
    responses((status = 201, body = JobView, description = "Created"), (status = 200, body = JobView, description = "Created before with this Idempotency-Key"),
              (status = 400, body = ProblemView), (status = 409, body = ProblemView, description = "The Idempotency-Key was used with another request")))]
pub async fn create_job(
    State(api): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let upload = request.pointer("/source/upload").and_then(Value::as_bool) == Some(true);
    let Some(table) = request
        .pointer("/target/table")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-job",
            "target.table is required",
        );
    };
    // The options are checked now, as the worker will read them (an upload's source is
    // filled in when its body arrives).
    let mut probe = request.clone();
    if upload {
        probe["source"] = json!({"url": "upload.csv"});
    } else if request
        .pointer("/source/url")
        .and_then(Value::as_str)
        .is_none()
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-job",
            "source needs url, or upload: true",
        );
    }
    if let Err(e) = load_request(
        &probe,
        &ConnectSource::Env,
        std::path::Path::new("/dev/null"),
    ) {
        return problem(StatusCode::BAD_REQUEST, "invalid-job", &e);
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let hash =
        hex(ring::digest::digest(&ring::digest::SHA256, request.to_string().as_bytes()).as_ref());
    let new = NewJob {
        kind: "load".into(),
        payload: request,
        target_table: Some(table),
        awaiting_upload: upload,
        max_attempts: 3,
        idempotency_key: key,
        request_hash: Some(hash.clone()),
    };
    let c = match client(&api).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    match api.queue.create(&c, &new).await {
        Ok((job, true)) => (StatusCode::CREATED, Json(job_json(&job))).into_response(),
        Ok((job, false)) => match api.queue.request_hash(&c, job.id).await {
            Ok(Some(h)) if h == hash => (StatusCode::OK, Json(job_json(&job))).into_response(),
            Ok(_) => problem(
                StatusCode::CONFLICT,
                "idempotency-key-reused",
                "this Idempotency-Key was used with another request",
            ),
            Err(e) => internal(e),
        },
        Err(e) => internal(e),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id)
        .map_err(|_| problem_of(StatusCode::NOT_FOUND, "job-not-found", "no such job"))
}

async fn find(api: &Api, id: &str) -> Result<(deadpool_postgres::Object, Job), Problem> {
    let id = parse_id(id)?;
    let c = client(api).await?;
    match api.queue.get(&c, id).await {
        Ok(Some(job)) => Ok((c, job)),
        Ok(None) => Err(problem_of(
            StatusCode::NOT_FOUND,
            "job-not-found",
            "no such job",
        )),
        Err(e) => Err(internal_problem(e)),
    }
}

#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = uuid::Uuid, Path)), responses((status = 200, body = JobView), (status = 404, body = ProblemView)))]
pub async fn get_job(State(api): State<Shared>, Path(id): Path<String>) -> Response {
    match find(&api, &id).await {
        Ok((_, job)) => Json(job_json(&job)).into_response(),
        Err(r) => r.into_response(),
    }
}

/// Streams an upload job's body to a file, then queues the job.
#[utoipa::path(put, path = "/v1/jobs/{id}/data", params(("id" = uuid::Uuid, Path)),
    request_body(content = Vec<u8>, description = "The file, streamed; Content-Encoding: gzip is kept and decoded when read", content_type = "application/octet-stream"),
    responses((status = 202, body = JobView, description = "Stored and queued"), (status = 404, body = ProblemView), (status = 409, body = ProblemView)))]
pub async fn upload(
    State(api): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (c, job) = match find(&api, &id).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    if job.state != JobState::PendingUpload {
        return problem(
            StatusCode::CONFLICT,
            "not-awaiting-upload",
            &format!("the job is {}", job.state.as_str()),
        );
    }
    let format = job
        .payload
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("csv");
    if !format.chars().all(|c| c.is_ascii_alphanumeric()) {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-job",
            "format must be a format name",
        );
    }
    // A gzip'd body is stored as it came; the name tells the reader to decompress it.
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let name = format!("{}.{format}{}", job.id, if gzip { ".gz" } else { "" });
    let path = api.uploads.join(name);
    let written = async {
        let mut file = tokio::fs::File::create(&path).await?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok::<_, std::io::Error>(())
    }
    .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&path).await;
        return problem(
            StatusCode::BAD_REQUEST,
            "upload-failed",
            &format!("the body could not be stored: {e}"),
        );
    }
    let mut payload = job.payload.clone();
    payload["source"] = json!({"url": path.display().to_string(), "upload": true});
    let q = api.queue.schema().quoted();
    if let Err(e) = c
        .execute(
            &format!("UPDATE {q}.jobs SET payload = $2 WHERE id = $1"),
            &[&job.id, &payload],
        )
        .await
    {
        return internal(e);
    }
    match api.queue.uploaded(&c, job.id).await {
        Ok(_) => match api.queue.get(&c, job.id).await {
            Ok(Some(job)) => (StatusCode::ACCEPTED, Json(job_json(&job))).into_response(),
            Ok(None) => problem(StatusCode::NOT_FOUND, "job-not-found", "no such job"),
            Err(e) => internal(e),
        },
        Err(e) => internal(e),
    }
}

/// What the events stream remembers between polls.
struct Watch {
    api: Shared,
    id: Uuid,
    last_event: i64,
    last_progress: Option<Value>,
    done: bool,
}

/// Live progress as server-sent events until the job ends: `progress` (the job, when it
/// changed), one event per job event (`created`, `started`, `retry_scheduled`, ...), and
/// a last `end` with the final job.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "text/event-stream until the job ends", content_type = "text/event-stream"), (status = 404, body = ProblemView)))]
pub async fn job_events(State(api): State<Shared>, Path(id): Path<String>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let job = match find(&api, &id).await {
        Ok((_, job)) => job,
        Err(r) => return r.into_response(),
    };
    let watch = Watch {
        api,
        id: job.id,
        last_event: 0,
        last_progress: None,
        done: false,
    };
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        if w.done {
            return None;
        }
        let mut events: Vec<Event> = Vec::new();
        while events.is_empty() {
            let Ok(c) = w.api.pool.get().await else {
                return None;
            };
            let q = w.api.queue.schema().quoted();
            if let Ok(rows) = c
                .query(
                    &format!("SELECT id, kind, data FROM {q}.job_events WHERE job_id = $1 AND id > $2 ORDER BY id"),
                    &[&w.id, &w.last_event],
                )
                .await
            {
                for r in rows {
                    w.last_event = r.get(0);
                    let kind: String = r.get(1);
                    let data: Value = r.get(2);
                    events.push(Event::default().event(kind).data(data.to_string()));
                }
            }
            let Ok(Some(job)) = w.api.queue.get(&c, w.id).await else {
                return None;
            };
            let view = job_json(&job);
            if job.state.is_final() {
                events.push(Event::default().event("end").data(view.to_string()));
                w.done = true;
            } else if w.last_progress.as_ref() != Some(&view) {
                events.push(Event::default().event("progress").data(view.to_string()));
                w.last_progress = Some(view);
            }
            if events.is_empty() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        let batch = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
        Some((batch, w))
    })
    .flatten();
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Deserialize)]
pub struct ErrorsQuery {
    format: Option<String>,
}

/// The rejected rows of the job's last attempt, as CSV or NDJSON.
#[utoipa::path(get, path = "/v1/jobs/{id}/errors", params(("id" = uuid::Uuid, Path), ("format" = Option<String>, Query, description = "csv (default) or ndjson")),
    responses((status = 200, description = "line, column, value, reason, file of each rejected row", content_type = "text/csv"), (status = 404, body = ProblemView)))]
pub async fn job_errors(
    State(api): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<ErrorsQuery>,
) -> Response {
    let (c, job) = match find(&api, &id).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let schema = api.queue.schema().quoted();
    let rows = match c
        .query(
            &format!("SELECT line, column_name, value, reason, file FROM {schema}.job_errors WHERE job_id = $1 ORDER BY seq"),
            &[&job.id],
        )
        .await
    {
        Ok(rows) => rows,
        Err(e) => return internal(e),
    };
    let ndjson = q.format.as_deref() == Some("ndjson");
    let mut out = Vec::new();
    if ndjson {
        for r in &rows {
            let v = json!({"line": r.get::<_, i64>(0), "column": r.get::<_, Option<String>>(1),
                "value": r.get::<_, Option<String>>(2), "reason": r.get::<_, String>(3), "file": r.get::<_, Option<String>>(4)});
            out.extend_from_slice(v.to_string().as_bytes());
            out.push(b'\n');
        }
    } else {
        let mut w = csv::Writer::from_writer(&mut out);
        let _ = w.write_record(["line", "column", "value", "reason", "file"]);
        for r in &rows {
            let line = r.get::<_, i64>(0).to_string();
            let col: Option<String> = r.get(1);
            let val: Option<String> = r.get(2);
            let reason: String = r.get(3);
            let file: Option<String> = r.get(4);
            let _ = w.write_record([
                line.as_str(),
                col.as_deref().unwrap_or(""),
                val.as_deref().unwrap_or(""),
                reason.as_str(),
                file.as_deref().unwrap_or(""),
            ]);
        }
        let _ = w.flush();
        drop(w);
    }
    let content_type = if ndjson {
        "application/x-ndjson"
    } else {
        "text/csv; charset=utf-8"
    };
    ([(header::CONTENT_TYPE, content_type)], out).into_response()
}

#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = JobView, description = "Cancelled, or asked to stop (a running load rolls back)"), (status = 404, body = ProblemView), (status = 409, body = ProblemView)))]
pub async fn cancel_job(State(api): State<Shared>, Path(id): Path<String>) -> Response {
    let (c, job) = match find(&api, &id).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    if job.state.is_final() {
        return problem(
            StatusCode::CONFLICT,
            "job-finished",
            &format!("the job already {}", job.state.as_str()),
        );
    }
    match api.queue.cancel(&c, job.id).await {
        Ok(Some(job)) => (StatusCode::ACCEPTED, Json(job_json(&job))).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, "job-not-found", "no such job"),
        Err(e) => internal(e),
    }
}

#[utoipa::path(post, path = "/v1/jobs/{id}/retry", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = JobView, description = "Queued again"), (status = 404, body = ProblemView), (status = 409, body = ProblemView)))]
pub async fn retry_job(State(api): State<Shared>, Path(id): Path<String>) -> Response {
    let (c, job) = match find(&api, &id).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
        return problem(
            StatusCode::CONFLICT,
            "job-not-failed",
            &format!("the job is {}", job.state.as_str()),
        );
    }
    match api.queue.retry(&c, job.id).await {
        Ok(Some(job)) => (StatusCode::ACCEPTED, Json(job_json(&job))).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, "job-not-found", "no such job"),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    table: Option<String>,
    limit: Option<i64>,
    /// The `next_cursor` of the previous page: `created_at` (µs since 1970) `|id` of its
    /// last job; no character in it needs escaping in a URL.
    cursor: Option<String>,
}

/// Jobs, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/jobs", params(("state" = Option<String>, Query), ("table" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = JobList)))]
pub async fn list_jobs(State(api): State<Shared>, Query(q): Query<ListQuery>) -> Response {
    let c = match client(&api).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let after = match q.cursor.as_deref() {
        None => None,
        Some(cur) => match cur.split_once('|').and_then(|(t, i)| {
            let at = chrono::DateTime::from_timestamp_micros(t.parse().ok()?)?;
            Some((at, Uuid::parse_str(i).ok()?))
        }) {
            Some(after) => Some(after),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-cursor",
                    "cursor is not one this API gave",
                );
            }
        },
    };
    let jobs = match api
        .queue
        .list(&c, q.state.as_deref(), q.table.as_deref(), after, limit)
        .await
    {
        Ok(jobs) => jobs,
        Err(e) => return internal(e),
    };
    let next = (jobs.len() as i64 == limit)
        .then(|| {
            jobs.last()
                .map(|j| format!("{}|{}", j.created_at.timestamp_micros(), j.id))
        })
        .flatten();
    Json(json!({"jobs": jobs.iter().map(job_json).collect::<Vec<_>>(), "next_cursor": next}))
        .into_response()
}

/// Prometheus text: jobs by state, rows and bytes loaded, queue depth and age.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
pub async fn metrics(State(api): State<Shared>) -> Response {
    let c = match client(&api).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let schema = api.queue.schema().quoted();
    let by_state = c
        .query(
            &format!("SELECT state, count(*) FROM {schema}.jobs GROUP BY state"),
            &[],
        )
        .await;
    let totals = c
        .query_one(
            &format!(
                "SELECT coalesce(sum((stats->>'rows_inserted')::bigint + (stats->>'rows_updated')::bigint), 0)::bigint,
                        coalesce(sum((stats->>'bytes_read')::bigint), 0)::bigint,
                        coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'queued')), 0)::float8
                 FROM {schema}.jobs"
            ),
            &[],
        )
        .await;
    let (Ok(by_state), Ok(totals)) = (by_state, totals) else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "metrics need the database",
        );
    };
    let mut out = String::from("# HELP ingest_jobs Jobs by state.\n# TYPE ingest_jobs gauge\n");
    let mut queued = 0i64;
    for state in [
        "pending_upload",
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
    ] {
        let n: i64 = by_state
            .iter()
            .find(|r| r.get::<_, String>(0) == state)
            .map_or(0, |r| r.get(1));
        if state == "queued" {
            queued = n;
        }
        out.push_str(&format!("ingest_jobs{{state=\"{state}\"}} {n}\n"));
    }
    let (rows, bytes, age): (i64, i64, f64) = (totals.get(0), totals.get(1), totals.get(2));
    out.push_str(&format!(
        "# HELP ingest_queue_depth Jobs waiting to run.\n# TYPE ingest_queue_depth gauge\ningest_queue_depth {queued}\n\
         # HELP ingest_queue_oldest_seconds Age of the oldest queued job.\n# TYPE ingest_queue_oldest_seconds gauge\ningest_queue_oldest_seconds {age}\n\
         # HELP ingest_rows_loaded_total Rows inserted or updated by finished jobs.\n# TYPE ingest_rows_loaded_total counter\ningest_rows_loaded_total {rows}\n\
         # HELP ingest_bytes_read_total Bytes read by finished jobs.\n# TYPE ingest_bytes_read_total counter\ningest_bytes_read_total {bytes}\n"
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

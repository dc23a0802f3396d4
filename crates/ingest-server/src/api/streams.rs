//! `/v1/streams`: stream consumers run by the service as long-running jobs (kind
//! `stream`). A consumer's status and counters are its job's progress; stopping it is
//! cancelling its job (the batch in flight rolls back); resuming it is a new job with the
//! same request, which reads on from the positions stored with the last batch. One
//! consumer of a source runs at a time across all workers.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest_queue::NewJob;
use serde_json::{Value, json};

use super::auth::Access;
use super::jobs::{find, job_json};
use super::problem::{PathOf, Problem, client, internal_problem, problem};
use super::{Api, Shared};
use crate::job_request::stream_request;
use crate::openapi::{JobView, ProblemView, StreamList, StreamRequest};

/// The request checked as the worker will read it, its table against the caller's token and
/// its broker's host against the source guard; the job it makes.
async fn admit(api: &Api, access: &Access, request: Value) -> Result<NewJob, Problem> {
    let invalid = |d: &str| problem(StatusCode::BAD_REQUEST, "invalid-stream", d);
    let (url, _, options) =
        stream_request(&request, &ingest_pg::ConnectSource::Env).map_err(|e| invalid(&e))?;
    let parsed = url::Url::parse(&url).map_err(|e| invalid(&format!("source.url: {e}")))?;
    if !["kafka", "amqp", "amqps", "nats", "redis", "rediss"].contains(&parsed.scheme()) {
        return Err(invalid(
            "source.url: kafka://, amqp://, nats:// or redis://",
        ));
    }
    // The guard judges hosts: a broker on the server's own network needs --allow-host.
    let host = format!(
        "http://{}:{}/",
        parsed.host_str().unwrap_or("localhost"),
        parsed.port().unwrap_or(1)
    );
    api.guard.check(&host).await.map_err(|e| {
        problem(
            StatusCode::FORBIDDEN,
            "source-not-allowed",
            &format!("source.url: {e}"),
        )
    })?;
    let c = client(api).await?;
    let (schema, name) = ingest_pg::catalog::locate_table(&c, &options.table)
        .await
        .map_err(internal_problem)?
        .ok_or_else(|| {
            problem(
                StatusCode::BAD_REQUEST,
                "unknown-table",
                &format!("no table {}", options.table),
            )
        })?;
    access.check(Some(&format!("{schema}.{name}")))?;
    let mut payload = request;
    payload["target"]["resolved"] = json!(ingest_pg::ident::qualified(&schema, &name));
    Ok(NewJob {
        kind: "stream".into(),
        payload,
        target_table: Some(format!("{schema}.{name}")),
        awaiting_upload: false,
        max_attempts: 1,
        idempotency_key: None,
        request_hash: None,
        created_by: access.creator(),
        source_name: None,
    })
}

#[utoipa::path(post, path = "/v1/streams", request_body = StreamRequest,
    responses((status = 201, body = JobView, description = "The consumer is queued; a worker runs it until it is stopped"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "Not a stream request, or its table does not exist"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table, or the broker is on a private network"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn create_stream(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let request: Value = serde_json::from_slice(&body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            &format!("the body is not JSON: {e}"),
        )
    })?;
    let new = admit(&api, &access, request).await?;
    let c = client(&api).await?;
    let (job, _) = api.queue.create(&c, &new).await.map_err(internal_problem)?;
    Ok((StatusCode::CREATED, Json(job_json(&job))).into_response())
}

#[utoipa::path(get, path = "/v1/streams",
    responses((status = 200, body = StreamList, description = "The consumers, newest first, with their status and counters"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn list_streams(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
) -> Result<Response, Problem> {
    let c = client(&api).await?;
    let q = api.queue.schema().quoted();
    let ids = c
        .query(&format!("SELECT id FROM {q}.jobs WHERE kind = 'stream' ORDER BY created_at DESC, id DESC LIMIT 200"), &[])
        .await
        .map_err(internal_problem)?;
    let mut streams = Vec::new();
    for row in ids {
        if let Some(job) = api
            .queue
            .get(&c, row.get(0))
            .await
            .map_err(internal_problem)?
            && access.check_job(&job).is_ok()
        {
            streams.push(job_json(&job));
        }
    }
    Ok(Json(json!({"streams": streams})).into_response())
}

async fn stream_job(
    api: &Api,
    access: &Access,
    id: &str,
) -> Result<(deadpool_postgres::Object, ingest_queue::Job), Problem> {
    let (c, job) = find(api, access, id).await?;
    if job.kind != "stream" {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "stream-not-found",
            "no such stream consumer",
        ));
    }
    Ok((c, job))
}

#[utoipa::path(post, path = "/v1/streams/{id}/stop", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = JobView, description = "Stopping: the batch in flight rolls back, the positions stay at the last committed batch"),
              (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn stop_stream(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
) -> Result<Response, Problem> {
    let (c, job) = stream_job(&api, &access, &id).await?;
    let job = api
        .queue
        .cancel(&c, job.id)
        .await
        .map_err(internal_problem)?
        .unwrap_or(job);
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response())
}

#[utoipa::path(post, path = "/v1/streams/{id}/resume", params(("id" = uuid::Uuid, Path)),
    responses((status = 201, body = JobView, description = "A new consumer job with the same request, reading on from the stored positions"),
              (status = 404, body = ProblemView, content_type = "application/problem+json"), (status = 409, body = ProblemView, content_type = "application/problem+json", description = "The consumer still runs"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table, or the broker is on a private network"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn resume_stream(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
) -> Result<Response, Problem> {
    let (_, job) = stream_job(&api, &access, &id).await?;
    if !job.state.is_final() {
        return Err(problem(
            StatusCode::CONFLICT,
            "stream-running",
            "the consumer still runs; stop it first",
        ));
    }
    let mut request = job.payload.clone();
    if let Some(target) = request.get_mut("target").and_then(Value::as_object_mut) {
        target.remove("resolved");
    }
    let new = admit(&api, &access, request).await?;
    let c = client(&api).await?;
    let (job, _) = api.queue.create(&c, &new).await.map_err(internal_problem)?;
    Ok((StatusCode::CREATED, Json(job_json(&job))).into_response())
}

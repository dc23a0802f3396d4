//! Creating, reading, listing, cancelling and retrying jobs.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ingest_pg::ConnectSource;
use ingest_queue::{Job, JobState, NewJob};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::problem::{Problem, client, internal, internal_problem, problem, problem_of};
use super::{Api, Shared};
use crate::cli::job_request::load_request;
use crate::cli::openapi::{JobList, JobRequest, JobView, ProblemView};

pub fn job_json(job: &Job) -> Value {
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

pub async fn find(api: &Api, id: &str) -> Result<(deadpool_postgres::Object, Job), Problem> {
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

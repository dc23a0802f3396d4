//! `PUT /v1/jobs/{id}/data`: an upload job's file.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest_queue::JobState;
use ingest_store as store;
use serde_json::{Value, json};

use super::Shared;
use super::auth::Access;
use super::jobs::{find, job_json, no_such_job};
use super::problem::{PathOf, Problem, client, internal_problem, problem};
use crate::openapi::{JobView, ProblemView};

/// Streams an upload job's body to a file, then queues the job.
#[utoipa::path(put, path = "/v1/jobs/{id}/data", params(("id" = uuid::Uuid, Path)),
    request_body(content = Vec<u8>, description = "The file, streamed; Content-Encoding: gzip is kept and decoded when read", content_type = "application/octet-stream"),
    responses((status = 202, body = JobView, description = "Stored and queued"), (status = 404, body = ProblemView, content_type = "application/problem+json"), (status = 409, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn upload(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (c, job) = find(&api, &access, &id).await?;
    if job.state != JobState::PendingUpload {
        return Err(problem(
            StatusCode::CONFLICT,
            "not-awaiting-upload",
            &format!("the job is {}", job.state.as_str()),
        ));
    }
    let format = job
        .payload
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("csv");
    if !format.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "invalid-job",
            "format must be a format name",
        ));
    }
    // A gzip'd body is stored as it came; the name tells the reader to decompress it.
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    // Each body gets a name of its own: two PUTs racing for one job never write into
    // the same object, and the one that loses the race is deleted.
    let name = format!(
        "{}-{}.{format}{}",
        job.id,
        store::unique_tag(),
        if gzip { ".gz" } else { "" }
    );
    let url = format!("{}/{name}", api.uploads);
    // No pooled connection is held while a body streams in, for as long as that takes.
    drop(c);
    store_body(&url, body).await?;
    let c = match client(&api).await {
        Ok(c) => c,
        Err(p) => {
            delete_object(&url).await;
            return Err(p);
        }
    };
    let source = json!({"url": url, "upload": true});
    let queued = api.queue.uploaded(&c, job.id, &source).await;
    // Not recorded (an error, or another upload for this job finished first): nobody
    // will read this object.
    if !matches!(queued, Ok(true)) {
        delete_object(&url).await;
    }
    if !queued.map_err(internal_problem)? {
        return Err(problem(
            StatusCode::CONFLICT,
            "not-awaiting-upload",
            "the job's file arrived by another request",
        ));
    }
    let job = api
        .queue
        .get(&c, job.id)
        .await
        .map_err(internal_problem)?
        .ok_or_else(no_such_job)?;
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response())
}

/// Streams `body` into the object `url`, so a half-sent body never appears under its name.
async fn store_body(url: &str, body: Body) -> Result<(), Problem> {
    store::write_stream(url, body.into_data_stream())
        .await
        .map_err(|e| match e {
            store::WriteError::Url(e) => internal_problem(e),
            store::WriteError::Source(_) => {
                problem(StatusCode::BAD_REQUEST, "upload-failed", &e.to_string())
            }
            store::WriteError::Store(e) => store_unavailable(url, e),
        })
}

/// Deletes an object this server stored (an upload nobody will read), logging a failure.
pub async fn delete_object(url: &str) {
    if let Err(e) = store::delete_object(url).await {
        eprintln!("ingest: deleting {}: {e}", store::redacted(url));
    }
}

fn store_unavailable(url: &str, e: impl std::fmt::Display) -> Problem {
    eprintln!("ingest: storing an upload at {}: {e}", store::redacted(url));
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "store-unavailable",
        "the upload could not be stored; try again",
    )
}

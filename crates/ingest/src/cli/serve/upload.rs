//! `PUT /v1/jobs/{id}/data`: an upload job's file.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use ingest_queue::JobState;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::Shared;
use super::auth::Access;
use super::jobs::{find, job_json};
use super::problem::{internal, problem};
use crate::cli::openapi::{JobView, ProblemView};

/// Streams an upload job's body to a file, then queues the job.
#[utoipa::path(put, path = "/v1/jobs/{id}/data", params(("id" = uuid::Uuid, Path)),
    request_body(content = Vec<u8>, description = "The file, streamed; Content-Encoding: gzip is kept and decoded when read", content_type = "application/octet-stream"),
    responses((status = 202, body = JobView, description = "Stored and queued"), (status = 404, body = ProblemView), (status = 409, body = ProblemView)))]
pub async fn upload(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (c, job) = match find(&api, &access, &id).await {
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

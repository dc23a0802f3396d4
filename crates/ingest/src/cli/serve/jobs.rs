//! Creating, reading, listing, cancelling and retrying jobs.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ingest_pg::ConnectSource;
use ingest_queue::{Job, JobState, NewJob};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::Access;
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
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (new, c) = match admit(&api, &access, &body, key).await {
        Ok(x) => x,
        Err(p) => return p.into_response(),
    };
    match api.queue.create(&c, &new).await {
        Ok((job, true)) => (StatusCode::CREATED, Json(job_json(&job))).into_response(),
        Ok((job, false)) => match api.queue.request_hash(&c, job.id).await {
            Ok(h) if h == new.request_hash => {
                (StatusCode::OK, Json(job_json(&job))).into_response()
            }
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

/// Checks a job request (its JSON, its options as the worker will parse them, its
/// source against the guard, its table against the caller's token) and makes the job.
async fn admit(
    api: &Api,
    access: &Access,
    body: &[u8],
    idempotency_key: Option<String>,
) -> Result<(NewJob, deadpool_postgres::Object), Problem> {
    let invalid = |detail: &str| problem_of(StatusCode::BAD_REQUEST, "invalid-job", detail);
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        problem_of(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            &format!("the body is not JSON: {e}"),
        )
    })?;
    let upload = request.pointer("/source/upload").and_then(Value::as_bool) == Some(true);
    let table = request
        .pointer("/target/table")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("target.table is required"))?
        .to_string();
    // The options are checked now, as the worker will read them (an upload's source is
    // filled in when its body arrives).
    let url = request.pointer("/source/url").and_then(Value::as_str);
    let mut probe = request.clone();
    if upload {
        probe["source"] = json!({"url": "upload.csv"});
    } else if url.is_none() {
        return Err(invalid("source needs url, or upload: true"));
    }
    load_request(
        &probe,
        &ConnectSource::Env,
        std::path::Path::new("/dev/null"),
    )
    .map_err(|e| invalid(&e))?;
    if let (false, Some(url)) = (upload, url) {
        api.guard.check(url).await.map_err(|e| {
            problem_of(
                StatusCode::BAD_REQUEST,
                "source-not-allowed",
                &format!("source.url: {e}"),
            )
        })?;
    }
    let c = client(api).await?;
    // The table as the catalog names it, for the token check and for listing by table.
    let located = ingest_pg::catalog::locate_table(&c, &table)
        .await
        .map_err(internal_problem)?
        .map(|(schema, name)| format!("{schema}.{name}"));
    if let Access::Token(_) = access {
        let Some(qualified) = &located else {
            return Err(problem_of(
                StatusCode::BAD_REQUEST,
                "unknown-table",
                &format!("no table {table} (create it before loading into it)"),
            ));
        };
        access.check(Some(qualified))?;
    }
    let hash =
        hex(ring::digest::digest(&ring::digest::SHA256, request.to_string().as_bytes()).as_ref());
    let new = NewJob {
        kind: "load".into(),
        payload: request,
        target_table: Some(located.unwrap_or(table)),
        awaiting_upload: upload,
        max_attempts: 3,
        idempotency_key,
        request_hash: Some(hash),
    };
    Ok((new, c))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id)
        .map_err(|_| problem_of(StatusCode::NOT_FOUND, "job-not-found", "no such job"))
}

/// The job `id`, if it exists and the caller may see it (403 for another table's job).
pub async fn find(
    api: &Api,
    access: &Access,
    id: &str,
) -> Result<(deadpool_postgres::Object, Job), Problem> {
    let id = parse_id(id)?;
    let c = client(api).await?;
    match api.queue.get(&c, id).await {
        Ok(Some(job)) => {
            access.check(job.target_table.as_deref())?;
            Ok((c, job))
        }
        Ok(None) => Err(problem_of(
            StatusCode::NOT_FOUND,
            "job-not-found",
            "no such job",
        )),
        Err(e) => Err(internal_problem(e)),
    }
}

#[derive(Deserialize)]
pub struct GetQuery {
    /// Seconds to wait for the job to end before answering (a long poll; at most 60).
    wait: Option<u64>,
}

/// The job. With `?wait=N`, the answer waits until the job ends or N seconds pass, so a
/// client learns of the end at once without polling quickly.
#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = uuid::Uuid, Path),
    ("wait" = Option<u64>, Query, description = "Wait up to this many seconds (at most 60) for the job to end")),
    responses((status = 200, body = JobView), (status = 404, body = ProblemView)))]
pub async fn get_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    Query(q): Query<GetQuery>,
) -> Response {
    // Subscribed before the first read, so an end between the two is not missed.
    let mut ended = api.ended.subscribe();
    let (c, mut job) = match find(&api, &access, &id).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    drop(c);
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_secs(q.wait.unwrap_or(0).min(60));
    while !job.state.is_final() {
        tokio::select! {
            changed = ended.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep_until(deadline) => break,
        }
        let c = match client(&api).await {
            Ok(c) => c,
            Err(p) => return p.into_response(),
        };
        match api.queue.get(&c, job.id).await {
            Ok(Some(now)) => job = now,
            Ok(None) => break,
            Err(e) => return internal(e),
        }
    }
    Json(job_json(&job)).into_response()
}

#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = JobView, description = "Cancelled, or asked to stop (a running load rolls back)"), (status = 404, body = ProblemView), (status = 409, body = ProblemView)))]
pub async fn cancel_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Response {
    let (c, job) = match find(&api, &access, &id).await {
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
pub async fn retry_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Response {
    let (c, job) = match find(&api, &access, &id).await {
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
pub async fn list_jobs(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    Query(q): Query<ListQuery>,
) -> Response {
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
        .list(
            &c,
            q.state.as_deref(),
            q.table.as_deref(),
            access.visible(),
            after,
            limit,
        )
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

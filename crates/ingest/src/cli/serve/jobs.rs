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
        "to": job.payload.get("to"),
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
    match admit(&api, &access, &body, idempotency_key(&headers)).await {
        Ok((new, c)) => respond_created(&api, &c, &new).await,
        Err(p) => p.into_response(),
    }
}

/// Creates the job: 201 with it, or for a known Idempotency-Key the same job (200) when
/// the request is the same, and 409 when it is not.
pub async fn respond_created(api: &Api, c: &deadpool_postgres::Object, new: &NewJob) -> Response {
    match api.queue.create(c, new).await {
        Ok((job, true)) => (StatusCode::CREATED, Json(job_json(&job))).into_response(),
        Ok((job, false)) => match api.queue.request_hash(c, job.id).await {
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

/// The request's Idempotency-Key header.
pub fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// What makes two requests the same, for Idempotency-Key.
pub fn request_hash(request: &Value) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, request.to_string().as_bytes()).as_ref())
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
    let url = request.pointer("/source/url").and_then(Value::as_str);
    // The source is stored as one of two shapes and nothing else: only the upload handler
    // ever writes a URL into an upload job (and only the worker's cleanup trusts it).
    let source = match (upload, url) {
        (true, None) => json!({"upload": true}),
        (false, Some(url)) => json!({"url": url}),
        (true, Some(_)) => return Err(invalid("source has url or upload: true, not both")),
        (false, None) => return Err(invalid("source needs url, or upload: true")),
    };
    // The options are checked now, as the worker will read them (an upload's source is
    // filled in when its body arrives).
    let mut probe = request.clone();
    probe["source"] = json!({"url": url.unwrap_or("upload.csv")});
    load_request(
        &probe,
        &ConnectSource::Env,
        std::path::Path::new("/dev/null"),
    )
    .map_err(|e| invalid(&e))?;
    if let Some(url) = url {
        api.guard.check(url).await.map_err(|e| {
            problem_of(
                StatusCode::BAD_REQUEST,
                "source-not-allowed",
                &format!("source.url: {e}"),
            )
        })?;
    }
    let c = client(api).await?;
    // The table as the catalog names it: for the token check, for listing by table, and
    // for the worker, which loads exactly the table that was checked.
    let located = ingest_pg::catalog::locate_table(&c, &table)
        .await
        .map_err(internal_problem)?;
    if let Some((schema, _)) = &located
        && (schema == api.queue.schema().name()
            || schema == "pg_catalog"
            || schema == "information_schema")
    {
        return Err(problem_of(
            StatusCode::FORBIDDEN,
            "table-not-allowed",
            &format!("{table} belongs to the service or the catalog"),
        ));
    }
    if let Access::Token(_) = access {
        let Some((schema, name)) = &located else {
            return Err(problem_of(
                StatusCode::BAD_REQUEST,
                "unknown-table",
                &format!("no table {table} (create it before loading into it)"),
            ));
        };
        // `a.b` + `c` and `a` + `b.c` would both read `a.b.c` to a pattern.
        if schema.contains('.') || name.contains('.') {
            return Err(problem_of(
                StatusCode::FORBIDDEN,
                "table-not-allowed",
                "a table whose schema or name holds a dot cannot be matched to a token's patterns",
            ));
        }
        access.check(Some(&format!("{schema}.{name}")))?;
    }
    let hash = request_hash(&request);
    let mut payload = request;
    payload["source"] = source;
    if let Some((schema, name)) = &located {
        payload["target"]["resolved"] = json!(ingest_pg::ident::qualified(schema, name));
    }
    let new = NewJob {
        kind: "load".into(),
        payload,
        target_table: Some(
            located
                .map(|(schema, name)| format!("{schema}.{name}"))
                .unwrap_or(table),
        ),
        awaiting_upload: upload,
        max_attempts: 3,
        idempotency_key,
        request_hash: Some(hash),
        created_by: access.creator(),
    };
    Ok((new, c))
}

/// Where an upload job's file was stored, once it arrived.
fn uploaded_url(job: &Job) -> Option<&str> {
    (job.payload
        .pointer("/source/upload")
        .and_then(Value::as_bool)
        == Some(true))
    .then(|| job.payload.pointer("/source/url").and_then(Value::as_str))
    .flatten()
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
            access.check_job(&job)?;
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
            open = super::ended(&mut ended, job.id) => if !open { break },
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
        Ok(Some(job)) => {
            // A queued upload will never be read; a running job's worker deletes its own.
            if job.state == JobState::Cancelled
                && let Some(url) = uploaded_url(&job)
            {
                super::upload::delete_object(url).await;
            }
            (StatusCode::ACCEPTED, Json(job_json(&job))).into_response()
        }
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
    if job
        .payload
        .pointer("/source/upload")
        .and_then(Value::as_bool)
        == Some(true)
        && uploaded_url(&job).is_none()
    {
        return problem(
            StatusCode::CONFLICT,
            "never-uploaded",
            "the job's file never arrived; create a new job",
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

//! Creating, reading, listing, cancelling and retrying jobs.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ingest_pg::ConnectSource;
use ingest_queue::{Job, JobState, NewJob};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::Access;
use super::problem::{PathOf, Problem, QueryOf, client, internal_problem, problem};
use super::{Api, Shared};
use crate::job_request::{is_upload, load_request, uploaded_url};
use crate::openapi::{JobList, JobRequest, JobView, ProblemView};

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
        "check": crate::job_request::is_check(&job.payload),
        "progress": job.progress,
        "stats": job.stats,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "status_url": format!("/v1/jobs/{id}"),
        "errors_url": format!("/v1/jobs/{id}/errors"),
        "report_url": format!("/v1/jobs/{id}/report"),
    });
    if job.state == JobState::PendingUpload {
        v["upload_url"] = json!(format!("/v1/jobs/{id}/data"));
    }
    if job.kind == "stream" {
        // The consumer's status and counters: live while it runs, final once it ended.
        let live = job.progress.get("stream");
        v["stream"] = live
            .or_else(|| job.stats.as_ref().and_then(|s| s.get("stream")))
            .cloned()
            .unwrap_or(Value::Null);
    }
    v
}

#[utoipa::path(post, path = "/v1/jobs", request_body = JobRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key with the same request returns the same job")),
    responses((status = 201, body = JobView, description = "Created"), (status = 200, body = JobView, description = "Created before with this Idempotency-Key"),
              (status = 400, body = ProblemView, content_type = "application/problem+json"), (status = 409, body = ProblemView, content_type = "application/problem+json", description = "The Idempotency-Key was used with another request"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn create_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (new, c) = admit(&api, &access, &body, idempotency_key(&headers)).await?;
    respond_created(&api, &c, &new).await
}

/// Creates the job: 201 with it, or for a known Idempotency-Key the same job (200) when
/// the request is the same, and 409 when it is not.
pub async fn respond_created(
    api: &Api,
    c: &deadpool_postgres::Object,
    new: &NewJob,
) -> Result<Response, Problem> {
    let (job, created) = api.queue.create(c, new).await.map_err(internal_problem)?;
    if created {
        return Ok((StatusCode::CREATED, Json(job_json(&job))).into_response());
    }
    let hash = api
        .queue
        .request_hash(c, job.id)
        .await
        .map_err(internal_problem)?;
    if hash != new.request_hash {
        return Err(problem(
            StatusCode::CONFLICT,
            "idempotency-key-reused",
            "this Idempotency-Key was used with another request",
        ));
    }
    Ok((StatusCode::OK, Json(job_json(&job))).into_response())
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
    let invalid = |detail: &str| problem(StatusCode::BAD_REQUEST, "invalid-job", detail);
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            &format!("the body is not JSON: {e}"),
        )
    })?;
    let upload = is_upload(&request);
    let table = request
        .pointer("/target/table")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("target.table is required"))?
        .to_string();
    let url = request.pointer("/source/url").and_then(Value::as_str);
    let file = match request.pointer("/source/file") {
        None => None,
        Some(id) => Some(super::files::find(api, access, id.as_str().unwrap_or_default()).await?),
    };
    // The source is stored as one of three shapes and nothing else: only the upload
    // handler ever writes a URL into an upload job (and only the worker's cleanup trusts
    // it); a file uploaded with POST /v1/files is named by its id, its URL the server's.
    let source = match (upload, url, &file) {
        (true, None, None) => json!({"upload": true}),
        (false, Some(url), None) => json!({"url": url}),
        (false, None, Some(f)) => json!({"url": f.url, "file": f.id.to_string(), "name": f.name}),
        (false, None, None) => {
            return Err(invalid(
                "source needs url, file (from POST /v1/files), or upload: true",
            ));
        }
        _ => return Err(invalid("source has one of url, file and upload: true")),
    };
    let url = url.or(file.as_ref().map(|f| f.name.as_str()));
    let rules = match request.get("rules") {
        Some(rules) => Some(
            ingest_quality::RuleSet::parse(&rules.to_string(), "rules")
                .map_err(|e| problem(StatusCode::BAD_REQUEST, "invalid-rules", &e.to_string()))?,
        ),
        None => None,
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
    if let Some(url) = url.filter(|_| file.is_none()) {
        api.guard.check(url).await.map_err(|e| {
            problem(
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
    // A table the job may create is checked under the name it would get.
    let creating = request.pointer("/options/create").and_then(Value::as_bool) == Some(true);
    let located = match located {
        None if creating => Some(
            ingest_pg::ddl::new_table_name(&c, &table)
                .await
                .map_err(|e| invalid(&e.to_string()))?,
        ),
        located => located,
    };
    if let Some((schema, _)) = &located
        && (schema == api.queue.schema().name()
            || schema == "pg_catalog"
            || schema == "information_schema")
    {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "table-not-allowed",
            &format!("{table} belongs to the service or the catalog"),
        ));
    }
    if let Access::Token(_) = access {
        let Some((schema, name)) = &located else {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "unknown-table",
                &format!("no table {table} (create it first, or ask for options.create)"),
            ));
        };
        // `a.b` + `c` and `a` + `b.c` would both read `a.b.c` to a pattern.
        if schema.contains('.') || name.contains('.') {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "table-not-allowed",
                "a table whose schema or name holds a dot cannot be matched to a token's patterns",
            ));
        }
        access.check(Some(&format!("{schema}.{name}")))?;
    }
    // Only once the caller may touch the table: a refusal must not tell it about another.
    if let Some(rules) = &rules {
        check_rules(api, &c, access, rules, located.as_ref()).await?;
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
        source_name: None,
    };
    Ok((new, c))
}

/// A job's own rules: well formed (the worker parses them again), SQL only from a token
/// allowed to send it, and every name found in the table when it exists already.
async fn check_rules(
    api: &Api,
    c: &deadpool_postgres::Object,
    access: &Access,
    set: &ingest_quality::RuleSet,
    located: Option<&(String, String)>,
) -> Result<(), Problem> {
    let invalid = |detail: &str| problem(StatusCode::BAD_REQUEST, "invalid-rules", detail);
    if let Access::Token(grant) = access
        && set.has_sql()
        && !grant.may_run_sql
    {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "sql-not-allowed",
            &format!(
                "token {:?} may not send SQL with a load (after_load, sql checks): that needs a token created with --allow-sql, or the rules registered with the table by one",
                grant.name
            ),
        ));
    }
    super::rules::check_references(c, access, set).await?;
    if let Some((schema, name)) = located
        && let Ok(table) =
            ingest_pg::catalog::resolve_table(c, &ingest_pg::ident::qualified(schema, name)).await
    {
        let quality_problem = |e| match e {
            ingest_quality::QualityError::Database(e) => internal_problem(e),
            e => invalid(&e.to_string()),
        };
        ingest_quality::table_rules::check_against(c, &table.schema, set)
            .await
            .map_err(quality_problem)?;
        // The worker applies the table's registered rules first: the two must fit together.
        if let Some(registered) =
            ingest_quality::table_rules::latest(c, api.queue.schema(), &table.schema)
                .await
                .map_err(quality_problem)?
        {
            registered.rules.merged(set).map_err(quality_problem)?;
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 404 of a job that does not exist (or never did: an id that is not a UUID).
pub fn no_such_job() -> Problem {
    problem(StatusCode::NOT_FOUND, "job-not-found", "no such job")
}

/// The job `id`, if it exists and the caller may see it (403 for another table's job).
pub async fn find(
    api: &Api,
    access: &Access,
    id: &str,
) -> Result<(deadpool_postgres::Object, Job), Problem> {
    let id = Uuid::parse_str(id).map_err(|_| no_such_job())?;
    let c = client(api).await?;
    let job = api
        .queue
        .get(&c, id)
        .await
        .map_err(internal_problem)?
        .ok_or_else(no_such_job)?;
    access.check_job(&job)?;
    Ok((c, job))
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
    responses((status = 200, body = JobView), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn get_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
    QueryOf(q): QueryOf<GetQuery>,
) -> Result<Response, Problem> {
    // Subscribed before the first read, so an end between the two is not missed.
    let mut ended = api.ended.subscribe();
    let (c, mut job) = find(&api, &access, &id).await?;
    drop(c);
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_secs(q.wait.unwrap_or(0).min(60));
    while !job.state.is_final() {
        tokio::select! {
            open = super::ended(&mut ended, job.id) => if !open { break },
            _ = tokio::time::sleep_until(deadline) => break,
        }
        let c = client(&api).await?;
        match api.queue.get(&c, job.id).await.map_err(internal_problem)? {
            Some(now) => job = now,
            None => break,
        }
    }
    Ok(Json(job_json(&job)).into_response())
}

#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = JobView, description = "Cancelled, or asked to stop (a running load rolls back)"), (status = 404, body = ProblemView, content_type = "application/problem+json"), (status = 409, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn cancel_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
) -> Result<Response, Problem> {
    let (c, job) = find(&api, &access, &id).await?;
    if job.state.is_final() {
        return Err(problem(
            StatusCode::CONFLICT,
            "job-finished",
            &format!("the job already {}", job.state.as_str()),
        ));
    }
    let job = api
        .queue
        .cancel(&c, job.id)
        .await
        .map_err(internal_problem)?
        .ok_or_else(no_such_job)?;
    // A queued upload will never be read; a running job's worker deletes its own.
    if job.state == JobState::Cancelled
        && let Some(url) = uploaded_url(&job.payload)
    {
        super::upload::delete_object(url).await;
    }
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response())
}

#[utoipa::path(post, path = "/v1/jobs/{id}/retry", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = JobView, description = "Queued again"), (status = 404, body = ProblemView, content_type = "application/problem+json"), (status = 409, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn retry_job(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
) -> Result<Response, Problem> {
    let (c, job) = find(&api, &access, &id).await?;
    if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
        return Err(problem(
            StatusCode::CONFLICT,
            "job-not-failed",
            &format!("the job is {}", job.state.as_str()),
        ));
    }
    if is_upload(&job.payload) && uploaded_url(&job.payload).is_none() {
        return Err(problem(
            StatusCode::CONFLICT,
            "never-uploaded",
            "the job's file never arrived; create a new job",
        ));
    }
    let job = match api.queue.retry(&c, job.id).await {
        Ok(job) => job.ok_or_else(no_such_job)?,
        Err(ingest_queue::QueueError::SourceBusy(source)) => {
            return Err(problem(
                StatusCode::CONFLICT,
                "source-busy",
                &format!(
                    "a run of source {source} is already queued or running; retry when it ends"
                ),
            ));
        }
        Err(e) => return Err(internal_problem(e)),
    };
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response())
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
    responses((status = 200, body = JobList),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn list_jobs(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    QueryOf(q): QueryOf<ListQuery>,
) -> Result<Response, Problem> {
    // PostgreSQL text holds no NUL: a filter with one matches nothing and is no question.
    if [&q.state, &q.table, &q.cursor]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| v.contains('\0')))
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "a query parameter holds a NUL character",
        ));
    }
    let c = client(&api).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let after = match q.cursor.as_deref() {
        None => None,
        Some(cur) => Some(
            cur.split_once('|')
                .and_then(|(t, i)| {
                    let at = chrono::DateTime::from_timestamp_micros(t.parse().ok()?)?;
                    Some((at, Uuid::parse_str(i).ok()?))
                })
                .ok_or_else(|| {
                    problem(
                        StatusCode::BAD_REQUEST,
                        "invalid-cursor",
                        "cursor is not one this API gave",
                    )
                })?,
        ),
    };
    let jobs = api
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
        .map_err(internal_problem)?;
    let next = (jobs.len() as i64 == limit)
        .then(|| {
            jobs.last()
                .map(|j| format!("{}|{}", j.created_at.timestamp_micros(), j.id))
        })
        .flatten();
    Ok(
        Json(json!({"jobs": jobs.iter().map(job_json).collect::<Vec<_>>(), "next_cursor": next}))
            .into_response(),
    )
}

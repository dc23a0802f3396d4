//! `/v1/sources`: pull sources registered with the service, run on their schedule or on
//! demand, each run a job (`kind: pull`). A source's spec is stored as given; its secrets
//! must be `${env:NAME}` references, resolved by the worker that runs it, so no secret is
//! ever stored, listed or put in a job.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest_queue::{RunStart, SourceRow};
use ingest_sources::{SourceKind, SourceSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Access;
use super::jobs::job_json;
use super::problem::{PathOf, Problem, QueryOf, client, internal_problem, problem};
use super::{Api, Shared};
use crate::job_request::pull_job;
use crate::openapi::{JobView, ProblemView, RunList, SourceList, SourceView};
use crate::schedule::first_tick;

/// A source as the API shows it.
pub fn source_json(s: &SourceRow) -> Value {
    let name = &s.name;
    json!({
        "name": name,
        "spec": s.spec,
        "target_table": s.target_table,
        "paused": s.paused,
        "next_run_at": s.next_run_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "runs_url": format!("/v1/sources/{name}/runs"),
    })
}

fn no_such_source() -> Problem {
    problem(StatusCode::NOT_FOUND, "source-not-found", "no such source")
}

fn invalid(detail: &str) -> Problem {
    problem(StatusCode::BAD_REQUEST, "invalid-source", detail)
}

/// The spec in `body` (JSON or YAML), checked: its shape, secrets as references only, its
/// hosts against the source guard, its table against the caller's token.
async fn admit(api: &Api, access: &Access, body: &[u8]) -> Result<(SourceSpec, String), Problem> {
    let text = std::str::from_utf8(body).map_err(|_| invalid("the body is not UTF-8 text"))?;
    let spec = SourceSpec::parse(text, "the source").map_err(|e| invalid(&e.to_string()))?;
    if let Some(field) = literal_secret(&spec) {
        return Err(invalid(&format!(
            "{field} holds a secret: write it as ${{env:NAME}}, set where the service runs (secrets are never stored)"
        )));
    }
    let table = qualified(&spec.target.table);
    access.check(Some(&table))?;
    let resolved = ingest_sources::pull::resolved(&spec).map_err(|e| invalid(&e.to_string()))?;
    ingest_sources::pull::check_reach(&api.guard, &resolved)
        .await
        .map_err(|e| problem(StatusCode::FORBIDDEN, "source-not-allowed", &e))?;
    Ok((spec, table))
}

/// `schema.table` as tokens name tables.
fn qualified(table: &str) -> String {
    if table.contains('.') {
        table.to_string()
    } else {
        format!("public.{table}")
    }
}

/// The first field that holds a secret in clear rather than as `${env:NAME}`.
fn literal_secret(spec: &SourceSpec) -> Option<&'static str> {
    // A value that is nothing but one `${env:NAME}` reference holds no secret.
    let clear = |v: &str| {
        let v = v.trim();
        let reference = v.starts_with("${env:") && v.ends_with('}');
        !v.is_empty() && !reference
    };
    match &spec.source {
        SourceKind::Http(h) => match &h.auth {
            Some(ingest_sources::Auth::Bearer { token }) if clear(token) => {
                Some("source.auth.token")
            }
            Some(ingest_sources::Auth::ApiKey { value, .. }) if clear(value) => {
                Some("source.auth.value")
            }
            Some(ingest_sources::Auth::Basic { password, .. }) if clear(password) => {
                Some("source.auth.password")
            }
            Some(ingest_sources::Auth::Oauth2ClientCredentials { client_secret, .. })
                if clear(client_secret) =>
            {
                Some("source.auth.client_secret")
            }
            _ => None,
        },
        SourceKind::Mysql(d) | SourceKind::Postgres(d) => {
            if d.password.as_deref().is_some_and(clear) {
                Some("source.password")
            } else if url::Url::parse(&d.url).is_ok_and(|u| u.password().is_some_and(clear)) {
                Some("source.url (its password)")
            } else {
                None
            }
        }
    }
}

async fn store(
    api: &Api,
    access: &Access,
    spec: &SourceSpec,
    table: &str,
) -> Result<(SourceRow, bool), Problem> {
    let c = client(api).await?;
    let value = serde_json::to_value(spec).map_err(internal_problem)?;
    let next = first_tick(spec, chrono::Utc::now());
    api.queue
        .put_source(
            &c,
            &spec.name,
            &value,
            table,
            next,
            access.creator().as_deref(),
        )
        .await
        .map_err(internal_problem)
}

/// The source `name`, if the caller may see it.
async fn find(api: &Api, access: &Access, name: &str) -> Result<SourceRow, Problem> {
    let c = client(api).await?;
    let source = api
        .queue
        .source(&c, name)
        .await
        .map_err(internal_problem)?
        .ok_or_else(no_such_source)?;
    access.check(Some(&source.target_table))?;
    Ok(source)
}

#[utoipa::path(post, path = "/v1/sources",
    request_body(content = String, description = "The source's spec, JSON or YAML (the shape of `ingest pull`'s spec files)", content_type = "application/json"),
    responses((status = 201, body = SourceView, description = "Registered; its schedule starts"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "The spec is not valid, or holds a secret in clear"),
              (status = 409, body = ProblemView, content_type = "application/problem+json", description = "A source of that name exists (PUT replaces it)"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach the target table, or the source's host is on a private network"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn create_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (spec, table) = admit(&api, &access, &body).await?;
    let c = client(&api).await?;
    if api
        .queue
        .source(&c, &spec.name)
        .await
        .map_err(internal_problem)?
        .is_some()
    {
        return Err(problem(
            StatusCode::CONFLICT,
            "source-exists",
            &format!(
                "a source named {:?} exists; PUT /v1/sources/{} replaces it",
                spec.name, spec.name
            ),
        ));
    }
    let (row, _) = store(&api, &access, &spec, &table).await?;
    Ok((StatusCode::CREATED, Json(source_json(&row))).into_response())
}

#[utoipa::path(put, path = "/v1/sources/{name}", params(("name" = String, Path)),
    request_body(content = String, description = "The source's spec, JSON or YAML; its `name` must be the path's", content_type = "application/json"),
    responses((status = 200, body = SourceView, description = "Replaced (a paused source stays paused)"), (status = 201, body = SourceView, description = "Registered"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "The spec is not valid, names another source, or holds a secret in clear"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach the target table, or the source's host is on a private network"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn put_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (spec, table) = admit(&api, &access, &body).await?;
    if spec.name != name {
        return Err(invalid(&format!(
            "the spec is named {:?}, the path {:?}",
            spec.name, name
        )));
    }
    // Replacing another token's source needs access to its table too.
    let c = client(&api).await?;
    if let Some(old) = api
        .queue
        .source(&c, &name)
        .await
        .map_err(internal_problem)?
    {
        access.check(Some(&old.target_table))?;
    }
    let (row, created) = store(&api, &access, &spec, &table).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(source_json(&row))).into_response())
}

#[utoipa::path(get, path = "/v1/sources",
    responses((status = 200, body = SourceList),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn list_sources(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
) -> Result<Response, Problem> {
    let c = client(&api).await?;
    let sources = api.queue.sources(&c).await.map_err(internal_problem)?;
    let visible: Vec<Value> = sources
        .iter()
        .filter(|s| access.allows(&s.target_table))
        .map(source_json)
        .collect();
    Ok(Json(json!({ "sources": visible })).into_response())
}

#[utoipa::path(get, path = "/v1/sources/{name}", params(("name" = String, Path)),
    responses((status = 200, body = SourceView), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this source's table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn get_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
) -> Result<Response, Problem> {
    let source = find(&api, &access, &name).await?;
    Ok(Json(source_json(&source)).into_response())
}

#[utoipa::path(delete, path = "/v1/sources/{name}", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted; its runs stay in the jobs list, its cursor is kept"), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this source's table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn delete_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
) -> Result<Response, Problem> {
    find(&api, &access, &name).await?;
    let c = client(&api).await?;
    if !api
        .queue
        .delete_source(&c, &name)
        .await
        .map_err(internal_problem)?
    {
        return Err(no_such_source());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct RunQuery {
    /// Ignore the cursor this once (a backfill).
    full: Option<bool>,
}

#[utoipa::path(post, path = "/v1/sources/{name}/run", params(("name" = String, Path), ("full" = Option<bool>, Query, description = "Read from the start, ignoring the cursor this once")),
    responses((status = 202, body = JobView, description = "The run is queued"), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 409, body = ProblemView, content_type = "application/problem+json", description = "A run of this source is already queued or running"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this source's table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn run_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
    QueryOf(q): QueryOf<RunQuery>,
) -> Result<Response, Problem> {
    let source = find(&api, &access, &name).await?;
    let mut c = client(&api).await?;
    let job = pull_job(&source, q.full.unwrap_or(false), access.creator());
    match api
        .queue
        .run_source(&mut c, &name, &job)
        .await
        .map_err(internal_problem)?
    {
        RunStart::Started(job) => Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response()),
        RunStart::Busy(id) => Err(problem(
            StatusCode::CONFLICT,
            "source-busy",
            &format!("a run of {name} is already queued or running: /v1/jobs/{id}"),
        )),
        RunStart::NoSuchSource => Err(no_such_source()),
    }
}

#[utoipa::path(post, path = "/v1/sources/{name}/pause", params(("name" = String, Path)),
    responses((status = 200, body = SourceView, description = "Paused: its schedule makes no run (one running goes on to its end)"), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this source's table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn pause_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
) -> Result<Response, Problem> {
    set_paused(&api, &access, &name, true).await
}

#[utoipa::path(post, path = "/v1/sources/{name}/resume", params(("name" = String, Path)),
    responses((status = 200, body = SourceView, description = "Resumed: its schedule starts again from now"), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this source's table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn resume_source(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
) -> Result<Response, Problem> {
    set_paused(&api, &access, &name, false).await
}

async fn set_paused(
    api: &Api,
    access: &Access,
    name: &str,
    paused: bool,
) -> Result<Response, Problem> {
    let source = find(api, access, name).await?;
    let spec: Option<SourceSpec> = serde_json::from_value(source.spec.clone()).ok();
    let next = spec
        .as_ref()
        .and_then(|s| first_tick(s, chrono::Utc::now()));
    let c = client(api).await?;
    let row = api
        .queue
        .pause_source(&c, name, paused, next)
        .await
        .map_err(internal_problem)?
        .ok_or_else(no_such_source)?;
    Ok(Json(source_json(&row)).into_response())
}

#[derive(Deserialize)]
pub struct RunsQuery {
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/sources/{name}/runs", params(("name" = String, Path), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = RunList), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this source's table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn source_runs(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(name): PathOf<String>,
    QueryOf(q): QueryOf<RunsQuery>,
) -> Result<Response, Problem> {
    find(&api, &access, &name).await?;
    let c = client(&api).await?;
    let runs = api
        .queue
        .source_runs(&c, &name, q.limit.unwrap_or(50).clamp(1, 500))
        .await
        .map_err(internal_problem)?;
    Ok(Json(json!({"runs": runs.iter().map(job_json).collect::<Vec<_>>()})).into_response())
}

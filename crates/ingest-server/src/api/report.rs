//! `GET /v1/jobs/{id}/report`: a job's quality report as one self-contained HTML page.

use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest_quality::html::{LoadFacts, render};

use super::Shared;
use super::auth::Access;
use super::jobs::find;
use super::problem::{PathOf, Problem, problem};
use crate::openapi::ProblemView;

/// The page `ingest load --report` writes, for a job that ran: each rule's checks and
/// failures, each column's profile, with charts; no script, no external asset.
#[utoipa::path(get, path = "/v1/jobs/{id}/report", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The quality report", content_type = "text/html"), (status = 404, body = ProblemView, content_type = "application/problem+json", description = "No such job, or it has not run yet"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn job_report(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
) -> Result<Response, Problem> {
    let (c, job) = find(&api, &access, &id).await?;
    drop(c);
    let Some(stats) = job.stats.clone().filter(|_| job.kind == "load") else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "no-report",
            "the job has no report: it has not run yet, or it is an export",
        ));
    };
    let mut facts: LoadFacts = serde_json::from_value(stats).unwrap_or_default();
    if facts.error.is_none() {
        facts.error = job.error.clone();
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page holds the job's rejected values: no framing, no scripts.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ),
        ],
        render(&facts),
    )
        .into_response())
}

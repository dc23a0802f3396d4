//! `POST /v1/exports`: an export as a job in the same queue, with the same status,
//! events, cancel and retry endpoints as loads. A query runs read-only with a statement
//! timeout; a token limited to some tables exports only those tables, and queries need a
//! caller who may read everything (a query's functions can read what its plan does not
//! name).

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ingest_pg::ConnectSource;
use ingest_queue::NewJob;
use serde_json::{Value, json};

use super::auth::Access;
use super::jobs::{idempotency_key, respond_created};
use super::problem::{Problem, client, internal_problem, problem};
use super::{Api, Shared};
use crate::job_request::export_request;
use crate::openapi::{ExportJobRequest, JobView, ProblemView};

#[utoipa::path(post, path = "/v1/exports", request_body = ExportJobRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key with the same request returns the same job")),
    responses((status = 201, body = JobView, description = "Created"), (status = 200, body = JobView, description = "Created before with this Idempotency-Key"),
              (status = 400, body = ProblemView, content_type = "application/problem+json"), (status = 403, body = ProblemView, content_type = "application/problem+json"), (status = 409, body = ProblemView, content_type = "application/problem+json"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn create_export(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (new, c) = admit(&api, &access, &body, idempotency_key(&headers)).await?;
    respond_created(&api, &c, &new).await
}

async fn admit(
    api: &Api,
    access: &Access,
    body: &[u8],
    idempotency_key: Option<String>,
) -> Result<(NewJob, deadpool_postgres::Object), Problem> {
    let invalid = |detail: &str| problem(StatusCode::BAD_REQUEST, "invalid-job", detail);
    let mut request: Value = serde_json::from_slice(body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            &format!("the body is not JSON: {e}"),
        )
    })?;
    // Checked as the worker will read it.
    export_request(&request, &ConnectSource::Env).map_err(|e| invalid(&e))?;
    let to = request["to"].as_str().unwrap_or_default().to_string();
    // Written only to a bucket, or under a directory jobs may use.
    let scheme = to.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(invalid(
            "to: a bucket URL (s3://, gs://, az://) or a path under --file-root",
        ));
    }
    api.guard.check(&to).await.map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "destination-not-allowed",
            &format!("to: {e}"),
        )
    })?;
    let c = client(api).await?;
    let table = match (
        request.pointer("/source/table").and_then(Value::as_str),
        request.pointer("/source/query").and_then(Value::as_str),
    ) {
        (Some(table), _) => {
            let (schema, name) = ingest_pg::catalog::locate_table(&c, table)
                .await
                .map_err(internal_problem)?
                .ok_or_else(|| {
                    problem(
                        StatusCode::BAD_REQUEST,
                        "unknown-table",
                        &format!("no table {table}"),
                    )
                })?;
            readable(api, access, &schema, &name)?;
            Some(format!("{schema}.{name}"))
        }
        (None, Some(query)) => {
            ingest_export::refuse_writes(query).map_err(|e| invalid(&e))?;
            // A query's functions (query_to_xml, lo_get, ...) can read tables its plan does
            // not name: only a caller who may read everything runs queries.
            if !access.reads_everything() {
                return Err(problem(
                    StatusCode::FORBIDDEN,
                    "query-not-allowed",
                    "a token limited to some tables exports tables (source.table), not queries",
                ));
            }
            for (schema, name) in relations(&c, query).await? {
                readable(api, access, &schema, &name)?;
            }
            None
        }
        _ => return Err(invalid("source needs table or query")),
    };
    let hash = super::jobs::request_hash(&request);
    request["statement_timeout_ms"] = json!(api.query_timeout.as_millis() as u64);
    let new = NewJob {
        kind: "export".into(),
        payload: request,
        target_table: table,
        awaiting_upload: false,
        max_attempts: 3,
        idempotency_key,
        request_hash: Some(hash),
        created_by: access.creator(),
        source_name: None,
    };
    Ok((new, c))
}

/// A 403 unless the caller may read the table (never the service's own).
fn readable(api: &Api, access: &Access, schema: &str, name: &str) -> Result<(), Problem> {
    if schema == api.queue.schema().name() || schema.contains('.') || name.contains('.') {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "table-not-allowed",
            &format!("{schema}.{name} cannot be exported through the API"),
        ));
    }
    access.check(Some(&format!("{schema}.{name}")))
}

/// The tables and views a query reads, from its plan (views appear as the tables
/// beneath them, which is what must be readable).
async fn relations(
    c: &deadpool_postgres::Object,
    query: &str,
) -> Result<Vec<(String, String)>, Problem> {
    let row = c
        .query_one(&format!("EXPLAIN (FORMAT JSON, VERBOSE) {query}"), &[])
        .await
        .map_err(|e| {
            let message = e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string());
            problem(
                StatusCode::BAD_REQUEST,
                "invalid-query",
                &format!("query: {message}"),
            )
        })?;
    let plan: Value = row.get(0);
    let mut found = Vec::new();
    collect_relations(&plan, &mut found);
    found.sort();
    found.dedup();
    Ok(found)
}

fn collect_relations(node: &Value, found: &mut Vec<(String, String)>) {
    match node {
        Value::Object(map) => {
            if let (Some(Value::String(schema)), Some(Value::String(name))) =
                (map.get("Schema"), map.get("Relation Name"))
            {
                found.push((schema.clone(), name.clone()));
            }
            map.values().for_each(|v| collect_relations(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_relations(v, found)),
        _ => {}
    }
}

//! `POST /v1/tables/{table}/records`: a JSON array or NDJSON body loaded synchronously as
//! one load (typed, checked against the table and its rules, written in one transaction).
//! 200 with the counts, or 422 with every reject and nothing written (unless `max_errors`
//! lets the accepted rows through). With an `Idempotency-Key` the batch is recorded in the
//! load's own transaction, so a retried POST is a no-op that answers the same.

use std::io::Cursor;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use ingest_formats::{ByteCounter, RecordSource, json_source};
use ingest_load::{BeforeCommit, LoadError, LoadSummary, Progress, RecordsInput};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::auth::Access;
use super::jobs::{idempotency_key, request_hash};
use super::problem::{PathOf, Problem, QueryOf, client, internal_problem, problem};
use crate::openapi::{ProblemView, RecordsView};

#[derive(Deserialize)]
pub struct RecordsQuery {
    /// insert (default), upsert, merge or replace
    mode: Option<String>,
    /// Key columns, comma-separated (default: the primary key)
    key: Option<String>,
    /// Rejected records tolerated (a count or a share, `1%`); default 0
    max_errors: Option<String>,
}

#[utoipa::path(post, path = "/v1/tables/{table}/records",
    params(("table" = String, Path), ("mode" = Option<String>, Query, description = "insert (default), upsert, merge, replace"),
           ("key" = Option<String>, Query, description = "Key columns for upsert and merge, comma-separated (default: the primary key)"),
           ("max_errors" = Option<String>, Query, description = "Rejected records tolerated: a count or a share (1%); default 0"),
           ("Idempotency-Key" = Option<String>, Header, description = "The same key with the same batch is loaded once")),
    request_body(content = String, description = "A JSON array of objects, or NDJSON (one object per line)", content_type = "application/json"),
    responses((status = 200, body = RecordsView, description = "Loaded (or, for a known Idempotency-Key, loaded before)"),
              (status = 422, body = ProblemView, content_type = "application/problem+json", description = "Rejected records over max_errors (listed in `rejects`); nothing written"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "Not JSON records, or options or columns the table refuses"),
              (status = 404, body = ProblemView, content_type = "application/problem+json", description = "No such table"),
              (status = 409, body = ProblemView, content_type = "application/problem+json", description = "The Idempotency-Key was used with another batch"),
              (status = 413, body = ProblemView, content_type = "application/problem+json", description = "Larger than --max-records-bytes"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn post_records(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(table): PathOf<String>,
    QueryOf(q): QueryOf<RecordsQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let invalid = |d: &str| problem(StatusCode::BAD_REQUEST, "invalid-records", d);
    let body = axum::body::to_bytes(body, api.max_records_bytes)
        .await
        .map_err(|_| {
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "records-too-large",
                &format!(
                    "the batch is larger than {} bytes (--max-records-bytes)",
                    api.max_records_bytes
                ),
            )
        })?;
    let c = client(&api).await?;
    let not_found = || {
        problem(
            StatusCode::NOT_FOUND,
            "unknown-table",
            &format!("no table {table}"),
        )
    };
    let (schema, name) = ingest_pg::catalog::locate_table(&c, &table)
        .await
        .map_err(internal_problem)?
        .ok_or_else(not_found)?;
    if schema == api.queue.schema().name() {
        return Err(not_found());
    }
    let qualified = ingest_pg::ident::qualified(&schema, &name);
    access.check(Some(&format!("{schema}.{name}")))?;
    let key = idempotency_key(&headers);
    let hash = request_hash(
        &json!({"table": qualified, "mode": q.mode, "key": q.key, "max_errors": q.max_errors,
        "body": String::from_utf8_lossy(&body)}),
    );
    let q_schema = api.queue.schema().quoted();
    if let Some(k) = &key {
        let known = c
            .query_opt(&format!("SELECT request_hash, response FROM {q_schema}.record_batches WHERE idempotency_key = $1"), &[k])
            .await
            .map_err(internal_problem)?;
        if let Some(row) = known {
            if row.get::<_, String>(0) != hash {
                return Err(problem(
                    StatusCode::CONFLICT,
                    "idempotency-key-reused",
                    "this Idempotency-Key was used with another batch",
                ));
            }
            let mut response: Value = row.get(1);
            response["replayed"] = json!(true);
            return Ok(Json(response).into_response());
        }
    }
    drop(c);

    let mut args = ingest_load::args::defaults(&qualified);
    args.mode = match q.mode.as_deref().unwrap_or("insert") {
        "insert" | "append" => ingest_load::args::Mode::Insert,
        "upsert" => ingest_load::args::Mode::Upsert,
        "merge" => ingest_load::args::Mode::Merge,
        "replace" => ingest_load::args::Mode::Replace,
        other => {
            return Err(invalid(&format!(
                "mode {other:?}: insert, upsert, merge or replace"
            )));
        }
    };
    args.key = q
        .key
        .iter()
        .flat_map(|k| k.split(','))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if let Some(m) = &q.max_errors {
        args.max_errors = m.clone();
    }
    let mut req = ingest_load::args::request(&args).map_err(|e| invalid(&e))?;
    let body = one_record_per_line(body)
        .map_err(|e| invalid(&format!("the body is not a JSON array of records: {e}")))?;
    let errors = tempfile::Builder::new()
        .suffix(".ndjson")
        .tempfile()
        .map_err(internal_problem)?;
    req.errors_file = Some(errors.path().to_path_buf());
    req.database = api.source.clone();
    req.service_schema = api.queue.schema().clone();
    req.file = "records".into();
    let bytes = body.clone();
    req.records = Some(RecordsInput {
        label: "JSON",
        open: Arc::new(move || {
            let reader = Box::new(Cursor::new(bytes.clone()));
            Ok(Box::new(json_source(
                reader,
                Default::default(),
                ByteCounter::default(),
            )) as Box<dyn RecordSource>)
        }),
    });
    if let Some(k) = key.clone() {
        let (q_schema, hash, table) = (q_schema.clone(), hash.clone(), qualified.clone());
        // The batch is recorded with its rows: a retry after a lost answer finds it.
        req.before_commit = Some(BeforeCommit(Arc::new(move |client, summary| {
            let (k, q_schema, hash, table) =
                (k.clone(), q_schema.clone(), hash.clone(), table.clone());
            let response = counts(summary);
            async move {
                client
                    .execute(
                        &format!(
                            "INSERT INTO {q_schema}.record_batches (idempotency_key, target_table, request_hash, response)
                             VALUES ($1, $2, $3, $4)"
                        ),
                        &[&k, &table, &hash, &response],
                    )
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("recording the Idempotency-Key: {}", ingest_queue::full_message(&e)))
            }
            .boxed()
        })));
    }
    let mut summary = LoadSummary::default();
    let result = ingest_load::run(&req, &mut summary, &Progress::quiet()).await;
    let rejects = read_rejects(errors.path());
    match result {
        Ok(()) => {
            let mut response = counts(&summary);
            response["rejects"] = json!(rejects);
            Ok(Json(response).into_response())
        }
        Err(e) => Err(load_problem(&e, rejects)),
    }
}

/// A JSON array as NDJSON, one record per line, so that a reject's line is the record's
/// position in the batch (1 for the first) however the array was laid out. A JSON text
/// holds line breaks only between tokens: they become spaces.
fn one_record_per_line(body: bytes::Bytes) -> Result<bytes::Bytes, serde_json::Error> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        return Ok(body);
    }
    let records: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body)?;
    let mut out = Vec::with_capacity(body.len());
    for r in records {
        ingest_formats::json::push_ndjson_line(&mut out, r.get());
    }
    Ok(out.into())
}

/// What a batch did, as answered (and kept for a retried POST).
fn counts(s: &LoadSummary) -> Value {
    json!({"table": s.table, "mode": s.mode, "rows_read": s.rows_read, "rows_inserted": s.rows_inserted,
           "rows_updated": s.rows_updated, "rows_unchanged": s.rows_unchanged, "rows_rejected": s.rows_rejected,
           "rows_duplicate": s.rows_duplicate})
}

fn read_rejects(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A failed load as a problem: 422 for what the records hold (with the rejects), 400 for
/// a request the table refuses, 503 for what a retry may cure.
fn load_problem(e: &LoadError, rejects: Vec<Value>) -> Problem {
    let (status, kind) = match e.exit_code() {
        1 => (StatusCode::UNPROCESSABLE_ENTITY, "records-rejected"),
        2 => (StatusCode::BAD_REQUEST, "invalid-records"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "load-failed"),
    };
    problem(status, kind, &e.to_string()).with("rejects", json!(rejects))
}

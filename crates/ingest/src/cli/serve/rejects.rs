//! `GET /v1/jobs/{id}/errors`: a job's rejected rows.

use axum::extract::{Extension, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use super::auth::Access;
use super::jobs::find;
use super::problem::internal;
use crate::cli::openapi::ProblemView;

#[derive(Deserialize)]
pub struct ErrorsQuery {
    format: Option<String>,
}

/// The rejected rows of the job's last attempt, as CSV or NDJSON.
#[utoipa::path(get, path = "/v1/jobs/{id}/errors", params(("id" = uuid::Uuid, Path), ("format" = Option<String>, Query, description = "csv (default) or ndjson")),
    responses((status = 200, description = "line, column, value, reason, file of each rejected row", content_type = "text/csv"), (status = 404, body = ProblemView)))]
pub async fn job_errors(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    Query(q): Query<ErrorsQuery>,
) -> Response {
    let (c, job) = match find(&api, &access, &id).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let schema = api.queue.schema().quoted();
    let rows = match c
        .query(
            &format!("SELECT line, column_name, value, reason, file FROM {schema}.job_errors WHERE job_id = $1 ORDER BY seq"),
            &[&job.id],
        )
        .await
    {
        Ok(rows) => rows,
        Err(e) => return internal(e),
    };
    let ndjson = q.format.as_deref() == Some("ndjson");
    let mut out = Vec::new();
    if ndjson {
        for r in &rows {
            let v = json!({"line": r.get::<_, i64>(0), "column": r.get::<_, Option<String>>(1),
                "value": r.get::<_, Option<String>>(2), "reason": r.get::<_, String>(3), "file": r.get::<_, Option<String>>(4)});
            out.extend_from_slice(v.to_string().as_bytes());
            out.push(b'\n');
        }
    } else {
        let mut w = csv::Writer::from_writer(&mut out);
        let _ = w.write_record(["line", "column", "value", "reason", "file"]);
        for r in &rows {
            let line = r.get::<_, i64>(0).to_string();
            let col: Option<String> = r.get(1);
            let val: Option<String> = r.get(2);
            let reason: String = r.get(3);
            let file: Option<String> = r.get(4);
            let _ = w.write_record([
                line.as_str(),
                col.as_deref().unwrap_or(""),
                val.as_deref().unwrap_or(""),
                reason.as_str(),
                file.as_deref().unwrap_or(""),
            ]);
        }
        let _ = w.flush();
        drop(w);
    }
    let content_type = if ndjson {
        "application/x-ndjson"
    } else {
        "text/csv; charset=utf-8"
    };
    ([(header::CONTENT_TYPE, content_type)], out).into_response()
}

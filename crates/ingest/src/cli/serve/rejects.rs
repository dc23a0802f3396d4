//! `GET /v1/jobs/{id}/errors`: a job's rejected rows.

use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_postgres::Row;

use super::Shared;
use super::auth::Access;
use super::jobs::find;
use super::problem::{internal, problem};
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
    let format = match q.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("ndjson") => Format::Ndjson,
        Some(other) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-format",
                &format!("format {other:?}: csv or ndjson"),
            );
        }
    };
    let schema = api.queue.schema().quoted();
    let sql = format!(
        "SELECT line, column_name, value, reason, file FROM {schema}.job_errors
         WHERE job_id = $1 ORDER BY seq"
    );
    // Streamed a thousand rows at a time: a job may have rejected millions.
    let rows = match c.query_raw(&sql, [&job.id]).await {
        Ok(rows) => rows,
        Err(e) => return internal(e),
    };
    let head = match format {
        Format::Csv => Some(Ok(Bytes::from_static(b"line,column,value,reason,file\n"))),
        Format::Ndjson => None,
    };
    let body = futures_util::stream::iter(head).chain(rows.chunks(1000).map(move |chunk| {
        // The pooled connection stays checked out while its rows stream.
        let _connection = &c;
        chunk
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(|rows| encode(&rows, format))
            .map_err(std::io::Error::other)
    }));
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Ndjson => "application/x-ndjson",
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response()
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Ndjson,
}

fn encode(rows: &[Row], format: Format) -> Bytes {
    let mut out = Vec::with_capacity(rows.len() * 64);
    match format {
        Format::Ndjson => {
            for r in rows {
                let v = json!({"line": r.get::<_, i64>(0), "column": r.get::<_, Option<String>>(1),
                    "value": r.get::<_, Option<String>>(2), "reason": r.get::<_, String>(3),
                    "file": r.get::<_, Option<String>>(4)});
                out.extend_from_slice(v.to_string().as_bytes());
                out.push(b'\n');
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for r in rows {
                let line = r.get::<_, i64>(0).to_string();
                let text = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
                let _ = w.write_record([line, text(1), text(2), text(3), text(4)]);
            }
            let _ = w.flush();
        }
    }
    Bytes::from(out)
}

//! `GET /v1/jobs/{id}/errors`: a job's rejected rows.

use axum::body::Body;
use axum::extract::{Extension, State};
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
use super::problem::{PathOf, Problem, QueryOf, problem};
use crate::openapi::ProblemView;

#[derive(Deserialize)]
pub struct ErrorsQuery {
    format: Option<String>,
    severity: Option<String>,
    /// `pt-BR`: CSV as a Brazilian Excel opens it (`;`, UTF-8 with a BOM).
    locale: Option<String>,
    /// Ask the browser to save it (Content-Disposition: attachment).
    download: Option<bool>,
    /// CSV of the rejected rows as the file holds them (its own columns, then the line
    /// and the reasons): fix them in a spreadsheet and load only those.
    original: Option<bool>,
}

/// The rejected rows of the job's last attempt, as CSV or NDJSON.
#[utoipa::path(get, path = "/v1/jobs/{id}/errors", params(("id" = uuid::Uuid, Path), ("format" = Option<String>, Query, description = "csv (default) or ndjson"),
        ("locale" = Option<String>, Query, description = "pt-BR: CSV separated by `;`, UTF-8 with a BOM, as Excel in Brazil opens it"),
        ("download" = Option<bool>, Query, description = "Content-Disposition: attachment, with a file name"),
        ("original" = Option<bool>, Query, description = "CSV of the rejected rows as the file holds them, plus line and reason (the job's file must still be stored)"),
        ("severity" = Option<String>, Query, description = "reject (rows left out) or warn (rows loaded, failing a warn rule); both by default")),
    responses((status = 200, description = "line, column, value, reason, file, rule, severity of each rejected row (and of each warn rule's failure)", content_type = "text/csv"), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 409, body = ProblemView, content_type = "application/problem+json", description = "original=true, and the job's file is no longer stored"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn job_errors(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
    QueryOf(q): QueryOf<ErrorsQuery>,
) -> Result<Response, Problem> {
    let (c, job) = find(&api, &access, &id).await?;
    let format = match q.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("ndjson") => Format::Ndjson,
        Some(other) => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "invalid-format",
                &format!("format {other:?}: csv or ndjson"),
            ));
        }
    };
    let severity = match q.severity.as_deref() {
        None => "",
        Some(s @ ("reject" | "warn")) => s,
        Some(other) => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "invalid-severity",
                &format!("severity {other:?}: reject or warn"),
            ));
        }
    };
    if q.original == Some(true) {
        let br = matches!(
            q.locale.as_deref().map(str::to_ascii_lowercase).as_deref(),
            Some("pt-br" | "pt_br" | "pt")
        );
        return original_rows(&api, &c, &job, br).await;
    }
    drop(c);
    let schema = api.queue.schema().quoted();
    let filter = match severity {
        "" => String::new(),
        s => format!("AND coalesce(severity, 'reject') = '{s}'"),
    };
    let sql = format!(
        "SELECT seq, line, column_name, value, reason, file, rule, coalesce(severity, 'reject')
           FROM {schema}.job_errors
         WHERE job_id = $1 AND seq > $2 {filter} ORDER BY seq LIMIT {PAGE}"
    );
    // Reasons in Portuguese for a Portuguese caller.
    let portuguese = matches!(
        q.locale.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("pt-br" | "pt_br" | "pt")
    );
    let format = match (
        format,
        q.locale.as_deref().map(str::to_ascii_lowercase).as_deref(),
    ) {
        (Format::Csv, Some("pt-br" | "pt_br" | "pt")) => Format::CsvBr,
        (f, _) => f,
    };
    let head = match format {
        Format::Csv => Some(Ok(Bytes::from_static(
            b"line,column,value,reason,file,rule,severity\n",
        ))),
        Format::CsvBr => Some(Ok(Bytes::from_static(
            "\u{feff}linha;coluna;valor;motivo;arquivo;regra;severidade\n".as_bytes(),
        ))),
        Format::Ndjson => None,
    };
    // A page at a time, each on a pooled connection taken for that query only: a job may
    // have rejected millions of rows, and a slow reader holds no connection.
    let pages = futures_util::stream::unfold(Some(-1i64), move |after| {
        let (api, sql, id) = (api.clone(), sql.clone(), job.id);
        async move {
            let after = after?;
            let page = async {
                let c = api.pool.get().await.map_err(std::io::Error::other)?;
                c.query(&sql, &[&id, &after])
                    .await
                    .map_err(std::io::Error::other)
            }
            .await;
            match page {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = (rows.len() as i64 == PAGE).then(|| rows[rows.len() - 1].get(0));
                    Some((Ok(encode(&rows, format, portuguese)), next))
                }
                Err(e) => {
                    eprintln!("ingest: API error streaming rejects: {e}");
                    Some((Err(e), None))
                }
            }
        }
    });
    let body = futures_util::stream::iter(head).chain(pages);
    let (content_type, extension) = match format {
        Format::Csv | Format::CsvBr => ("text/csv; charset=utf-8", "csv"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let mut response = (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response();
    if q.download == Some(true) {
        let disposition = format!("attachment; filename=\"rejects-{}.{extension}\"", job.id);
        if let Ok(v) = header::HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

/// The rejected rows as the job's file holds them, read from it again, with each one's
/// line and reasons: `;` and a BOM for a Brazilian Excel.
async fn original_rows(
    api: &super::Api,
    c: &deadpool_postgres::Object,
    job: &ingest_queue::Job,
    br: bool,
) -> Result<Response, Problem> {
    let gone = || {
        problem(
            StatusCode::CONFLICT,
            "file-unavailable",
            "the job's file is no longer stored; download the rejects without original=true",
        )
    };
    let q = api.queue.schema().quoted();
    let rows = c
        .query(
            &format!("SELECT line, reason FROM {q}.job_errors WHERE job_id = $1 AND coalesce(severity, 'reject') = 'reject' ORDER BY seq LIMIT 100000"),
            &[&job.id],
        )
        .await
        .map_err(super::problem::internal_problem)?;
    let mut reasons: std::collections::BTreeMap<u64, Vec<String>> =
        std::collections::BTreeMap::new();
    for r in &rows {
        reasons
            .entry(r.get::<_, i64>(0) as u64)
            .or_default()
            .push(r.get(1));
    }
    let req = crate::job_request::load_request(
        &job.payload,
        &ingest_pg::ConnectSource::Env,
        std::path::Path::new("/dev/null"),
    )
    .map_err(|_| gone())?;
    let found = ingest_load::inspect::rows_at(&req, reasons.keys().copied().collect())
        .await
        .map_err(|_| gone())?;
    let mut out = Vec::new();
    if br {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(if br { b';' } else { b',' })
            .from_writer(&mut out);
        let mut header = found.header.clone();
        header.extend(
            [
                if br { "linha" } else { "line" },
                if br { "motivo" } else { "reason" },
            ]
            .map(String::from),
        );
        let _ = w.write_record(&header);
        for (line, values) in found.lines.iter().zip(&found.rows) {
            let mut record: Vec<String> = values
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect();
            record.push(line.to_string());
            record.push(reasons.get(line).map(|r| r.join("; ")).unwrap_or_default());
            let _ = w.write_record(&record);
        }
        let _ = w.flush();
    }
    let disposition = format!("attachment; filename=\"rejects-{}.csv\"", job.id);
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Rejected rows per query.
const PAGE: i64 = 1000;

#[derive(Clone, Copy)]
enum Format {
    Csv,
    /// `;`-separated, for a Brazilian Excel.
    CsvBr,
    Ndjson,
}

fn encode(rows: &[Row], format: Format, portuguese: bool) -> Bytes {
    let reason = |r: &Row| -> String {
        let text: String = r.get(4);
        if portuguese {
            crate::console::reason_pt(&text)
        } else {
            text
        }
    };
    let mut out = Vec::with_capacity(rows.len() * 64);
    match format {
        Format::Ndjson => {
            for r in rows {
                let v = json!({"line": r.get::<_, i64>(1), "column": r.get::<_, Option<String>>(2),
                    "value": r.get::<_, Option<String>>(3), "reason": reason(r),
                    "file": r.get::<_, Option<String>>(5), "rule": r.get::<_, Option<String>>(6),
                    "severity": r.get::<_, String>(7)});
                out.extend_from_slice(v.to_string().as_bytes());
                out.push(b'\n');
            }
        }
        Format::Csv | Format::CsvBr => {
            let delimiter = if matches!(format, Format::CsvBr) {
                b';'
            } else {
                b','
            };
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(&mut out);
            for r in rows {
                let line = r.get::<_, i64>(1).to_string();
                let text = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
                let _ =
                    w.write_record([line, text(2), text(3), reason(r), text(5), text(6), text(7)]);
            }
            let _ = w.flush();
        }
    }
    Bytes::from(out)
}

//! `POST /v1/files` and `POST /v1/files/{id}/inspect`: a file uploaded to be looked at
//! before any job reads it. The inspection says what the server detected (format,
//! encoding, delimiter, decimal comma, date format, sheets), shows the first rows as the
//! load will read them with the options chosen, and proposes how the file's columns map
//! to a table's. A job then names the file (`source: {"file": id}`): a Check and a Load
//! read the same bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use ingest_pg::ConnectSource;
use ingest_queue::StoredFile;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::Access;
use super::mapping::{propose, table_json};
use super::problem::{PathOf, Problem, QueryOf, client, internal_problem, problem};
use super::{Api, Shared};
use crate::job_request::load_request;
use crate::openapi::{FileView, InspectRequest, InspectView, ProblemView};

/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 20;

/// Options that say how text is written: when a request gives none, they are detected.
const TEXT_OPTIONS: [&str; 7] = [
    "delimiter",
    "encoding",
    "locale",
    "decimal_comma",
    "thousands",
    "date_format",
    "timestamp_format",
];

fn no_such_file() -> Problem {
    problem(StatusCode::NOT_FOUND, "file-not-found", "no such file")
}

/// The file `id`, if the caller may use it: one it uploaded (any file, with open access).
pub async fn find(api: &Api, access: &Access, id: &str) -> Result<StoredFile, Problem> {
    let id = Uuid::parse_str(id).map_err(|_| no_such_file())?;
    let c = client(api).await?;
    let file = api
        .queue
        .file(&c, id)
        .await
        .map_err(internal_problem)?
        .ok_or_else(no_such_file)?;
    match access {
        Access::Token(grant) if file.created_by.as_deref() != Some(grant.name.as_str()) => {
            Err(no_such_file())
        }
        _ => Ok(file),
    }
}

pub fn file_json(f: &StoredFile) -> Value {
    json!({"id": f.id.to_string(), "name": f.name, "size": f.size, "created_at": f.created_at,
           "inspect_url": format!("/v1/files/{}/inspect", f.id)})
}

#[derive(Deserialize)]
pub struct UploadQuery {
    /// The file's name, as the user knows it (its extension tells the format).
    name: String,
}

#[utoipa::path(post, path = "/v1/files", params(("name" = String, Query, description = "The file's name (its extension tells the format: .csv, .xlsx, .parquet...)")),
    request_body(content = Vec<u8>, description = "The file, streamed", content_type = "application/octet-stream"),
    responses((status = 201, body = FileView, description = "Stored"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"),
              (status = 413, body = ProblemView, content_type = "application/problem+json", description = "Larger than the server's --max-upload-bytes"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database or the store is not reachable")))]
pub async fn upload_file(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    QueryOf(q): QueryOf<UploadQuery>,
    body: Body,
) -> Result<Response, Problem> {
    let name: String = q
        .name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if name.trim().is_empty() || name.len() > 255 {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "invalid-file",
            "name: the file's name, 1 to 255 characters",
        ));
    }
    // The stored object's name keeps only the extension (the rest may hold anything).
    let extension: String = name
        .split_once('.')
        .map(|(_, e)| {
            e.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect()
        })
        .unwrap_or_default();
    let url = format!(
        "{}/files/{}.{}",
        api.uploads,
        ingest_store::unique_tag(),
        if extension.is_empty() {
            "bin"
        } else {
            &extension
        }
    );
    let limit = api.max_upload_bytes;
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        if counter.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64 > limit {
            return Err(std::io::Error::other(format!(
                "the file is larger than {limit} bytes (--max-upload-bytes)"
            )));
        }
        Ok(chunk)
    });
    if let Err(e) = ingest_store::write_stream(&url, stream).await {
        let size = seen.load(Ordering::Relaxed);
        return Err(if size > limit {
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file-too-large",
                &format!("the file is larger than {limit} bytes, this server's limit"),
            )
        } else {
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                &format!("the file could not be stored: {e}"),
            )
        });
    }
    let c = client(&api).await?;
    let size = seen.load(Ordering::Relaxed) as i64;
    let file = api
        .queue
        .add_file(&c, &url, &name, size, access.creator().as_deref())
        .await
        .map_err(internal_problem)?;
    Ok((StatusCode::CREATED, Json(file_json(&file))).into_response())
}

#[utoipa::path(post, path = "/v1/files/{id}/inspect", params(("id" = uuid::Uuid, Path)), request_body = InspectRequest,
    responses((status = 200, body = InspectView, description = "What was detected, the first rows, the proposed mapping"),
              (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "Options `ingest load` would refuse"),
              (status = 422, body = ProblemView, content_type = "application/problem+json", description = "The file cannot be read with these options"),
              (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn inspect_file(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let invalid = |detail: &str| problem(StatusCode::BAD_REQUEST, "invalid-inspect", detail);
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| invalid(&format!("the body is not JSON: {e}")))?
    };
    let file = find(&api, &access, &id).await?;
    let mut options: Map<String, Value> = match request.get("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err(invalid("options: an object of `ingest load` options")),
    };
    let table = match request.get("table") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(invalid("table: a table's name")),
    };
    let unreadable = |e: ingest_load::LoadError| {
        problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable-file",
            &e.to_string(),
        )
    };
    let request_of = |options: &Map<String, Value>| {
        let payload = json!({"source": {"url": file.url}, "target": {"table": "inspect"}, "options": options});
        load_request(
            &payload,
            &ConnectSource::Env,
            std::path::Path::new("/dev/null"),
        )
        .map_err(|e| invalid(&e))
    };
    let mut req = request_of(&options)?;
    let (format, head) = ingest_load::inspect::head(&req).await.map_err(unreadable)?;
    let mut detected = Value::Null;
    if let Some(head) = head.filter(|_| !TEXT_OPTIONS.iter().any(|o| options.contains_key(*o))) {
        let d = ingest_load::inspect::detect(&head);
        detected = serde_json::to_value(&d).map_err(internal_problem)?;
        options.insert("encoding".into(), json!(d.encoding));
        options.insert("delimiter".into(), json!(d.delimiter.to_string()));
        if d.decimal_comma {
            options.insert("decimal_comma".into(), json!(true));
        }
        if let Some(t) = d.thousands {
            options.insert("thousands".into(), json!(t.to_string()));
        }
        if let Some(f) = &d.date_format {
            options.insert("date_format".into(), json!([f]));
        }
        if let Some(f) = &d.timestamp_format {
            options.insert("timestamp_format".into(), json!([f]));
        }
        req = request_of(&options)?;
    }
    let preview = ingest_load::inspect::preview(&req, PREVIEW_ROWS)
        .await
        .map_err(unreadable)?;
    let target = match &table {
        Some(t) => Some(table_json(&api, &access, t).await?),
        None => None,
    };
    let (mapping, missing) = match &target {
        Some(t) => propose(&preview.header, t),
        None => (Value::Null, Value::Null),
    };
    Ok(Json(json!({
        "file": file_json(&file),
        "format": format,
        "detected": detected,
        "options": options,
        "preview": preview,
        "table": target,
        "mapping": mapping,
        "missing_required": missing,
    }))
    .into_response())
}

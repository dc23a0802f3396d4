//! The console's pages: the upload page, the jobs list (and its rows, for live updates),
//! a job's page, and the job's cancel and retry buttons.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ingest_queue::{Job, JobState};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::i18n::{Lang, Texts};
use super::see_other;
use super::viewer::{Chrome, Viewer, form, viewer};
use crate::api::Shared;
use crate::api::problem::PathOf;
use crate::job_request::is_check;

pub use super::viewer::{login, login_form, logout, switch_language};

/// A table the viewer may load into, and its columns in one line.
pub struct TableOption {
    pub name: String,
    pub columns: String,
}

#[derive(Template)]
#[template(path = "console/upload.html")]
struct UploadPage {
    t: &'static Texts,
    chrome: Chrome,
    tables: Vec<TableOption>,
}

pub async fn upload(State(api): State<Shared>, headers: HeaderMap) -> Response {
    let v = match viewer(&api, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tables = crate::api::tables::tables_for(&api, &v.access)
        .await
        .unwrap_or_default();
    let tables = tables
        .iter()
        .map(|t| TableOption {
            name: t["table"].as_str().unwrap_or_default().to_string(),
            columns: t["columns"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            format!(
                                "{} {}",
                                c["name"].as_str().unwrap_or(""),
                                c["type"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        })
        .collect();
    let page = UploadPage {
        t: v.texts(),
        chrome: v.chrome("upload"),
        tables,
    };
    v.page(page.render())
}

/// A job as a row of the list.
pub struct JobRow {
    pub id: String,
    pub created: String,
    pub kind: String,
    pub table: String,
    pub source: String,
    /// The state's name (`failed`), and as the language says it.
    pub state: &'static str,
    pub state_text: &'static str,
    pub rows: String,
}

fn state_text(lang: Lang, state: JobState) -> &'static str {
    let s = &lang.texts().js.states;
    match state {
        JobState::Queued | JobState::PendingUpload => s.queued,
        JobState::Running => s.running,
        JobState::Succeeded => s.succeeded,
        JobState::Failed => s.failed,
        JobState::Cancelled => s.cancelled,
    }
}

fn kind(lang: Lang, job: &Job) -> String {
    let t = lang.texts();
    match job.kind.as_str() {
        "load" if is_check(&job.payload) => t.js.check_kind.to_string(),
        "load" => t.js.load_kind.to_string(),
        "pull" => "Pull".into(),
        "export" => "Export".into(),
        other => other.to_string(),
    }
}

/// Where a job's data came from, without secrets: a file's name, a URL without its query,
/// a source's name.
fn source(job: &Job) -> String {
    let s = &job.payload["source"];
    if let Some(name) = s["name"].as_str() {
        return name.to_string();
    }
    if let Some(pull) = s["pull"].as_str() {
        return pull.to_string();
    }
    if let Some(url) = s["url"].as_str() {
        let url = ingest_store::redacted(url);
        return url
            .split('?')
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
    }
    if let Some(table) = s["table"].as_str() {
        return table.to_string();
    }
    String::new()
}

fn row(lang: Lang, job: &Job) -> JobRow {
    let rows = job
        .stats
        .as_ref()
        .and_then(|s| s["rows_read"].as_i64())
        .or_else(|| job.progress["rows_read"].as_i64())
        .unwrap_or(0);
    JobRow {
        id: job.id.to_string(),
        created: lang.when(&job.created_at),
        kind: kind(lang, job),
        table: job.target_table.clone().unwrap_or_default(),
        source: source(job),
        state: job.state.as_str(),
        state_text: state_text(lang, job.state),
        rows: lang.int(rows),
    }
}

#[derive(Deserialize, Default)]
pub struct JobFilter {
    state: Option<String>,
    table: Option<String>,
}

#[derive(Template)]
#[template(path = "console/jobs.html")]
struct JobsPage {
    t: &'static Texts,
    chrome: Chrome,
    jobs: Vec<JobRow>,
    /// (value, text, selected)
    states: Vec<(&'static str, &'static str, bool)>,
    table: String,
    /// The filter as a query string, for the live rows.
    query: String,
}

#[derive(Template)]
#[template(path = "console/job_rows.html")]
struct JobRows {
    t: &'static Texts,
    jobs: Vec<JobRow>,
}

async fn list(api: &Shared, v: &Viewer, f: &JobFilter) -> Vec<JobRow> {
    let Ok(c) = api.pool.get().await else {
        return Vec::new();
    };
    let state = f.state.as_deref().filter(|s| JobState::parse(s).is_some());
    let table = f
        .table
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.contains('\0'));
    let jobs = api
        .queue
        .list(&c, state, table, v.access.visible(), None, 200)
        .await
        .unwrap_or_default();
    jobs.iter().map(|j| row(v.lang, j)).collect()
}

pub async fn jobs(
    State(api): State<Shared>,
    headers: HeaderMap,
    Query(f): Query<JobFilter>,
) -> Response {
    let v = match viewer(&api, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let jobs = list(&api, &v, &f).await;
    let chosen = f.state.clone().unwrap_or_default();
    let states = ["queued", "running", "succeeded", "failed", "cancelled"]
        .into_iter()
        .map(|s| {
            (
                s,
                state_text(v.lang, JobState::parse(s).expect("a state")),
                s == chosen,
            )
        })
        .collect();
    let table = f.table.clone().unwrap_or_default();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &chosen)
        .append_pair("table", &table)
        .finish();
    let page = JobsPage {
        t: v.texts(),
        chrome: v.chrome("jobs"),
        jobs,
        states,
        table,
        query: format!("?{query}"),
    };
    v.page(page.render())
}

/// The rows of the jobs list alone, which the script swaps in every few seconds.
pub async fn job_rows(
    State(api): State<Shared>,
    headers: HeaderMap,
    Query(f): Query<JobFilter>,
) -> Response {
    let v = match viewer(&api, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let jobs = list(&api, &v, &f).await;
    v.page(JobRows { t: v.texts(), jobs }.render())
}

/// A job as its page shows it.
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub table: String,
    pub state: &'static str,
    /// The state as the language says it (what the status ends with).
    pub state_text: &'static str,
    pub summary: String,
    pub is_final: bool,
    pub can_cancel: bool,
    pub can_retry: bool,
    pub has_rejects: bool,
    /// The rejects as CSV: the file's own rows when the file is still stored.
    pub rejects_url: String,
    pub error: String,
    pub parameters: Vec<(String, String)>,
    pub counts: Vec<(String, String)>,
}

pub struct RejectRow {
    pub line: String,
    pub column: String,
    pub value: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/job.html")]
struct JobPage {
    t: &'static Texts,
    chrome: Chrome,
    job: JobView,
    rejects: Vec<RejectRow>,
    events: Vec<(String, String)>,
}

pub async fn job(
    State(api): State<Shared>,
    headers: HeaderMap,
    PathOf(id): PathOf<String>,
) -> Response {
    let v = match viewer(&api, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((job, c)) = find(&api, &v, &id).await else {
        return (axum::http::StatusCode::NOT_FOUND, "no such job").into_response();
    };
    let q = api.queue.schema().quoted();
    let rejects: Vec<RejectRow> = c
        .query(
            &format!("SELECT line, column_name, value, reason FROM {q}.job_errors WHERE job_id = $1 ORDER BY seq LIMIT 100"),
            &[&job.id],
        )
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| RejectRow {
            line: v.lang.int(r.get::<_, i64>(0)),
            column: r.get::<_, Option<String>>(1).unwrap_or_default(),
            value: r.get::<_, Option<String>>(2).unwrap_or_default(),
            reason: match v.lang {
                Lang::PtBr => super::reason_pt(&r.get::<_, String>(3)),
                Lang::En => r.get(3),
            },
        })
        .collect();
    let events: Vec<(String, String)> = c
        .query(
            &format!("SELECT at, kind FROM {q}.job_events WHERE job_id = $1 ORDER BY id"),
            &[&job.id],
        )
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                v.lang.when(&r.get(0)),
                event_text(v.lang, &r.get::<_, String>(1)),
            )
        })
        .collect();
    let view = job_view(v.lang, &job, !rejects.is_empty());
    let page = JobPage {
        t: v.texts(),
        chrome: v.chrome("jobs"),
        job: view,
        rejects,
        events,
    };
    v.page(page.render())
}

/// A timeline event's name as the language says it.
fn event_text(lang: Lang, kind: &str) -> String {
    let s = &lang.texts().js.states;
    let pt = lang == Lang::PtBr;
    match kind {
        "created" if pt => "criada".into(),
        "queued" => s.queued.into(),
        "started" if pt => "iniciada".into(),
        "succeeded" => s.succeeded.into(),
        "failed" => s.failed.into(),
        "cancelled" => s.cancelled.into(),
        "retry_requested" if pt => "nova tentativa pedida".into(),
        "retry_requested" => "retry requested".into(),
        other => other.replace('_', " "),
    }
}

async fn find(api: &Shared, v: &Viewer, id: &str) -> Option<(Job, deadpool_postgres::Object)> {
    let id = Uuid::parse_str(id).ok()?;
    let c = api.pool.get().await.ok()?;
    let job = api.queue.get(&c, id).await.ok()??;
    v.access.check_job(&job).ok()?;
    Some((job, c))
}

fn job_view(lang: Lang, job: &Job, has_rejects: bool) -> JobView {
    let t = lang.texts();
    let stats = job.stats.clone().unwrap_or_else(|| job.progress.clone());
    let n = |k: &str| stats[k].as_i64().map(|n| lang.int(n));
    let mut counts = Vec::new();
    let check = is_check(&job.payload);
    for (key, label) in [
        ("rows_read", t.js.rows_read),
        (
            "rows_inserted",
            if check {
                t.js.would_insert
            } else {
                t.js.inserted
            },
        ),
        (
            "rows_updated",
            if check {
                t.js.would_update
            } else {
                t.js.updated
            },
        ),
        ("rows_unchanged", t.js.unchanged),
        ("rows_rejected", t.js.rejected),
    ] {
        if let Some(value) = n(key) {
            counts.push((label.to_string(), value));
        }
    }
    let summary = counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut parameters = vec![
        (t.kind.to_string(), kind(lang, job)),
        (
            t.table.to_string(),
            job.target_table.clone().unwrap_or_default(),
        ),
    ];
    parameters.push((t.source.to_string(), source(job)));
    if let Some(mode) = job.payload["mode"].as_str() {
        let said = match mode {
            "insert" => t.mode_append,
            "upsert" => t.mode_upsert,
            "replace" => t.mode_replace,
            other => other,
        };
        parameters.push((t.mode.to_string(), said.to_string()));
    }
    if let Some(options) = job.payload["options"].as_object() {
        for (k, val) in options {
            let text = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parameters.push((k.clone(), text));
        }
    }
    parameters.push((t.created.to_string(), lang.when(&job.created_at)));
    JobView {
        id: job.id.to_string(),
        kind: kind(lang, job),
        table: job.target_table.clone().unwrap_or_default(),
        state: job.state.as_str(),
        state_text: state_text(lang, job.state),
        summary: if summary.is_empty() {
            String::new()
        } else {
            format!("{summary} —")
        },
        is_final: job.state.is_final(),
        can_cancel: !job.state.is_final(),
        can_retry: matches!(job.state, JobState::Failed | JobState::Cancelled),
        has_rejects,
        rejects_url: {
            // A console upload stays stored; an upload job's file is deleted once it succeeded.
            let original = job.payload["source"]["file"].is_string()
                || (job.payload["source"]["upload"] == true && job.state != JobState::Succeeded);
            format!(
                "/v1/jobs/{}/errors?format=csv&locale={}&download=true{}",
                job.id,
                lang.tag(),
                if original { "&original=true" } else { "" }
            )
        },
        error: job.error.clone().unwrap_or_default(),
        parameters,
        counts,
    }
}

/// The Cancel and Retry buttons' forms.
async fn act(
    api: Shared,
    headers: HeaderMap,
    id: String,
    body: axum::body::Bytes,
    retry: bool,
) -> Response {
    let v = match viewer(&api, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !v.form_ok(form(&body).get("csrf").map(String::as_str)) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong; reload the page",
        )
            .into_response();
    }
    let Some((job, c)) = find(&api, &v, &id).await else {
        return (axum::http::StatusCode::NOT_FOUND, "no such job").into_response();
    };
    let done = if retry {
        api.queue.retry(&c, job.id).await.map(|_| ())
    } else {
        api.queue.cancel(&c, job.id).await.map(|_| ())
    };
    if let Err(e) = done {
        return (axum::http::StatusCode::CONFLICT, e.to_string()).into_response();
    }
    see_other(&format!("/jobs/{}", job.id))
}

pub async fn cancel(
    State(api): State<Shared>,
    headers: HeaderMap,
    PathOf(id): PathOf<String>,
    body: axum::body::Bytes,
) -> Response {
    act(api, headers, id, body, false).await
}

pub async fn retry(
    State(api): State<Shared>,
    headers: HeaderMap,
    PathOf(id): PathOf<String>,
    body: axum::body::Bytes,
) -> Response {
    act(api, headers, id, body, true).await
}

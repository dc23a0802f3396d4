//! The API's OpenAPI document, generated from the handlers' annotations and these types
//! (utoipa); served at `/openapi.json`.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// A job to create.
#[derive(Serialize, ToSchema)]
pub struct JobRequest {
    /// `{"url": "s3://bucket/key"}` (any source `ingest load` reads), or `{"upload": true}`
    /// for a file sent with `PUT /v1/jobs/{id}/data`.
    #[schema(value_type = Object)]
    pub source: serde_json::Value,
    pub target: Target,
    /// insert (default), upsert, merge or replace
    pub mode: Option<String>,
    /// The file's format when its name does not tell (csv, tsv, json, parquet, avro, xlsx)
    pub format: Option<String>,
    /// `ingest load`'s options by name: `{"locale": "pt-BR", "max_errors": 10, "map": ["a=b"]}`
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
    /// Quality rules for this load (the shape of `ingest rules schema`), applied after the
    /// table's registered rules. `after_load` and `sql` checks need a token created with
    /// `--allow-sql`.
    #[schema(value_type = Object)]
    pub rules: Option<serde_json::Value>,
}

/// A table's registered rules.
#[derive(Serialize, ToSchema)]
pub struct TableRulesView {
    /// `schema.table`
    pub table: String,
    /// Starts at 1; each PUT registers the next
    pub version: i64,
    pub created_at: String,
    /// The rule set (clean, rules, after_load)
    #[schema(value_type = Object)]
    pub rules: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct Target {
    /// `table` or `schema.table`
    pub table: String,
    /// Key columns for upsert and merge (default: the primary key)
    pub key: Option<Vec<String>>,
}

/// An export to create.
#[derive(Serialize, ToSchema)]
pub struct ExportJobRequest {
    /// `{"table": "public.orders"}` or `{"query": "select ..."}` (read-only)
    #[schema(value_type = Object)]
    pub source: serde_json::Value,
    /// A bucket URL (`s3://lake/orders/`) or a path under the server's --file-root
    pub to: String,
    /// parquet, csv or ndjson (default: from `to`'s name; parquet for a directory)
    pub format: Option<String>,
    /// `ingest export`'s options by name: `{"partition_by": "ordered_at:month", "max_file_size": "512MB"}`
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
}

/// A job as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    /// pending_upload, queued, running, succeeded, failed, cancelled
    pub state: String,
    pub attempt: i32,
    pub max_attempts: i32,
    /// bytes_total, bytes_read, rows_read while it runs
    #[schema(value_type = Object)]
    pub progress: serde_json::Value,
    /// The load's summary once it ended: rows_inserted, rows_updated, rows_rejected, ...
    #[schema(value_type = Object)]
    pub stats: Option<serde_json::Value>,
    pub error: Option<String>,
    pub status_url: String,
    pub errors_url: String,
    /// The quality report (HTML), once the load has run
    pub report_url: String,
    /// For an upload job still waiting for its file
    pub upload_url: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last one
    pub next_cursor: Option<String>,
}

/// A pull source registered with the service.
#[derive(Serialize, ToSchema)]
pub struct SourceView {
    pub name: String,
    /// The spec as registered (secrets are `${env:NAME}` references)
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// `schema.table`
    pub target_table: String,
    pub paused: bool,
    /// The next scheduled run (absent without a schedule)
    pub next_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub runs_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct SourceList {
    pub sources: Vec<SourceView>,
}

/// A source's runs (jobs of kind `pull`), newest first.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<JobView>,
}

/// An RFC 9457 problem.
#[derive(Serialize, ToSchema)]
pub struct ProblemView {
    /// Stable: https://ingest.dev/problems/job-not-found, .../invalid-job, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ingest Bulk API",
        description = "Bulk loads into PostgreSQL as jobs: create, upload, follow, download rejects."
    ),
    paths(
        crate::api::jobs::create_job,
        crate::api::exports::create_export,
        crate::api::jobs::list_jobs,
        crate::api::jobs::get_job,
        crate::api::upload::upload,
        crate::api::rejects::job_errors,
        crate::api::report::job_report,
        crate::api::rules::put_rules,
        crate::api::rules::get_rules,
        crate::api::events::job_events,
        crate::api::jobs::cancel_job,
        crate::api::jobs::retry_job,
        crate::api::sources::create_source,
        crate::api::sources::list_sources,
        crate::api::sources::get_source,
        crate::api::sources::put_source,
        crate::api::sources::delete_source,
        crate::api::sources::run_source,
        crate::api::sources::pause_source,
        crate::api::sources::resume_source,
        crate::api::sources::source_runs,
        crate::api::health::readyz,
        crate::api::health::metrics,
    ),
    components(schemas(JobRequest, ExportJobRequest, Target, JobView, JobList, ProblemView, TableRulesView, SourceView, SourceList, RunList)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The bearer tokens of `ingest token create`, required on /v1 once any token exists.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `ingest token create`; needed on /v1 once any token exists",
                    ))
                    .build(),
            ),
        );
    }
}

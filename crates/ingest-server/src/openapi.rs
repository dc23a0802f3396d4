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

/// A file uploaded to be inspected, then named by jobs (`source: {"file": id}`).
#[derive(Serialize, ToSchema)]
pub struct FileView {
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    pub name: String,
    pub size: i64,
    pub created_at: String,
    pub inspect_url: String,
}

/// What to inspect a file with.
#[derive(Serialize, ToSchema)]
pub struct InspectRequest {
    /// The table it would go into: its columns, and the mapping proposed to them
    pub table: Option<String>,
    /// `ingest load` options to read it with (`delimiter`, `encoding`, `sheet`, `locale`...);
    /// without any text option, they are detected
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
}

/// What the server detected and read.
#[derive(Serialize, ToSchema)]
pub struct InspectView {
    #[schema(value_type = Object)]
    pub file: serde_json::Value,
    /// csv, tsv, json, parquet, avro, xlsx
    pub format: String,
    /// encoding, delimiter, decimal_comma, thousands, date_format, timestamp_format (text files)
    #[schema(value_type = Object)]
    pub detected: serde_json::Value,
    /// The options the preview was read with: pass them to the job
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// format, header, sheets, rows, lines, refused
    #[schema(value_type = Object)]
    pub preview: serde_json::Value,
    /// The table's columns (with `table`)
    #[schema(value_type = Object)]
    pub table: serde_json::Value,
    /// [{column, target, how: name|similar|null}]
    #[schema(value_type = Object)]
    pub mapping: serde_json::Value,
    /// Required table columns nothing maps to
    #[schema(value_type = Object)]
    pub missing_required: serde_json::Value,
}

/// Tables the caller may load into.
#[derive(Serialize, ToSchema)]
pub struct TableList {
    /// [{table: "schema.name", columns: [{name, type, not_null, has_default, required}]}]
    #[schema(value_type = Vec<Object>)]
    pub tables: Vec<serde_json::Value>,
}

/// A saved mapping and format choices.
#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub table: String,
    pub name: String,
    /// {mapping: {file column: table column or null}, options: {...}}
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileList {
    pub profiles: Vec<ProfileView>,
}

/// What a batch of records did.
#[derive(Serialize, ToSchema)]
pub struct RecordsView {
    pub table: String,
    pub mode: String,
    pub rows_read: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_unchanged: u64,
    pub rows_rejected: u64,
    pub rows_duplicate: u64,
    /// Each rejected record: line (its position in the batch), column, value, reason
    #[schema(value_type = Vec<Object>)]
    pub rejects: Vec<serde_json::Value>,
    /// True when the Idempotency-Key's batch was loaded before (nothing done now)
    pub replayed: Option<bool>,
}

/// A stream consumer to run in the service.
#[derive(Serialize, ToSchema)]
pub struct StreamRequest {
    /// `{"url": "kafka://host:9092/orders", "group": "loader"}` (amqp://…?queue=Q,
    /// nats://host:4222/STREAM, redis://host:6379/STREAM); `${env:NAME}` in the URL is read
    /// where the consumer runs
    #[schema(value_type = Object)]
    pub source: serde_json::Value,
    pub target: Target,
    /// insert (default), upsert, merge or replace
    pub mode: Option<String>,
    /// batch_rows, batch_bytes ("8MB"), linger ("1s"), max_errors, dead_letter (a table),
    /// start (earliest|latest), field (Redis), meta (["partition", "offset", ...])
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
}

/// The service's stream consumers, newest first; each job's `stream` holds its status and
/// counters (batches, messages, rows written, rejected, dead letters, positions).
#[derive(Serialize, ToSchema)]
pub struct StreamList {
    pub streams: Vec<JobView>,
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
        crate::api::files::upload_file,
        crate::api::files::inspect_file,
        crate::api::tables::list_tables,
        crate::api::records::post_records,
        crate::api::tables::list_profiles,
        crate::api::tables::put_profile,
        crate::api::streams::create_stream,
        crate::api::streams::list_streams,
        crate::api::streams::stop_stream,
        crate::api::streams::resume_stream,
        crate::api::health::readyz,
        crate::api::health::metrics,
    ),
    components(schemas(JobRequest, ExportJobRequest, Target, JobView, JobList, ProblemView, TableRulesView, SourceView, SourceList, RunList, FileView, InspectRequest, InspectView, TableList, ProfileView, ProfileList, RecordsView, StreamRequest, StreamList)),
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

//! One run of a source: read its stored cursor, fetch what lies past it, load it like a
//! file, and store the new cursor in the load's own transaction, so the rows and the
//! cursor that covers them commit together or not at all.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::FutureExt;
use ingest_formats::{RecordSource, SourceError};
use ingest_load::{BeforeCommit, LoadError, LoadSummary, Progress, RecordsInput, RejectLimit};
use ingest_pg::{ConnectSource, LoadMode};
use ingest_store::SourceGuard;

use crate::cursor::{self, Cursor, CursorError};
use crate::db::{self, DbConnect, DbError};
use crate::db_query::{self, Dialect};
use crate::http::{self, HttpError, HttpRead};
use crate::resolve;
use crate::spec::{DbSource, SourceKind, SourceSpec, SpecError, TargetMode, duration};
use crate::stats::{Counted, PullCounts, PullStats};
use crate::track::{Largest, Tracked, is_past, request_value};

/// How a run goes, beside its spec.
#[derive(Clone)]
pub struct PullOptions {
    pub database: ConnectSource,
    /// The service's schema, where cursors (and tables' rules) are kept; `None`: the
    /// load's default (`INGEST_SCHEMA`, else `ingest`).
    pub service_schema: Option<String>,
    /// Fetch and validate, write nothing, leave the cursor.
    pub dry_run: bool,
    /// Ignore the stored cursor once (a backfill); the run still stores its own.
    pub full: bool,
    pub max_errors: RejectLimit,
    pub errors_file: Option<PathBuf>,
    pub report: Option<PathBuf>,
    /// For sources registered through the API: the hosts they may reach.
    pub guard: Option<SourceGuard>,
    /// Run after the cursor is stored, in the same transaction (a worker records its job).
    pub before_commit: Option<BeforeCommit>,
    /// A connection to load through (a worker's).
    pub connection: Option<Arc<tokio_postgres::Client>>,
    /// Where the run counts its requests, pages and records (a worker reports them as
    /// the run goes).
    pub stats: Arc<PullStats>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            database: ConnectSource::Env,
            service_schema: None,
            dry_run: false,
            full: false,
            max_errors: RejectLimit::Count(0),
            errors_file: None,
            report: None,
            guard: None,
            before_commit: None,
            connection: None,
            stats: Arc::default(),
        }
    }
}

/// What a run did beside its load summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PullOutcome {
    pub source: String,
    #[serde(flatten)]
    pub counts: PullCounts,
    /// The cursor the run read from (`None`: from the start or `initial`).
    pub cursor_from: Option<Cursor>,
    /// The cursor stored by the run (the one before it when it loaded nothing new).
    pub cursor_to: Option<Cursor>,
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("source {name}: {message}")]
    Refused { name: String, message: String },
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl PullError {
    /// 1: the data or the source's answer; 2: the spec or the setup; 3: a retry may cure.
    pub fn exit_code(&self) -> i32 {
        match self {
            PullError::Spec(_) | PullError::Refused { .. } => 2,
            PullError::Cursor(CursorError::Moved { .. }) => 3,
            PullError::Cursor(CursorError::Database { .. }) => 3,
            PullError::Load(LoadError::Input {
                source: SourceError::Next(e),
                ..
            }) => {
                if let Some(e) = e.downcast_ref::<HttpError>() {
                    match e {
                        HttpError::Unreachable { .. }
                        | HttpError::GaveUp { .. }
                        | HttpError::WaitTooLong { .. } => 3,
                        HttpError::Status { status, .. } if *status >= 500 || *status == 408 => 3,
                        HttpError::Config(_) | HttpError::Status { .. } => 2,
                        _ => 1,
                    }
                } else if let Some(e) = e.downcast_ref::<DbError>() {
                    match e {
                        DbError::Connect { .. } | DbError::Read { .. } => 3,
                        DbError::Url { .. } | DbError::Query { .. } => 2,
                        _ => 1,
                    }
                } else {
                    1
                }
            }
            PullError::Load(e) => e.exit_code(),
        }
    }
}

pub use crate::resolve::check_reach;

/// `spec`'s source with its `${env:NAME}` secrets read from this process's environment.
pub fn resolved(spec: &SourceSpec) -> Result<SourceKind, SpecError> {
    resolve::secrets(&spec.source)
}

/// Runs `spec` once; `summary` holds the load's counts whatever the outcome.
pub async fn pull(
    spec: &SourceSpec,
    options: &PullOptions,
    summary: &mut LoadSummary,
    progress: &Progress,
) -> Result<PullOutcome, PullError> {
    let source = resolve::secrets(&spec.source)?;
    if let Some(guard) = &options.guard {
        resolve::check_reach(guard, &source)
            .await
            .map_err(|message| PullError::Refused {
                name: spec.name.clone(),
                message,
            })?;
    }
    let mut req = ingest_load::args::request(&ingest_load::args::defaults(&spec.target.table))
        .map_err(|m| SpecError::Invalid(format!("target: {m}")))?;
    req.database = options.database.clone();
    if let Some(schema) = &options.service_schema {
        req.service_schema = ingest_queue::Schema::new(schema)
            .map_err(|e| SpecError::Invalid(format!("the service schema: {e}")))?;
    }
    req.connection = options.connection.clone();
    req.mode = match spec.target.mode {
        TargetMode::Insert => LoadMode::Insert,
        TargetMode::Upsert => LoadMode::Upsert,
        TargetMode::Merge => LoadMode::Merge,
        TargetMode::Replace => LoadMode::Replace,
    };
    req.key = spec.target.key.clone();
    req.max_errors = options.max_errors;
    req.errors_file = options.errors_file.clone();
    req.report = options.report.clone();
    req.dry_run = options.dry_run;
    // No new record is a run that loaded nothing, not an error (a first run of an API
    // that finds nothing is refused by the reader itself).
    req.allow_empty = true;
    req.file = spec.name.clone().into();

    let schema = req.service_schema.quoted();
    let stored = {
        let mut connected;
        let client = match &options.connection {
            Some(c) if !c.is_closed() => c.as_ref(),
            _ => {
                connected = ingest_pg::connect(&options.database)
                    .await
                    .map_err(LoadError::from)?;
                // Where cursors are kept: created or brought up to date, as `serve` does.
                ingest_queue::migrate(&mut connected, &req.service_schema)
                    .await
                    .map_err(|e| CursorError::Database {
                        name: spec.name.clone(),
                        message: e.to_string(),
                    })?;
                &connected
            }
        };
        cursor::load(client, &schema, &spec.name).await?
    };
    let from = if options.full { None } else { stored.clone() };
    let stats = options.stats.clone();
    let largest = Arc::new(Largest::default());
    let opened = opener(
        spec,
        &source,
        from.as_ref(),
        stored.is_none(),
        &stats,
        &largest,
    )?;
    req.records = Some(RecordsInput {
        label: opened.0,
        open: opened.1,
    });
    if !options.dry_run {
        req.before_commit = Some(store_cursor(
            spec,
            &schema,
            stored.clone(),
            largest.clone(),
            options.before_commit.clone(),
        ));
    }
    let result = ingest_load::run(&req, summary, progress).await;
    let cursor_to = match (largest.get(), &stored) {
        (Some(seen), Some(s)) if !is_past(&seen, s) => Some(s.clone()),
        (Some(seen), _) => Some(seen),
        (None, s) => s.clone(),
    };
    result?;
    Ok(PullOutcome {
        source: spec.name.clone(),
        counts: stats.counts(),
        cursor_from: from,
        cursor_to: if options.dry_run { stored } else { cursor_to },
    })
}

type Opened = (&'static str, Arc<ingest_load::RecordsOpener>);

/// How the load opens the source's records (on a thread that may block), watched for
/// the largest cursor.
fn opener(
    spec: &SourceSpec,
    source: &SourceKind,
    from: Option<&Cursor>,
    first_run: bool,
    stats: &Arc<PullStats>,
    largest: &Arc<Largest>,
) -> Result<Opened, PullError> {
    let handle = tokio::runtime::Handle::current();
    let incremental = spec.incremental.clone();
    let watch = {
        let largest = largest.clone();
        let incremental = incremental.clone();
        move |inner: Box<dyn RecordSource>, ordered: bool| -> Box<dyn RecordSource> {
            match &incremental {
                Some(inc) => Box::new(Tracked::new(
                    inner,
                    &inc.cursor_field,
                    inc.tie_breaker.as_deref(),
                    ordered,
                    largest.clone(),
                )),
                None => inner,
            }
        }
    };
    Ok(match source {
        SourceKind::Http(h) => {
            let lookback = incremental
                .as_ref()
                .and_then(|i| i.lookback.as_deref())
                .map(|l| duration(l, "incremental.lookback"))
                .transpose()?;
            let cursor = match from {
                Some(c) => Some(request_value(&c.value, lookback)),
                None => incremental
                    .as_ref()
                    .and_then(|i| i.initial.as_deref())
                    .map(|v| request_value(v, None)),
            };
            let (h, stats) = ((**h).clone(), stats.clone());
            let open = move || -> Result<Box<dyn RecordSource>, SourceError> {
                let read = HttpRead {
                    source: h.clone(),
                    cursor: cursor.clone(),
                    require_records: first_run,
                    stats: stats.clone(),
                };
                Ok(watch(http::open(&handle, read), false))
            };
            ("HTTP", Arc::new(open))
        }
        SourceKind::Mysql(d) | SourceKind::Postgres(d) => {
            let (dialect, label) = match source {
                SourceKind::Mysql(_) => (Dialect::Mysql, "MariaDB"),
                _ => (Dialect::Postgres, "PostgreSQL"),
            };
            let query = db_query::build(dialect, d, incremental.as_ref(), from)?;
            let connect = connect_of(d);
            let stats = stats.clone();
            let open = move || -> Result<Box<dyn RecordSource>, SourceError> {
                let rows = match dialect {
                    Dialect::Mysql => {
                        db::open_mysql(&handle, &connect, &query, db::DEFAULT_BATCH_ROWS)
                    }
                    Dialect::Postgres => {
                        db::open_postgres(&handle, &connect, &query, db::DEFAULT_BATCH_ROWS)
                    }
                }
                .map_err(|e| SourceError::Next(Box::new(e)))?;
                let counted = Counted {
                    inner: rows,
                    stats: stats.clone(),
                };
                Ok(watch(Box::new(counted), true))
            };
            (label, Arc::new(open))
        }
    })
}

fn connect_of(d: &DbSource) -> DbConnect {
    DbConnect {
        url: d.url.clone(),
        password: d.password.clone(),
    }
}

/// The before-commit step: the largest cursor read, stored if it lies past the one the
/// run started from (compare-and-set), then the caller's own step.
fn store_cursor(
    spec: &SourceSpec,
    schema: &str,
    stored: Option<Cursor>,
    largest: Arc<Largest>,
    then: Option<BeforeCommit>,
) -> BeforeCommit {
    let (name, schema) = (spec.name.clone(), schema.to_string());
    BeforeCommit(Arc::new(move |client, summary| {
        let (name, schema, stored, largest, then) = (
            name.clone(),
            schema.clone(),
            stored.clone(),
            largest.clone(),
            then.clone(),
        );
        async move {
            if let Some(seen) = largest.get()
                && stored.as_ref().is_none_or(|s| is_past(&seen, s))
            {
                cursor::advance(client, &schema, &name, stored.as_ref(), &seen)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            match &then {
                Some(hook) => (hook.0)(client, summary).await,
                None => Ok(()),
            }
        }
        .boxed()
    }))
}

use ingest_pg::PgError;

use crate::{PlanError, RejectLimit};
use ingest_formats::SourceError;

/// Why a load did not commit. [`LoadError::exit_code`] is what the CLI exits with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("{0}")]
    Usage(String),
    /// The caller's before-commit step refused the commit (a job whose lease was lost).
    #[error("not committed: {0}")]
    Vetoed(String),
    #[error("{file}: {source}")]
    Plan { file: String, source: PlanError },
    #[error("cannot open {file}: {source}")]
    Open {
        file: String,
        source: std::io::Error,
    },
    /// The object store refused or failed the request.
    #[error("{file}: {source}")]
    Store {
        file: String,
        source: ingest_store::StoreError,
    },
    #[error("{file}: read error: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Input { file: String, source: SourceError },
    /// The content is not what the name or `--format` says.
    #[error("{file}: {reason}")]
    Format { file: String, reason: String },
    #[error("{file}: {}", if *.header_only { "the file has a header but no rows (--allow-empty to accept)" } else { "the file is empty (--allow-empty to accept)" })]
    Empty { file: String, header_only: bool },
    #[error("{file}: {rejected} row{} rejected, more than --max-errors {limit} allows; nothing was written", if *.rejected == 1 { "" } else { "s" })]
    Rejected {
        file: String,
        rejected: u64,
        limit: RejectLimit,
    },
    #[error("{file}: {rejected} row{} rejected; with --delete-missing their keys would count as missing and the rows they meant to update would be deleted, so nothing was written (fix the rows, or load without --delete-missing)", if *.rejected == 1 { "" } else { "s" })]
    RejectsWithDeleteMissing { file: String, rejected: u64 },
    #[error("{file}: line {line}: {source}")]
    Row {
        file: String,
        line: u64,
        source: PgError,
    },
    #[error("{0}")]
    Database(#[from] PgError),
    /// The rule set cannot run as written (or the table's registered set no longer fits).
    #[error("{0}")]
    Rules(ingest_quality::QualityError),
    /// A `fail` rule failed: the load stops, nothing is written.
    #[error("{file}: rule {rule} failed ({detail}); it has severity fail, so nothing was written")]
    RuleFailed {
        file: String,
        rule: String,
        detail: String,
    },
    #[error("report {file}: {source}")]
    Report {
        file: String,
        source: std::io::Error,
    },
    #[error("diff file {file}: {source}")]
    DiffFile {
        file: String,
        source: std::io::Error,
    },
    #[error("errors file {file}: {source}")]
    ErrorsFile {
        file: String,
        source: std::io::Error,
    },
}

impl From<ingest_quality::QualityError> for LoadError {
    fn from(e: ingest_quality::QualityError) -> LoadError {
        match e {
            ingest_quality::QualityError::Database(e) => LoadError::Database(e),
            e => LoadError::Rules(e),
        }
    }
}

impl LoadError {
    /// 1: the load failed on the data (a value the server refuses included, by SQLSTATE);
    /// 2: usage or configuration (a privilege or statement the server refuses); 3: what a
    /// retry may cure (the connection, the server, another transaction).
    pub fn exit_code(&self) -> i32 {
        match self {
            LoadError::Read { source, .. }
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                3
            }
            LoadError::Vetoed(_) => 3,
            LoadError::Rules(_) | LoadError::DiffFile { .. } | LoadError::Report { .. } => 2,
            LoadError::RuleFailed { .. } => 1,
            LoadError::Usage(_)
            | LoadError::Plan { .. }
            | LoadError::Open { .. }
            | LoadError::ErrorsFile { .. } => 2,
            LoadError::Read { .. }
            | LoadError::Input { .. }
            | LoadError::Format { .. }
            | LoadError::Empty { .. }
            | LoadError::Rejected { .. }
            | LoadError::RejectsWithDeleteMissing { .. } => 1,
            LoadError::Store { source, .. } if source.is_usage() => 2,
            LoadError::Store { .. } => 3,
            LoadError::Database(e) | LoadError::Row { source: e, .. } if e.is_data_error() => 1,
            LoadError::Database(e) | LoadError::Row { source: e, .. } if !e.is_retriable() => 2,
            LoadError::Database(
                PgError::NoSuchTable(_) | PgError::BadUrl(_) | PgError::BadName(_),
            ) => 2,
            LoadError::Database(_) | LoadError::Row { .. } => 3,
        }
    }
}

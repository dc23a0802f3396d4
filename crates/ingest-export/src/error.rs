//! Why an export did not finish, and the exit code each reason maps to.

use crate::binary_copy::DecodeError;
use crate::columns::UnsupportedType;
use crate::output::OutputError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Connect(#[from] ingest_pg::PgError),
    #[error("{what}: {message}")]
    Query {
        what: String,
        message: String,
        /// The server's SQLSTATE, when it answered.
        code: Option<String>,
    },
    #[error(transparent)]
    Unsupported(#[from] UnsupportedType),
    #[error("decoding the rows: {0}")]
    Decode(#[from] DecodeError),
    #[error("writing Parquet: {0}")]
    Parquet(String),
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl ExportError {
    /// The CLI's exit code: 2 for what the user can fix, 3 for the database or the store.
    pub fn exit_code(&self) -> i32 {
        match self {
            // A value Parquet cannot hold (an infinite date, a 2-D array): cast it.
            ExportError::Usage(_)
            | ExportError::Unsupported(_)
            | ExportError::Decode(DecodeError::Value { .. }) => 2,
            // The connection, resources, the server shutting down, a serialization
            // failure: worth a retry. Anything else the server said is about the query.
            ExportError::Query { code: None, .. } => 3,
            ExportError::Query { code: Some(c), .. }
                if ["08", "53", "57", "58"].contains(&&c[..2]) || c == "40001" =>
            {
                3
            }
            ExportError::Query { .. } => 2,
            // A destination that does not exist or may not be written: the user's to fix.
            ExportError::Output(OutputError::Io { source, .. })
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                2
            }
            ExportError::Connect(_) | ExportError::Output(_) => 3,
            _ => 3,
        }
    }
}

pub(crate) fn query_error(what: &str) -> impl Fn(tokio_postgres::Error) -> ExportError + '_ {
    move |e| {
        let message = match e.as_db_error() {
            // A query that writes meets the read-only transaction.
            Some(db) if db.code().code() == "25006" || db.message().contains("data-modifying") => {
                format!("{} (an export runs read-only)", db.message())
            }
            Some(db) => match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(p)) => {
                    format!("{} (at character {p})", db.message())
                }
                _ => db.message().to_string(),
            },
            None => format!("connection: {e}"),
        };
        ExportError::Query {
            what: what.to_string(),
            message,
            code: e.as_db_error().map(|d| d.code().code().to_string()),
        }
    }
}

//! Database sources (MariaDB/MySQL, PostgreSQL): rows read as a stream into the load.
//!
//! [`open_mysql`] and [`open_postgres`] start the driver as a task on the runtime and hand
//! back its rows as a [`RecordSource`] ([`channel`]): the task reads at most two batches
//! ahead of the load, so memory stays flat whatever the table's size, and it stops (its
//! connection closed) once the source is dropped.
//!
//! - MariaDB/MySQL ([`mysql`]): a prepared statement, binary protocol, rows turned into
//!   text ([`mysql_value`]) that the load coerces into the target's types as for a CSV.
//! - PostgreSQL ([`postgres`]): `COPY (query) TO STDOUT (FORMAT binary)` decoded into
//!   typed Arrow columns by the export's decoder, the parameters inlined as literals
//!   ([`pg_inline`]), since COPY takes none.

mod channel;
mod mysql;
mod mysql_value;
mod pg_inline;
mod postgres;

use ingest_formats::RecordSource;
use tokio::runtime::Handle;

use crate::db_query::SourceQuery;

/// How to reach a source database: the spec's URL (no password in it) and the password,
/// resolved.
#[derive(Clone)]
pub struct DbConnect {
    pub url: String,
    pub password: Option<String>,
}

/// Never shows the password, even by mistake in a log line.
impl std::fmt::Debug for DbConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConnect")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why a database source could not be read. `db` names the source as
/// `MariaDB/MySQL host:port/db` or `PostgreSQL host:port/db`: never a user nor a password,
/// and the driver's messages are scrubbed of the password too.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL cannot be used (wrong scheme, unparsable).
    #[error("{db}: bad URL: {message}")]
    Url { db: String, message: String },
    /// The server cannot be reached, or refused the login.
    #[error("{db}: cannot connect: {message}")]
    Connect { db: String, message: String },
    /// The server refused the query (syntax, unknown column, permission), or a parameter
    /// cannot be sent.
    #[error("{db}: the query failed: {message}")]
    Query { db: String, message: String },
    /// The rows stopped coming: the connection was lost, or the server failed mid-query.
    #[error("{db}: reading the rows failed after row {rows}: {message}")]
    Read {
        db: String,
        rows: u64,
        message: String,
    },
    /// The reader's task ended without a word (it panicked, or the runtime shut down):
    /// the rows read may not be all of them.
    #[error("{db}: the reader stopped before the end of the rows")]
    Stopped { db: String },
}

/// Rows per batch handed to the load.
pub const DEFAULT_BATCH_ROWS: usize = 10_000;

/// Reads `query` from MariaDB or MySQL: text batches (every value as text, NULL as null),
/// coerced by the load into the target's types as for a CSV.
///
/// Must be called on a thread that may block (not on a runtime worker; inside
/// `spawn_blocking` is fine), with `handle` a runtime driven by other threads.
/// Connection and query errors (bad password, unknown column, syntax) are returned here,
/// before the first batch; later ones come out of `next_batch` as
/// [`ingest_formats::SourceError::Next`] holding a [`DbError`].
pub fn open_mysql(
    handle: &Handle,
    connect: &DbConnect,
    query: &SourceQuery,
    batch_rows: usize,
) -> Result<Box<dyn RecordSource>, DbError> {
    mysql::open(handle, connect, query, batch_rows.max(1))
}

/// Reads `query` from PostgreSQL: typed batches (Arrow columns of the query's types; a
/// type with no Arrow counterpart is read as its text). Same contract as [`open_mysql`].
pub fn open_postgres(
    handle: &Handle,
    connect: &DbConnect,
    query: &SourceQuery,
    batch_rows: usize,
) -> Result<Box<dyn RecordSource>, DbError> {
    postgres::open(handle, connect, query, batch_rows.max(1))
}

/// `product host:port/db`, from the URL: never its user nor its password.
fn source_name(product: &str, url: &str, default_port: u16) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{product} {}:{}{}",
            u.host_str().unwrap_or("localhost"),
            u.port().unwrap_or(default_port),
            u.path()
        ),
        Err(_) => format!("{product} (unparsable URL)"),
    }
}

/// A driver's message, with the password (should it ever be echoed) masked.
fn scrub(message: impl std::fmt::Display, password: Option<&str>) -> String {
    let message = message.to_string();
    match password {
        Some(p) if !p.is_empty() => message.replace(p, "***"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_without_user_nor_password() {
        assert_eq!(
            source_name("MariaDB/MySQL", "mysql://reader:secret@erp.local/erp", 3306),
            "MariaDB/MySQL erp.local:3306/erp"
        );
        assert_eq!(
            source_name(
                "PostgreSQL",
                "postgres://u@10.0.0.1:6543/db?sslmode=disable",
                5432
            ),
            "PostgreSQL 10.0.0.1:6543/db"
        );
        assert_eq!(
            source_name("PostgreSQL", "not a url", 5432),
            "PostgreSQL (unparsable URL)"
        );
        assert_eq!(
            scrub("Access denied (s3cret!)", Some("s3cret!")),
            "Access denied (***)"
        );
        let connect = DbConnect {
            url: "mysql://u@h/d".into(),
            password: Some("s3cret!".into()),
        };
        assert!(!format!("{connect:?}").contains("s3cret!"));
    }
}

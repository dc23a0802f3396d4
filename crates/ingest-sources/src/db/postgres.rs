//! PostgreSQL: the query's columns from its row description, then its rows from one
//! `COPY (query) TO STDOUT (FORMAT binary)` (one statement, so one snapshot), decoded into
//! typed Arrow batches by the export's [`BatchDecoder`]. A column of a type the decoder
//! does not take (inet, interval, ranges, ...) is read as its text.
//!
//! No TLS yet: the connection is made with `NoTls`, so a URL asking for
//! `sslmode=require` fails to connect rather than going unencrypted.

use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use futures_util::StreamExt;
use ingest_export::binary_copy::BatchDecoder;
use ingest_export::columns::{ColumnKind, ExportColumn, NumericAs};
use ingest_formats::{RecordSource, SourceBatch, TypedBatch};
use tokio::runtime::Handle;
use tokio_postgres::{Client, Config, NoTls};

use super::channel::{self, Feed, Msg, Stop};
use super::{DbConnect, DbError, pg_inline, scrub, source_name};
use crate::db_query::SourceQuery;

pub(super) fn open(
    handle: &Handle,
    connect: &DbConnect,
    query: &SourceQuery,
    batch_rows: usize,
) -> Result<Box<dyn RecordSource>, DbError> {
    let db = source_name("PostgreSQL", &connect.url, 5432);
    let password = connect.password.clone();
    let mut config: Config = connect.url.parse().map_err(|e| DbError::Url {
        db: db.clone(),
        message: scrub(message(&e), password.as_deref()),
    })?;
    if let Some(p) = &password {
        config.password(p);
    }
    // A trailing `;` would end the query inside `COPY (...)`.
    let sql = query
        .sql
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let sql = pg_inline::inline(sql, &query.params).map_err(|e| DbError::Query {
        db: db.clone(),
        message: e.to_string(),
    })?;
    let read = Read {
        db: db.clone(),
        password,
        sql,
        batch_rows,
        decoded: AtomicU64::new(0),
    };
    channel::start(handle, db, move |feed| read.run(feed, config))
}

struct Read {
    db: String,
    password: Option<String>,
    /// The query with its parameters written in.
    sql: String,
    batch_rows: usize,
    /// Rows decoded so far, for the error if the connection is lost.
    decoded: AtomicU64,
}

impl Read {
    async fn run(self, feed: Feed, config: Config) {
        let (client, connection) = match config.connect(NoTls).await {
            Ok(c) => c,
            Err(e) => {
                let _ = feed.send(Msg::Failed(self.failed(Kind::Connect, &e))).await;
                return;
            }
        };
        let mut connection = std::pin::pin!(connection);
        let outcome = tokio::select! {
            // The connection first: when it breaks, its error says why, the stream's
            // only that it closed.
            biased;
            end = &mut connection => Err(Stop::Failed(match end {
                Err(e) => self.failed(Kind::Read, &e),
                Ok(()) => DbError::Read {
                    db: self.db.clone(),
                    rows: self.decoded.load(Ordering::Relaxed),
                    message: "the server closed the connection".into(),
                },
            })),
            outcome = self.rows(&feed, client) => outcome,
        };
        match outcome {
            Ok(()) => {
                let _ = feed.send(Msg::End).await;
                // The client is gone: the connection says goodbye and ends.
                let _ = connection.await;
            }
            Err(Stop::Failed(e)) => {
                let _ = feed.send(Msg::Failed(e)).await;
            }
            // The connection is dropped with the task, mid-COPY: the server sees the
            // socket close and stops the query.
            Err(Stop::Gone) => {}
        }
    }

    async fn rows(&self, feed: &Feed, client: Client) -> Result<(), Stop> {
        let statement = client
            .prepare(&self.sql)
            .await
            .map_err(|e| Stop::Failed(self.failed(Kind::Query, &e)))?;
        let mut columns = Vec::new();
        let mut casts = Vec::new();
        for c in statement.columns() {
            // typmod -1 and numeric as text: an exact decimal, without knowing the
            // precision the row description does not give.
            let (column, cast) = match ExportColumn::of(c.name(), c.type_(), -1, NumericAs::Text) {
                Ok(column) => {
                    let cast = match &column.kind {
                        ColumnKind::NumericText => Cast::Text,
                        ColumnKind::List(item) if **item == ColumnKind::NumericText => {
                            Cast::TextArray
                        }
                        // Not text columns: `::text` would strip char(n)'s padding.
                        _ => Cast::None,
                    };
                    (column, cast)
                }
                Err(_) => {
                    let kind = ColumnKind::Text;
                    let name = c.name().to_string();
                    (ExportColumn { name, kind }, Cast::Output)
                }
            };
            casts.push(cast);
            columns.push(column);
        }
        if columns.is_empty() {
            return Err(Stop::Failed(DbError::Query {
                db: self.db.clone(),
                message: "it returns no columns".into(),
            }));
        }
        let header: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let copy = client
            .copy_out(&copy_sql(&self.sql, &casts))
            .await
            .map_err(|e| Stop::Failed(self.failed(Kind::Query, &e)))?;
        let mut decoder = BatchDecoder::new(columns, self.batch_rows);
        let types = decoder
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        feed.send(Msg::Started {
            header,
            types: Some(types),
        })
        .await?;
        let mut copy = std::pin::pin!(copy);
        let (mut bytes, mut first_row) = (0u64, 1u64);
        let mut ready: Vec<RecordBatch> = Vec::new();
        loop {
            let chunk = match copy.next().await {
                Some(chunk) => chunk.map_err(|e| Stop::Failed(self.failed(Kind::Read, &e)))?,
                None => break,
            };
            bytes += chunk.len() as u64;
            decoder
                .feed(&chunk, &mut |b| ready.push(b))
                .map_err(|e| Stop::Failed(self.read_error(e.to_string())))?;
            self.decoded.store(decoder.rows(), Ordering::Relaxed);
            for batch in ready.drain(..) {
                feed.send(typed(batch, &mut first_row, bytes)).await?;
            }
        }
        let last = decoder
            .finish()
            .map_err(|e| Stop::Failed(self.read_error(e.to_string())))?;
        if let Some(batch) = last {
            feed.send(typed(batch, &mut first_row, bytes)).await?;
        }
        Ok(())
    }

    fn failed(&self, kind: Kind, e: &tokio_postgres::Error) -> DbError {
        let db = self.db.clone();
        let message = scrub(message(e), self.password.as_deref());
        match kind {
            Kind::Connect => DbError::Connect { db, message },
            Kind::Query => DbError::Query { db, message },
            Kind::Read => self.read_error(message),
        }
    }

    fn read_error(&self, message: String) -> DbError {
        DbError::Read {
            db: self.db.clone(),
            rows: self.decoded.load(Ordering::Relaxed),
            message,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Connect,
    Query,
    Read,
}

fn typed(batch: RecordBatch, first_row: &mut u64, bytes_read: u64) -> Msg {
    let first = *first_row;
    *first_row += batch.num_rows() as u64;
    Msg::Batch(SourceBatch::Typed(TypedBatch {
        columns: batch.columns().to_vec(),
        first_row: first,
        bytes_read,
    }))
}

/// What a column becomes in the COPY: the decoder reads numeric, and any type it does
/// not know, as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cast {
    None,
    Text,
    TextArray,
    /// The type's output text, as COPY's text format would write it (`format('%s')`,
    /// since `::text` is not always that: an inet `::1` casts to `::1/128`), NULL kept
    /// (`num_nulls`, since `IS NULL` is also true of a row whose fields are all NULL).
    Output,
}

/// The COPY of `sql`, with the casts its columns need. Columns are renamed by position
/// (`q(c1, c2, ..)`) for that, since a query's names may repeat; the header keeps the
/// query's own names. The query goes on lines of its own so that a trailing
/// `-- comment` does not swallow the closing parenthesis.
fn copy_sql(sql: &str, casts: &[Cast]) -> String {
    if casts.iter().all(|c| *c == Cast::None) {
        return format!("COPY (\n{sql}\n) TO STDOUT (FORMAT binary)");
    }
    let names: Vec<String> = (1..=casts.len()).map(|i| format!("c{i}")).collect();
    let list: Vec<String> = names
        .iter()
        .zip(casts)
        .map(|(n, cast)| match cast {
            Cast::None => format!("q.{n}"),
            Cast::Text => format!("q.{n}::text"),
            Cast::TextArray => format!("q.{n}::text[]"),
            Cast::Output => format!("CASE WHEN num_nulls(q.{n}) = 0 THEN format('%s', q.{n}) END"),
        })
        .collect();
    format!(
        "COPY (SELECT {} FROM (\n{sql}\n) AS q({})) TO STDOUT (FORMAT binary)",
        list.join(", "),
        names.join(", ")
    )
}

/// The server's own words for its errors (severity, SQLSTATE, message, detail, hint);
/// the chain of causes for the others (tokio-postgres's Display is only the kind).
fn message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            m.push_str(&format!(" (detail: {detail})"));
        }
        if let Some(hint) = db.hint() {
            m.push_str(&format!(" (hint: {hint})"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        m.push_str(&format!(": {c}"));
        cause = c.source();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_read_as_text_are_cast_by_position() {
        assert_eq!(
            copy_sql("select 1 -- one", &[Cast::None]),
            "COPY (\nselect 1 -- one\n) TO STDOUT (FORMAT binary)"
        );
        assert_eq!(
            copy_sql(
                "select a, b, a from t",
                &[Cast::None, Cast::Text, Cast::TextArray]
            ),
            "COPY (SELECT q.c1, q.c2::text, q.c3::text[] FROM (\nselect a, b, a from t\n) AS q(c1, c2, c3)) TO STDOUT (FORMAT binary)"
        );
    }
}

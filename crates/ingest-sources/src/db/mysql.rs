//! MariaDB/MySQL: the query as a prepared statement (binary protocol, so values arrive
//! typed and are written exactly, [`super::mysql_value`]), its rows streamed one at a time
//! into text batches.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use futures_util::StreamExt;
use ingest_formats::{RecordReject, RecordSource, SourceBatch, TextBatch};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row, Value};
use tokio::runtime::Handle;

use super::channel::{self, Feed, Msg, Stop};
use super::mysql_value::{self, Field, Shape};
use super::{DbConnect, DbError, scrub, source_name};
use crate::db_query::SourceQuery;

/// Run once connected: text in UTF-8 (whatever the server's default), TIMESTAMP columns
/// in UTC rather than the server's zone (so that no value is ambiguous at a DST change),
/// and no write, ever, from a source's query.
const SESSION: [&str; 2] = [
    "SET NAMES utf8mb4, time_zone = '+00:00'",
    "SET SESSION TRANSACTION READ ONLY",
];

pub(super) fn open(
    handle: &Handle,
    connect: &DbConnect,
    query: &SourceQuery,
    batch_rows: usize,
) -> Result<Box<dyn RecordSource>, DbError> {
    let db = source_name("MariaDB/MySQL", &connect.url, 3306);
    let password = connect.password.clone();
    let opts = Opts::from_url(&connect.url).map_err(|e| DbError::Url {
        db: db.clone(),
        message: scrub(&e, password.as_deref()),
    })?;
    let mut opts = OptsBuilder::from_opts(opts).init(SESSION.to_vec());
    if password.is_some() {
        opts = opts.pass(password.clone());
    }
    let read = Read {
        db: db.clone(),
        password,
        sql: query.sql.clone(),
        params: query.params.clone(),
        batch_rows,
    };
    channel::start(handle, db, move |feed| read.run(feed, opts.into()))
}

struct Read {
    db: String,
    password: Option<String>,
    sql: String,
    params: Vec<String>,
    batch_rows: usize,
}

impl Read {
    async fn run(self, feed: Feed, opts: Opts) {
        let mut conn = match Conn::new(opts).await {
            Ok(conn) => conn,
            Err(e) => {
                let message = scrub(message(&e), self.password.as_deref());
                let db = self.db;
                let _ = feed
                    .send(Msg::Failed(DbError::Connect { db, message }))
                    .await;
                return;
            }
        };
        match self.rows(&feed, &mut conn).await {
            Ok(()) => {
                let _ = feed.send(Msg::End).await;
                let _ = conn.disconnect().await;
            }
            // Mid-stream, the connection may still have rows pending.
            Err(Stop::Failed(e @ DbError::Read { .. })) => {
                let _ = feed.send(Msg::Failed(e)).await;
                close_now(conn);
            }
            Err(Stop::Failed(e)) => {
                let _ = feed.send(Msg::Failed(e)).await;
                let _ = conn.disconnect().await;
            }
            Err(Stop::Gone) => close_now(conn),
        }
    }

    async fn rows(&self, feed: &Feed, conn: &mut Conn) -> Result<(), Stop> {
        let failed = |message| {
            Stop::Failed(DbError::Query {
                db: self.db.clone(),
                message,
            })
        };
        let password = self.password.as_deref();
        let mut result = conn
            .exec_iter(self.sql.as_str(), self.params.clone())
            .await
            .map_err(|e| failed(scrub(message(&e), password)))?;
        let mut rows = match result.stream::<Row>().await {
            Ok(Some(rows)) => rows,
            Ok(None) => return Err(failed("it returns no rows (not a SELECT?)".into())),
            Err(e) => return Err(failed(scrub(message(&e), password))),
        };
        let columns = rows.columns();
        let header: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
        let shapes = columns
            .iter()
            .map(|c| Shape::of(c.column_type(), c.character_set()))
            .collect();
        let mut batch = TextRows::new(header.clone().into(), shapes);
        feed.send(Msg::Started {
            header,
            types: None,
        })
        .await?;
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| {
                Stop::Failed(DbError::Read {
                    db: self.db.clone(),
                    rows: batch.rows,
                    message: scrub(message(&e), password),
                })
            })?;
            batch.push(&row);
            if batch.len() >= self.batch_rows {
                feed.send(Msg::Batch(batch.take())).await?;
            }
        }
        if batch.len() > 0 {
            feed.send(Msg::Batch(batch.take())).await?;
        }
        Ok(())
    }
}

/// Closes a connection that may have rows pending without reading them. Dropped on a
/// runtime (or told to disconnect), the driver first reads every pending row, to leave
/// the connection clean: the rest of the table, for nothing. Dropped off the runtime, it
/// cannot, and its socket is just closed; the server then stops the query.
fn close_now(conn: Conn) {
    std::thread::spawn(move || drop(conn));
}

/// Rows gathered as text columns until a batch is full.
struct TextRows {
    header: Arc<[String]>,
    shapes: Vec<Shape>,
    columns: Vec<StringBuilder>,
    lines: Vec<u64>,
    rejects: Vec<RecordReject>,
    /// Rows read so far (the 1-based number of the last one).
    rows: u64,
    /// The text of the rows so far (with a byte per field for its separator), as progress.
    bytes: u64,
    /// The current row's fields, written one after the other, and where each one is.
    text: String,
    spans: Vec<Option<Range<usize>>>,
}

impl TextRows {
    fn new(header: Arc<[String]>, shapes: Vec<Shape>) -> TextRows {
        TextRows {
            columns: shapes.iter().map(|_| StringBuilder::new()).collect(),
            header,
            shapes,
            lines: Vec::new(),
            rejects: Vec::new(),
            rows: 0,
            bytes: 0,
            text: String::new(),
            spans: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.lines.len() + self.rejects.len()
    }

    fn push(&mut self, row: &Row) {
        self.rows += 1;
        self.text.clear();
        self.spans.clear();
        let mut not_utf8 = None;
        for (i, shape) in self.shapes.iter().enumerate() {
            let start = self.text.len();
            let value = row.as_ref(i).unwrap_or(&Value::NULL);
            let field = mysql_value::write(*shape, value, &mut self.text);
            if field == Field::NotUtf8 {
                not_utf8.get_or_insert(i);
            }
            self.spans
                .push((field != Field::Null).then_some(start..self.text.len()));
        }
        self.bytes += (self.text.len() + self.shapes.len()) as u64;
        // The server converts text to the connection's utf8mb4, so this is rare (a
        // column whose bytes are not in its own charset): the row is refused, not
        // altered.
        if let Some(c) = not_utf8 {
            let raw: Vec<&str> = self
                .spans
                .iter()
                .map(|s| s.clone().map_or("", |r| &self.text[r]))
                .collect();
            self.rejects.push(RecordReject {
                line: self.rows,
                column: Some(self.header[c].clone()),
                reason: "not valid UTF-8 (in its own character set)".into(),
                raw: raw.join(","),
            });
            return;
        }
        for (column, span) in self.columns.iter_mut().zip(&self.spans) {
            match span {
                Some(r) => column.append_value(&self.text[r.clone()]),
                None => column.append_null(),
            }
        }
        self.lines.push(self.rows);
    }

    fn take(&mut self) -> SourceBatch {
        SourceBatch::Text(TextBatch {
            columns: self.columns.iter_mut().map(StringBuilder::finish).collect(),
            lines: std::mem::take(&mut self.lines),
            rejects: std::mem::take(&mut self.rejects),
            bytes_read: self.bytes,
        })
    }
}

/// The server's error as it says it (`ERROR 1054 (42S22): Unknown column ..`), an I/O
/// error without the driver's prefix said twice.
fn message(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(e) => e.to_string(),
        mysql_async::Error::Io(mysql_async::IoError::Io(e)) => e.to_string(),
        e => e.to_string(),
    }
}

//! Export: a table or a query's rows to Parquet, CSV or NDJSON, in one snapshot, streamed.
//!
//! The rows come from one `COPY (...) TO STDOUT` inside a `REPEATABLE READ READ ONLY`
//! transaction. For Parquet the COPY is binary and its rows are decoded straight into
//! Arrow batches ([`binary_copy`]) on one thread while another encodes Parquet; CSV and
//! NDJSON are PostgreSQL's own output, streamed through the compression the name asks
//! for. Nothing is written under the final name until the file is whole ([`output`]).

pub mod binary_copy;
pub mod columns;
pub mod output;
pub mod parquet_files;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use ingest_pg::ConnectSource;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use tokio_postgres::Client;

use crate::export::binary_copy::{BatchDecoder, DecodeError};
use crate::export::columns::{ExportColumn, NumericAs, UnsupportedType};
use crate::export::output::{Output, OutputError, TextSink};

/// What to export.
#[derive(Debug, Clone)]
pub enum ExportSource {
    Table(String),
    Query(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Parquet,
    Csv,
    Ndjson,
}

impl ExportFormat {
    /// The format a destination's name implies (under a `.gz`/`.zst` suffix).
    pub fn from_name(to: &str) -> Option<ExportFormat> {
        let name = to.split('?').next().unwrap_or(to).to_ascii_lowercase();
        let name = [".gz", ".zst", ".zstd"]
            .iter()
            .find_map(|c| name.strip_suffix(c))
            .unwrap_or(&name);
        match name.rsplit_once('.')?.1 {
            "parquet" | "pq" => Some(ExportFormat::Parquet),
            "csv" | "txt" => Some(ExportFormat::Csv),
            "ndjson" | "jsonl" | "json" => Some(ExportFormat::Ndjson),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub source: ExportSource,
    pub to: String,
    pub format: ExportFormat,
    pub database: ConnectSource,
    pub numeric_as: NumericAs,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// Parquet: a row group is closed when its encoded size reaches this.
    pub row_group_bytes: usize,
    /// Parquet: Hive-style directories by a column's value (or its day, month or year).
    pub partition_by: Option<PartitionBy>,
    /// Parquet: a new part file once a file reaches this size.
    pub max_file_bytes: Option<u64>,
    /// Connections reading a table's blocks at once (sharing one snapshot); None: one
    /// per core for tables over 128 MiB, else one.
    pub readers: Option<usize>,
    /// Set once the files are being put in place: a job's cancel then waits for the end,
    /// rather than leave some of a directory's files in place and not others.
    pub committing: Arc<AtomicBool>,
    /// A cap on the export's statements (set for queries that come through the API).
    pub statement_timeout: Option<std::time::Duration>,
    /// CSV as `--locale pt-BR` writes it: decimal commas and day-first dates.
    pub brazilian: bool,
    /// CSV in this encoding (PostgreSQL's name: `WIN1252`, `LATIN1`), converted by the
    /// server; a character it cannot hold is an error.
    pub encoding: Option<String>,
}

/// `--partition-by col` or `col:day|month|year`.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionBy {
    pub column: String,
    /// `to_char` pattern of a date or timestamp column's day, month or year.
    pub unit: Option<&'static str>,
}

impl PartitionBy {
    pub fn parse(spec: &str) -> Result<PartitionBy, String> {
        let (column, unit) = match spec.rsplit_once(':') {
            Some((c, u)) => (c, Some(u)),
            None => (spec, None),
        };
        let unit = match unit.map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("day") => Some("YYYY-MM-DD"),
            Some("month") => Some("YYYY-MM"),
            Some("year") => Some("YYYY"),
            Some(other) => {
                return Err(format!(
                    "--partition-by {spec}: unknown unit {other:?} (day, month or year)"
                ));
            }
        };
        if column.is_empty() {
            return Err("--partition-by needs a column".into());
        }
        Ok(PartitionBy {
            column: column.to_string(),
            unit,
        })
    }
}

/// What an export did, for `--json` and the closing line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    pub source: String,
    pub to: String,
    pub format: &'static str,
    pub rows: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    /// When the snapshot was taken (the server's clock).
    pub snapshot_at: String,
    /// The files of a directory export (also listed in its `_manifest.json`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<parquet_files::FileEntry>,
}

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

fn query_error(what: &str) -> impl Fn(tokio_postgres::Error) -> ExportError + '_ {
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

/// Statements that change data or schema: an export refuses them before sending them.
const WRITING: [&str; 12] = [
    "insert", "update", "delete", "merge", "create", "drop", "alter", "truncate", "grant",
    "revoke", "copy", "call",
];

fn committing(req: &ExportRequest) {
    req.committing.store(true, Ordering::SeqCst);
}

/// Puts the export's statement timeout (if any) in force on `client` for what follows.
async fn reset_timeout(client: &Client, req: &ExportRequest) -> Result<(), ExportError> {
    if let Some(timeout) = req.statement_timeout {
        client
            .batch_execute(&format!(
                "SET LOCAL statement_timeout = {}",
                timeout.as_millis()
            ))
            .await
            .map_err(query_error("setting the statement timeout"))?;
    }
    Ok(())
}

/// Refuses a query that starts by changing data or schema (a data-modifying `WITH` is
/// refused by the server: the export's transaction is read-only).
pub fn refuse_writes(query: &str) -> Result<(), String> {
    let first = query
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if WRITING.contains(&first.as_str()) {
        return Err(format!(
            "--query: {first} changes data; an export runs read-only queries (SELECT, WITH, VALUES, TABLE)"
        ));
    }
    Ok(())
}

/// Runs the export; `rows_seen` is told the rows read so far (for progress).
pub async fn run(
    req: &ExportRequest,
    rows_seen: &(dyn Fn(u64) + Sync),
) -> Result<ExportSummary, ExportError> {
    let started = Instant::now();
    let client = ingest_pg::connect(&req.database).await?;
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(query_error("starting the snapshot"))?;
    reset_timeout(&client, req).await?;
    let (select, source, table) = select_of(&client, &req.source).await?;
    let snapshot_at: String = client
        .query_one("SELECT now()::text", &[])
        .await
        .map_err(query_error("reading the snapshot's time"))?
        .get(0);
    let mut summary = ExportSummary {
        source,
        to: crate::load::store::redacted(&req.to),
        format: req.format.name(),
        snapshot_at,
        ..Default::default()
    };
    match req.format {
        ExportFormat::Parquet => {
            let (rows, finished) =
                write_parquet(req, &client, &select, table.as_deref(), rows_seen).await?;
            if let Err(e) = client.batch_execute("COMMIT").await {
                finished.abandon();
                return Err(query_error("ending the snapshot")(e));
            }
            let schema_of = |entries: &[parquet_files::FileEntry]| {
                serde_json::json!({
                    "source": summary.source,
                    "snapshot_at": summary.snapshot_at,
                    "format": "parquet",
                    "rows": rows,
                    "partition_by": req.partition_by.as_ref().map(|p| p.column.clone()),
                    "files": entries,
                })
            };
            committing(req);
            let (files, bytes) = finished.commit(schema_of).await?;
            summary.rows = rows;
            summary.bytes_written = bytes;
            if files.len() > 1 || req.partition_by.is_some() || req.max_file_bytes.is_some() {
                summary.files = files;
            }
        }
        ExportFormat::Csv | ExportFormat::Ndjson => {
            if req.partition_by.is_some() || req.max_file_bytes.is_some() {
                return Err(ExportError::Usage(
                    "--partition-by and --max-file-size write Parquet only, for now".into(),
                ));
            }
            let (output, file) = Output::create(&req.to)?;
            let rows = match write_text(req, &client, &select, file, rows_seen).await {
                Ok(rows) => rows,
                Err(e) => {
                    output.abandon();
                    return Err(e);
                }
            };
            if let Err(e) = client.batch_execute("COMMIT").await {
                output.abandon();
                return Err(query_error("ending the snapshot")(e));
            }
            summary.rows = rows;
            committing(req);
            summary.bytes_written = output.commit().await?;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The SELECT that gives the rows, and the source as messages name it.
/// (The table, quoted, when the source is one: its blocks can be split among readers.)
async fn select_of(
    client: &Client,
    source: &ExportSource,
) -> Result<(String, String, Option<String>), ExportError> {
    match source {
        ExportSource::Table(name) => {
            let (schema, table) = ingest_pg::catalog::locate_table(client, name)
                .await?
                .ok_or_else(|| ExportError::Usage(format!("no table {name}")))?;
            let q = ingest_pg::ident::qualified(&schema, &table);
            Ok((
                format!("SELECT * FROM {q}"),
                format!("{schema}.{table}"),
                Some(q),
            ))
        }
        ExportSource::Query(query) => {
            let query = query.trim().trim_end_matches(';').trim();
            refuse_writes(query).map_err(ExportError::Usage)?;
            Ok((query.to_string(), "query".into(), None))
        }
    }
}

/// What the server sends (one COPY message per row) goes to the consuming thread in
/// blocks of about 1 MiB: handing rows over one by one costs more than decoding them.
async fn forward(
    stream: tokio_postgres::CopyOutStream,
    to: &mpsc::SyncSender<Bytes>,
    tick: &(dyn Fn() + Sync),
) -> Option<ExportError> {
    const BLOCK: usize = 1 << 20;
    tokio::pin!(stream);
    let mut block = bytes::BytesMut::with_capacity(BLOCK + (64 << 10));
    let mut blocks = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                block.extend_from_slice(&chunk);
                if block.len() >= BLOCK {
                    blocks += 1;
                    if blocks.is_multiple_of(8) {
                        tick();
                    }
                    if to.send(block.split().freeze()).is_err() {
                        return None;
                    }
                }
            }
            Err(e) => return Some(query_error("reading the rows")(e)),
        }
    }
    if !block.is_empty() {
        let _ = to.send(block.freeze());
    }
    None
}

/// The rows as a Brazilian spreadsheet expects them: decimal commas, `dd/mm/yyyy`
/// dates, `dd/mm/yyyy hh:mm:ss` times (in the session's time zone; fractions only when
/// there are any). Formatted by the server, which knows every value's exact text.
async fn brazilian_select(client: &Client, select: &str) -> Result<String, ExportError> {
    use tokio_postgres::types::Type;
    let statement = client
        .prepare(&format!("SELECT * FROM ({select}) AS q"))
        .await
        .map_err(query_error("the query"))?;
    let trim = |e: String| format!("regexp_replace({e}, '\\.?0+$', '')");
    let list = statement
        .columns()
        .iter()
        .map(|c| {
            let q = ingest_pg::ident::quote_ident(c.name());
            let value = match *c.type_() {
                Type::NUMERIC | Type::FLOAT4 | Type::FLOAT8 => {
                    format!("replace(q.{q}::text, '.', ',')")
                }
                Type::DATE => format!("to_char(q.{q}, 'DD/MM/YYYY')"),
                Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                    trim(format!("to_char(q.{q}, 'DD/MM/YYYY HH24:MI:SS.US')"))
                }
                _ => format!("q.{q}"),
            };
            format!("{value} AS {q}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!("SELECT {list} FROM ({select}) AS q"))
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A one-byte SQL string literal, as an escape so no byte needs quoting.
fn literal(byte: u8) -> String {
    format!("E'\\x{byte:02x}'")
}

/// The name the partition value travels under, first in each decoded row.
const PARTITION_COLUMN: &str = "__ingest_partition";

/// Parquet: binary COPY decoded into Arrow batches on one thread, encoded into the
/// export's files on another. Returns the rows and the files, whole but not yet in place.
async fn write_parquet(
    req: &ExportRequest,
    client: &Client,
    select: &str,
    table: Option<&str>,
    rows_seen: &(dyn Fn(u64) + Sync),
) -> Result<(u64, parquet_files::Finished), ExportError> {
    let statement = client
        .prepare(&format!("SELECT * FROM ({select}) AS q"))
        .await
        .map_err(query_error("the query"))?;
    let mut columns = statement
        .columns()
        .iter()
        .map(|c| ExportColumn::of(c.name(), c.type_(), c.type_modifier(), req.numeric_as))
        .collect::<Result<Vec<_>, _>>()?;
    size_numerics(client, select, &mut columns).await?;
    // Unconstrained numeric goes out as its text, cast by the server.
    let mut list = columns
        .iter()
        .map(|c| {
            let q = ingest_pg::ident::quote_ident(&c.name);
            match &c.kind {
                columns::ColumnKind::NumericText => format!("q.{q}::text"),
                columns::ColumnKind::List(item) if **item == columns::ColumnKind::NumericText => {
                    format!("q.{q}::text[]")
                }
                _ => format!("q.{q}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let schema = columns::schema(&columns);
    let mut decoded_columns = columns.clone();
    let mut order = String::new();
    if let Some(p) = &req.partition_by {
        let Some(column) = columns.iter().find(|c| c.name == p.column) else {
            return Err(ExportError::Usage(format!(
                "--partition-by {}: the rows have no such column ({})",
                p.column,
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let q = ingest_pg::ident::quote_ident(&p.column);
        // An empty value goes with NULL (Hive writes both to its default partition).
        let key = match p.unit {
            None => format!("nullif(q.{q}::text, '')"),
            Some(pattern) => {
                use columns::ColumnKind::{Date, Timestamp, Timestamptz};
                if !matches!(column.kind, Date | Timestamp | Timestamptz) {
                    return Err(ExportError::Usage(format!(
                        "--partition-by {}: day, month and year need a date or timestamp column",
                        p.column
                    )));
                }
                // Days of a timestamptz are UTC days.
                client
                    .batch_execute("SET LOCAL TimeZone = 'UTC'")
                    .await
                    .map_err(query_error("setting the time zone"))?;
                format!("to_char(q.{q}, '{pattern}')")
            }
        };
        list = format!("{key}, {list}");
        // Rows come grouped by partition, so each partition's files are written in turn.
        // Byte order: a case-insensitive collation would interleave `a` and `A`.
        order = format!(" ORDER BY {key} COLLATE \"C\"");
        decoded_columns.insert(
            0,
            ExportColumn {
                name: PARTITION_COLUMN.into(),
                kind: columns::ColumnKind::Text,
            },
        );
    }
    // A table may be read by several connections sharing the snapshot, each a range of
    // its blocks; anything else (a query, a partitioned export, which needs its rows
    // ordered) is one COPY.
    let split = match (table, &req.partition_by) {
        (Some(t), None) => {
            let size = client
                .query_one(
                    "SELECT pg_relation_size($1::text::regclass), current_setting('block_size')::int8",
                    &[&t],
                )
                .await
                .map_err(query_error("sizing the table"))?;
            let (bytes, block_size): (i64, i64) = (size.get(0), size.get(1));
            let readers = reader_count(bytes, req.readers);
            (readers > 1).then_some((t, readers, bytes / block_size))
        }
        _ => None,
    };
    let mut connections = Vec::new();
    let mut copies = Vec::new();
    if let Some((t, readers, blocks)) = split {
        let snapshot: String = client
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(query_error("exporting the snapshot"))?
            .get(0);
        for k in 0..readers as i64 {
            let c = ingest_pg::connect(&req.database).await?;
            c.batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'"
            ))
            .await
            .map_err(query_error("joining the snapshot"))?;
            reset_timeout(&c, req).await?;
            let from = blocks * k / readers as i64;
            let to = blocks * (k + 1) / readers as i64;
            // The last range is open: every row of the snapshot is in one range.
            let range = if k + 1 == readers as i64 {
                format!("ctid >= '({from},0)'::tid")
            } else {
                format!("ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid")
            };
            copies.push(format!(
                "COPY (SELECT {list} FROM (SELECT * FROM {t} WHERE {range}) AS q) TO STDOUT (FORMAT binary)"
            ));
            connections.push(c);
        }
    } else {
        copies.push(format!(
            "COPY (SELECT {list} FROM ({select}) AS q{order}) TO STDOUT (FORMAT binary)"
        ));
    }
    let clients: Vec<&Client> = if connections.is_empty() {
        vec![client]
    } else {
        connections.iter().collect()
    };
    // Set again: the measuring pass ran the user's query, which may have changed it.
    reset_timeout(client, req).await?;
    let mut streams = Vec::new();
    for (c, copy) in clients.iter().zip(&copies) {
        streams.push(
            c.copy_out(copy)
                .await
                .map_err(query_error("starting COPY"))?,
        );
    }
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        // Row groups are sized by bytes (the library's estimate of their encoded size).
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(Some(req.row_group_bytes.max(1)))
        .build();
    let layout =
        if req.partition_by.is_some() || req.max_file_bytes.is_some() || req.to.ends_with('/') {
            parquet_files::Layout::Directory {
                prefix: req.to.clone(),
                partition_column: req.partition_by.as_ref().map(|p| p.column.clone()),
            }
        } else {
            parquet_files::Layout::Single(req.to.clone())
        };
    let mut files = parquet_files::ParquetFiles::new(layout, schema, props, req.max_file_bytes);
    let partitioned = req.partition_by.is_some();
    // Chunks from each reader -> its decoder thread -> batches -> one writer thread.
    let (batch_tx, batch_rx) = mpsc::sync_channel(4);
    let counted = Arc::new(AtomicU64::new(0));
    let mut chunk_txs = Vec::new();
    let mut decoders = Vec::new();
    for _ in 0..streams.len() {
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Bytes>(8);
        chunk_txs.push(chunk_tx);
        let mut decoder = BatchDecoder::new(decoded_columns.clone(), 64 * 1024);
        let (batch_tx, decoded_rows) = (batch_tx.clone(), counted.clone());
        decoders.push(std::thread::spawn(move || -> Result<u64, DecodeError> {
            let mut told = 0;
            for chunk in chunk_rx {
                let mut sent = true;
                decoder.feed(&chunk, &mut |batch| sent &= batch_tx.send(batch).is_ok())?;
                decoded_rows.fetch_add(decoder.rows() - told, Ordering::Relaxed);
                told = decoder.rows();
                if !sent {
                    break;
                }
            }
            if let Some(last) = decoder.finish()? {
                let _ = batch_tx.send(last);
            }
            Ok(decoder.rows())
        }));
    }
    drop(batch_tx);
    let encode = std::thread::spawn(move || -> Result<parquet_files::Finished, String> {
        for batch in batch_rx {
            if partitioned {
                write_partitions(&mut files, &batch)?;
            } else {
                files.write(&batch, None)?;
            }
        }
        files.finish()
    });
    let tick = || rows_seen(counted.load(Ordering::Relaxed));
    let forwarded = futures_util::future::join_all(
        streams
            .into_iter()
            .zip(&chunk_txs)
            .map(|(stream, tx)| forward(stream, tx, &tick)),
    )
    .await;
    let copy_error = forwarded.into_iter().flatten().next();
    drop(chunk_txs);
    let (decoded, encoded) = tokio::task::spawn_blocking(move || {
        let decoded: Result<u64, DecodeError> = decoders
            .into_iter()
            .map(|d| d.join().expect("a decoder panicked"))
            .sum();
        (decoded, encode.join().expect("the Parquet writer panicked"))
    })
    .await
    .expect("joining the export's threads");
    for c in &connections {
        let _ = c.batch_execute("COMMIT").await;
    }
    let finished = encoded.map_err(ExportError::Parquet)?;
    let failed = match (copy_error, decoded) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(ExportError::Decode(e)),
        (None, Ok(rows)) => Ok(rows),
    };
    match failed {
        Ok(rows) => {
            rows_seen(rows);
            Ok((rows, finished))
        }
        Err(e) => {
            finished.abandon();
            Err(e)
        }
    }
}

/// Unconstrained numeric columns become the narrowest decimal128 their values fit, found
/// by one pass over the rows in the export's snapshot; wider than 38 digits is refused.
async fn size_numerics(
    client: &Client,
    select: &str,
    columns: &mut [ExportColumn],
) -> Result<(), ExportError> {
    let unsized_columns: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].kind == columns::ColumnKind::NumericUnsized)
        .collect();
    if unsized_columns.is_empty() {
        return Ok(());
    }
    // Integer digits and scale of each column's widest values.
    let measures = unsized_columns
        .iter()
        .map(|&i| {
            let q = ingest_pg::ident::quote_ident(&columns[i].name);
            format!(
                "coalesce(max(length(split_part(ltrim(q.{q}::text, '-'), '.', 1))), 1)::int,
                 coalesce(max(scale(q.{q})), 0)::int"
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let row = client
        .query_one(&format!("SELECT {measures} FROM ({select}) AS q"), &[])
        .await
        .map_err(query_error("measuring the numeric columns"))?;
    for (n, &i) in unsized_columns.iter().enumerate() {
        let (digits, scale): (i32, i32) = (row.get(2 * n), row.get(2 * n + 1));
        let precision = digits + scale;
        if precision > 38 || scale > 38 {
            return Err(ExportError::Unsupported(UnsupportedType {
                column: columns[i].name.clone(),
                type_name: format!("numeric with values of {precision} digits"),
                hint: "decimal128 holds 38; pass --numeric-as text, or round it in --query".into(),
            }));
        }
        columns[i].kind = columns::ColumnKind::Decimal {
            precision: precision.max(1) as u8,
            scale: scale as i8,
        };
    }
    Ok(())
}

/// How many connections read a table of `bytes`: as asked, else one per core (at most 4)
/// for a table over 128 MiB.
fn reader_count(bytes: i64, asked: Option<usize>) -> usize {
    if let Some(n) = asked {
        return n.clamp(1, 16);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if bytes > 128 << 20 {
        cores.clamp(1, 4)
    } else {
        1
    }
}

/// A batch whose first column is the partition value, in runs (the rows are ordered by
/// it): each run goes to its partition's file, without that column.
fn write_partitions(
    files: &mut parquet_files::ParquetFiles,
    batch: &arrow_array::RecordBatch,
) -> Result<(), String> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let keys = batch.column(0).as_string::<i32>();
    let data = batch
        .project(&(1..batch.num_columns()).collect::<Vec<_>>())
        .map_err(|e| e.to_string())?;
    let key = |i: usize| {
        if keys.is_null(i) {
            parquet_files::NULL_PARTITION
        } else {
            keys.value(i)
        }
    };
    let mut start = 0;
    for i in 1..=batch.num_rows() {
        if i == batch.num_rows() || key(i) != key(start) {
            files.write(&data.slice(start, i - start), Some(key(start)))?;
            start = i;
        }
    }
    Ok(())
}

/// CSV and NDJSON: PostgreSQL's own output, streamed through the file's compression.
async fn write_text(
    req: &ExportRequest,
    client: &Client,
    select: &str,
    file: std::fs::File,
    rows_seen: &(dyn Fn(u64) + Sync),
) -> Result<u64, ExportError> {
    let copy = match req.format {
        ExportFormat::Csv => {
            let select = match req.brazilian {
                true => brazilian_select(client, select).await?,
                false => select.to_string(),
            };
            let encoding = match &req.encoding {
                Some(e) => format!(", ENCODING {}", quote_literal(e)),
                None => String::new(),
            };
            format!(
                "COPY ({select}) TO STDOUT (FORMAT csv, HEADER, DELIMITER {}{encoding})",
                literal(req.delimiter)
            )
        }
        // One JSON object per line: JSON escapes every control character, so with a quote
        // and a delimiter that JSON text never holds raw, CSV prints each object as it is.
        _ => format!(
            "COPY (SELECT row_to_json(q)::text FROM ({select}) AS q) TO STDOUT
             (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        ),
    };
    let stream = client
        .copy_out(&copy)
        .await
        .map_err(query_error("the query"))?;
    let mut sink = TextSink::new(&req.to, file).map_err(|source| OutputError::Io {
        to: req.to.clone(),
        source,
    })?;
    let (tx, rx) = mpsc::sync_channel::<Bytes>(8);
    let header = req.format == ExportFormat::Csv;
    let delimiter = req.delimiter;
    let counted = Arc::new(AtomicU64::new(0));
    let written_rows = counted.clone();
    let writer = std::thread::spawn(move || -> std::io::Result<u64> {
        use std::io::Write;
        // CSV records are counted as CSV (a quoted field may hold a newline).
        let mut counter = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        let mut records = 0u64;
        let ndjson = !header;
        let mut scratch = [0u8; 64 * 1024];
        let mut ends = [0usize; 1024];
        for chunk in rx {
            let mut input: &[u8] = &chunk;
            if ndjson {
                // One object per line, raw newlines escaped inside them.
                records += memchr::memchr_iter(b'\n', input).count() as u64;
                input = &[];
            }
            while !input.is_empty() {
                let (result, read, _, _) = counter.read_record(input, &mut scratch, &mut ends);
                input = &input[read..];
                if result == csv_core::ReadRecordResult::Record {
                    records += 1;
                }
            }
            written_rows.store(records, Ordering::Relaxed);
            sink.write_all(&chunk)?;
        }
        sink.finish()?;
        Ok(records)
    });
    let copy_error = forward(stream, &tx, &|| rows_seen(counted.load(Ordering::Relaxed))).await;
    drop(tx);
    let written = tokio::task::spawn_blocking(move || writer.join().expect("the writer panicked"))
        .await
        .expect("joining the writer");
    if let Some(e) = copy_error {
        return Err(e);
    }
    let records = written.map_err(|source| OutputError::Io {
        to: req.to.clone(),
        source,
    })?;
    let rows = records.saturating_sub(header as u64);
    rows_seen(rows);
    Ok(rows)
}

//! One export: the snapshot, the rows' SELECT, and the file or files it ends in.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio_postgres::Client;

use crate::error::{ExportError, query_error};
use crate::output::Output;
use crate::parquet_export::write_parquet;
use crate::parquet_files;
use crate::request::{ExportFormat, ExportRequest, ExportSource, ExportSummary};
use crate::text::write_text;

/// Statements that change data or schema: an export refuses them before sending them.
const WRITING: [&str; 12] = [
    "insert", "update", "delete", "merge", "create", "drop", "alter", "truncate", "grant",
    "revoke", "copy", "call",
];

fn committing(req: &ExportRequest) {
    req.committing.store(true, Ordering::SeqCst);
}

/// Puts the export's statement timeout (if any) in force on `client` for what follows.
pub(crate) async fn reset_timeout(client: &Client, req: &ExportRequest) -> Result<(), ExportError> {
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
        to: ingest_store::redacted(&req.to),
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
pub(crate) async fn forward(
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

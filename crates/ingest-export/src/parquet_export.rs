//! Parquet: binary COPY decoded into Arrow batches on one thread per reader, encoded into
//! the export's files on another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use bytes::Bytes;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tokio_postgres::Client;

use crate::binary_copy::{BatchDecoder, DecodeError};
use crate::columns::{self, ExportColumn, UnsupportedType};
use crate::error::{ExportError, query_error};
use crate::parquet_files;
use crate::request::{ExportRequest, PartitionBy};
use crate::run::{forward, reset_timeout};

/// The name the partition value travels under, first in each decoded row.
const PARTITION_COLUMN: &str = "__ingest_partition";

/// Parquet: binary COPY decoded into Arrow batches on one thread, encoded into the
/// export's files on another. Returns the rows and the files, whole but not yet in place.
pub(crate) async fn write_parquet(
    req: &ExportRequest,
    client: &Client,
    select: &str,
    table: Option<&str>,
    rows_seen: &(dyn Fn(u64) + Sync),
) -> Result<(u64, parquet_files::Finished), ExportError> {
    let columns = typed_columns(req, client, select).await?;
    let schema = columns::schema(&columns);
    let mut copy = CopyPlan {
        list: select_list(&columns),
        order: String::new(),
        decoded_columns: columns.clone(),
    };
    if let Some(p) = &req.partition_by {
        partition_rows(client, p, &columns, &mut copy).await?;
    }
    let (connections, copies) = reader_copies(req, client, select, table, &copy).await?;
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
    let files = parquet_files::ParquetFiles::new(
        layout(req),
        schema,
        writer_properties(req),
        req.max_file_bytes,
    );
    let pipeline = Pipeline::start(
        streams.len(),
        &copy.decoded_columns,
        files,
        req.partition_by.is_some(),
    );
    let tick = || rows_seen(pipeline.counted.load(Ordering::Relaxed));
    let forwarded = futures_util::future::join_all(
        streams
            .into_iter()
            .zip(&pipeline.chunk_txs)
            .map(|(stream, tx)| forward(stream, tx, &tick)),
    )
    .await;
    let copy_error = forwarded.into_iter().flatten().next();
    let (decoded, encoded) = pipeline.join().await;
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

/// What the binary COPY selects, in what order, and the columns its rows decode into.
struct CopyPlan {
    list: String,
    /// ` ORDER BY …` of a partitioned export, else empty.
    order: String,
    decoded_columns: Vec<ExportColumn>,
}

/// The rows' columns with their export types (unconstrained numerics sized by a pass over
/// the rows).
async fn typed_columns(
    req: &ExportRequest,
    client: &Client,
    select: &str,
) -> Result<Vec<ExportColumn>, ExportError> {
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
    Ok(columns)
}

/// The select list of the COPY: unconstrained numeric goes out as its text, cast by the
/// server.
fn select_list(columns: &[ExportColumn]) -> String {
    columns
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
        .join(", ")
}

/// A partitioned export: the partition value first in each row, the rows ordered by it.
async fn partition_rows(
    client: &Client,
    p: &PartitionBy,
    columns: &[ExportColumn],
    copy: &mut CopyPlan,
) -> Result<(), ExportError> {
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
    copy.list = format!("{key}, {}", copy.list);
    // Rows come grouped by partition, so each partition's files are written in turn.
    // Byte order: a case-insensitive collation would interleave `a` and `A`.
    copy.order = format!(" ORDER BY {key} COLLATE \"C\"");
    copy.decoded_columns.insert(
        0,
        ExportColumn {
            name: PARTITION_COLUMN.into(),
            kind: columns::ColumnKind::Text,
        },
    );
    Ok(())
}

/// The COPY statements that read the rows, and the extra connections they run on. A table
/// may be read by several connections sharing the snapshot, each a range of its blocks;
/// anything else (a query, a partitioned export, which needs its rows ordered) is one
/// COPY on the export's own connection.
async fn reader_copies(
    req: &ExportRequest,
    client: &Client,
    select: &str,
    table: Option<&str>,
    copy: &CopyPlan,
) -> Result<(Vec<Client>, Vec<String>), ExportError> {
    let list = &copy.list;
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
    let Some((t, readers, blocks)) = split else {
        let order = &copy.order;
        return Ok((
            Vec::new(),
            vec![format!(
                "COPY (SELECT {list} FROM ({select}) AS q{order}) TO STDOUT (FORMAT binary)"
            )],
        ));
    };
    let snapshot: String = client
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .map_err(query_error("exporting the snapshot"))?
        .get(0);
    let mut connections = Vec::new();
    let mut copies = Vec::new();
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
    Ok((connections, copies))
}

fn writer_properties(req: &ExportRequest) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        // Row groups are sized by bytes (the library's estimate of their encoded size).
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(Some(req.row_group_bytes.max(1)))
        .build()
}

/// One file, or a directory of parts (and partitions).
fn layout(req: &ExportRequest) -> parquet_files::Layout {
    if req.partition_by.is_some() || req.max_file_bytes.is_some() || req.to.ends_with('/') {
        parquet_files::Layout::Directory {
            prefix: req.to.clone(),
            partition_column: req.partition_by.as_ref().map(|p| p.column.clone()),
        }
    } else {
        parquet_files::Layout::Single(req.to.clone())
    }
}

/// Chunks from each reader -> its decoder thread -> batches -> one writer thread.
struct Pipeline {
    chunk_txs: Vec<mpsc::SyncSender<Bytes>>,
    decoders: Vec<std::thread::JoinHandle<Result<u64, DecodeError>>>,
    encode: std::thread::JoinHandle<Result<parquet_files::Finished, String>>,
    /// Rows decoded so far, for progress.
    counted: Arc<AtomicU64>,
}

impl Pipeline {
    fn start(
        readers: usize,
        decoded_columns: &[ExportColumn],
        mut files: parquet_files::ParquetFiles,
        partitioned: bool,
    ) -> Pipeline {
        let (batch_tx, batch_rx) = mpsc::sync_channel(4);
        let counted = Arc::new(AtomicU64::new(0));
        let mut chunk_txs = Vec::new();
        let mut decoders = Vec::new();
        for _ in 0..readers {
            let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Bytes>(8);
            chunk_txs.push(chunk_tx);
            let mut decoder = BatchDecoder::new(decoded_columns.to_vec(), 64 * 1024);
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
        Pipeline {
            chunk_txs,
            decoders,
            encode,
            counted,
        }
    }

    /// Ends the input and waits for the threads: the rows decoded, and the files written.
    async fn join(
        self,
    ) -> (
        Result<u64, DecodeError>,
        Result<parquet_files::Finished, String>,
    ) {
        let Pipeline {
            chunk_txs,
            decoders,
            encode,
            ..
        } = self;
        drop(chunk_txs);
        tokio::task::spawn_blocking(move || {
            let decoded: Result<u64, DecodeError> = decoders
                .into_iter()
                .map(|d| d.join().expect("a decoder panicked"))
                .sum();
            (decoded, encode.join().expect("the Parquet writer panicked"))
        })
        .await
        .expect("joining the export's threads")
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

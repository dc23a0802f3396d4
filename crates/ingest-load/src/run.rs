//! The load itself: plan, then three stages joined by bounded channels.

use std::thread::JoinHandle;
use std::time::Instant;

use arrow_schema::DataType;
use chrono_tz::Tz;
use ingest_core::{PgType, TableSchema, TextFormat, castable};
use ingest_formats::Format;
use ingest_pg::catalog::{ResolvedTable, resolve_table};
use ingest_pg::{LoadMode, LoadPlanSql, TableWriter};
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::delivery::{Delivery, errors_file_error};
use crate::input::expand_sources;
use crate::key_hash::KeyColumn;
use crate::multi_source::MultiSource;
use crate::open::{Opened, input_error, open_records, open_source};
use crate::plan::positional_header;
use crate::progress::Progress;
use crate::server_read::ServerRead;
use crate::shape::{self, Shaped};
use crate::transform::{EncodedBatch, MappedColumn, Transformer};
use crate::{LoadError, LoadRequest, LoadSummary, plan_columns};
use ingest_formats::{RecordSource, SourceError};
use ingest_store as store;

/// Batches in flight between two stages: enough to keep both cores busy, few enough that
/// memory stays flat whatever the file size.
const CHANNEL_DEPTH: usize = 4;

/// Runs one load to the end. On error the target is untouched; `summary` is filled in as
/// far as the load got either way.
pub async fn run(
    req: &LoadRequest,
    summary: &mut LoadSummary,
    progress: &Progress,
) -> Result<(), LoadError> {
    let started = Instant::now();
    // A URL's password or signature never reaches a message.
    let file_name = store::redacted(&req.file.to_string_lossy());
    summary.file = file_name.clone();
    summary.table = req.table.clone();
    summary.mode = mode_name(req.mode);
    summary.dry_run = req.dry_run;
    // A report that cannot be written is found out before the load, not after its commit.
    if let Some(path) = &req.report
        && let Err(e) = std::fs::File::create(path)
    {
        return Err(LoadError::Report {
            file: path.display().to_string(),
            source: e,
        });
    }
    let result = load(req, summary, progress, &file_name).await;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = if summary.seconds > 0.0 {
        summary.rows_read as f64 / summary.seconds
    } else {
        0.0
    };
    summary.status = if result.is_ok() {
        "succeeded"
    } else {
        "failed"
    };
    if let Err(e) = &result {
        summary.error = Some(e.to_string());
    }
    if let Some(path) = &req.report {
        // Written for a failed load too: that is when it is read most.
        let facts = serde_json::to_value(&*summary)
            .and_then(serde_json::from_value)
            .unwrap_or_default();
        if let Err(e) = std::fs::write(path, ingest_quality::html::render(&facts)) {
            let e = LoadError::Report {
                file: path.display().to_string(),
                source: e,
            };
            return result.and(Err(e));
        }
    }
    result
}

pub(crate) fn mode_name(mode: LoadMode) -> &'static str {
    match mode {
        LoadMode::Insert => "insert",
        LoadMode::Upsert => "upsert",
        LoadMode::Merge => "merge",
        LoadMode::Replace => "replace",
    }
}

async fn load(
    req: &LoadRequest,
    summary: &mut LoadSummary,
    progress: &Progress,
    file_name: &str,
) -> Result<(), LoadError> {
    let handle = tokio::runtime::Handle::current();
    let (first, sources) = match &req.records {
        // A pull source's records: one input, named by `file`.
        Some(input) => {
            let (input, name) = (input.clone(), file_name.to_string());
            let first = tokio::task::spawn_blocking(move || open_records(&input, &name))
                .await
                .expect("opening the records panicked")?;
            let only = ingest_store::SourceFile {
                source: file_name.to_string(),
                name: file_name.to_string(),
                size: 0,
            };
            (first, vec![only])
        }
        None => {
            let mut sources = expand_sources(req, file_name).await?;
            let first = open_first(req, &mut sources, &handle).await?;
            (first, sources)
        }
    };
    let connected;
    let client: &Client = match &req.connection {
        Some(c) if !c.is_closed() => c,
        _ => {
            connected = ingest_pg::connect(&req.database).await?;
            &connected
        }
    };
    progress.set_cancel_token(client.cancel_token());
    let (first, shaped) = shape::prepare(req, client, first, &sources, file_name).await?;
    let in_transaction = shaped == Shaped::InTransaction;
    let loaded = load_into(
        req,
        client,
        first,
        sources,
        in_transaction,
        summary,
        progress,
        file_name,
    )
    .await;
    // A table created or grown for a load that failed (or only checked) goes with it.
    if in_transaction && (loaded.is_err() || req.dry_run) {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    loaded
}

/// The load into the table, once it exists.
#[allow(clippy::too_many_arguments)]
async fn load_into(
    req: &LoadRequest,
    client: &Client,
    first: Opened,
    sources: Vec<ingest_store::SourceFile>,
    in_transaction: bool,
    summary: &mut LoadSummary,
    progress: &Progress,
    file_name: &str,
) -> Result<(), LoadError> {
    let handle = tokio::runtime::Handle::current();
    let table = resolve_table(client, &req.table).await?;
    summary.table = table.schema.display_name();
    summary.format = first.label;
    let first_label = first.label;
    let input_format = first.format;
    let file_size = match sources.len() {
        1 => first.size,
        _ => sources.iter().map(|s| s.size).sum(),
    };
    // Each reader has applied the NULL marker where its format has one.
    let text_format = TextFormat {
        null: None,
        ..req.text.format.clone()
    };
    let Some(mut header) = first.header.clone() else {
        return if req.allow_empty {
            // Nothing to load, but a row_count rule may still have its say.
            let quality = crate::quality::prepare(req, client, &table, &[]).await?;
            let judged = match &quality {
                Some(q) => q.judge(file_name, Some(0)),
                None => Ok(()),
            };
            summary.quality = quality.map(|q| q.report());
            judged
        } else {
            Err(LoadError::Empty {
                file: file_name.into(),
                header_only: false,
            })
        };
    };
    let source: Box<dyn RecordSource> = if sources.len() == 1 {
        first.source
    } else {
        Box::new(MultiSource::new(
            first,
            sources[0].name.clone(),
            sources[1..].to_vec(),
            req.clone(),
            handle,
        ))
    };
    let plan_err = |e| LoadError::Plan {
        file: file_name.to_string(),
        source: e,
    };
    if !req.text.csv.has_header && matches!(input_format, Some(Format::Csv | Format::Tsv)) {
        header = positional_header(header.len(), &table.schema).map_err(plan_err)?;
    }
    let plan =
        plan_columns(&header, &table.schema, &req.maps, req.ignore_unknown).map_err(plan_err)?;
    let mut columns = mapped_columns(&plan.pairs, &table.schema);
    if let Some(types) = source.column_types() {
        check_castable(&columns, &header, &types, first_label).map_err(|reason| {
            LoadError::Format {
                file: file_name.to_string(),
                reason,
            }
        })?;
    }
    let mut sql_plan = sql_plan(req, &table, &columns)?;
    sql_plan.in_transaction = in_transaction;
    let key_name = sql_plan.key.join(",");
    if req.mode.uses_staging() {
        for c in columns.iter_mut() {
            c.key = sql_plan.key.contains(&c.name);
        }
    }
    let mut format = text_format;
    format.timezone = match req.text.timezone {
        Some(tz) => tz,
        None if columns.iter().any(|c| needs_zone(&c.pg_type)) => session_timezone(client).await?,
        None => Tz::UTC,
    };

    let quality = crate::quality::prepare(req, client, &table, &columns).await?;
    // Whole-load rules run on a staging table, as does a dry run that counts what an
    // upsert or merge would change.
    sql_plan.stage = quality.as_ref().is_some_and(|q| q.set.has_set_rules());
    sql_plan.dry_run = req.dry_run;
    let staged = sql_plan.stage || req.mode.uses_staging();
    let (transformer, hash_keys) = transformer_for(req, &columns, format, &sql_plan.key, staged);
    let transformer = transformer.with_quality(quality.clone());
    let writer = match req.dry_run && !staged {
        true => None,
        false => Some(TableWriter::begin(client, sql_plan, &|m| progress.note(m)).await?),
    };
    let delivery = Delivery::new(req, file_name, key_name, writer, hash_keys, quality.clone())?;
    progress.start(file_size);
    let result = run_stages(
        req,
        file_name,
        source,
        transformer,
        delivery,
        summary,
        progress,
    )
    .await;
    summary.quality = quality.map(|q| q.report());
    result
}

/// Stage two's transformer; with the keys hashed (`true`) when the mode stages rows and
/// every key column can be hashed.
fn transformer_for(
    req: &LoadRequest,
    columns: &[MappedColumn],
    format: TextFormat,
    key: &[String],
    staged: bool,
) -> (Transformer, bool) {
    // Staged rows carry their source line, to choose among duplicate keys and to name
    // the rows whole-load rules refuse.
    let with_line = staged;
    let mut cast = ingest_pg::ServerCast::new(req.database.clone());
    if let Some(zone) = req.text.timezone {
        cast = cast.with_timezone(zone.name());
    }
    let server = ServerRead::new(cast, tokio::runtime::Handle::current());
    let transformer = Transformer::new(columns.to_vec(), format, !req.dry_run || staged, with_line)
        .with_server(server);
    // Hashing the keys proves them unique client-side (saving the server a pass over the
    // staged rows) and lets a dry run report duplicates.
    let key_columns: Option<Vec<KeyColumn>> = key
        .iter()
        .map(|k| {
            let i = columns.iter().position(|c| &c.name == k)?;
            KeyColumn::of(i, &columns[i])
        })
        .collect();
    match key_columns {
        Some(key) if req.mode.uses_staging() => (transformer.with_key_hashes(key), true),
        _ => (transformer, false),
    }
}

/// Opens the first file that has columns: an empty file among several (a marker, an
/// empty part) is skipped, and dropped from `sources`.
pub(crate) async fn open_first(
    req: &LoadRequest,
    sources: &mut Vec<ingest_store::SourceFile>,
    handle: &tokio::runtime::Handle,
) -> Result<Opened, LoadError> {
    loop {
        let (req, handle) = (req.clone(), handle.clone());
        let (source, name) = (sources[0].source.clone(), sources[0].name.clone());
        let first = tokio::task::spawn_blocking(move || open_source(&req, &source, &name, &handle))
            .await
            .expect("opening the input panicked")?;
        if first.header.is_some() || sources.len() == 1 {
            return Ok(first);
        }
        sources.remove(0);
    }
}

/// Reads, transforms and delivers every row, then commits (or not) and closes the
/// errors file.
async fn run_stages(
    req: &LoadRequest,
    file_name: &str,
    source: Box<dyn RecordSource>,
    transformer: Transformer,
    mut delivery: Delivery<'_, '_>,
    summary: &mut LoadSummary,
    progress: &Progress,
) -> Result<(), LoadError> {
    let input_err = |e: SourceError| input_error(file_name, e);
    let (mut enc_rx, reader, encoder) = spawn_stages(source, transformer);
    let streamed = delivery.stream(&mut enc_rx, summary, progress).await;
    drop(enc_rx);
    // Joined off the runtime's threads: the reader may be waiting on a store read that
    // needs the runtime to finish (or time out).
    let read_result = tokio::task::spawn_blocking(move || {
        let read = reader.join().expect("reader thread panicked");
        encoder.join().expect("encoder thread panicked");
        read
    })
    .await
    .expect("joining the stages panicked");
    let outcome = match (streamed, read_result) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(input_err(e)),
        (Ok(()), Ok(())) => delivery.finish(summary, progress).await,
    };
    delivery.abandon().await;
    summary.rows_rejected = delivery.rejects.rows;
    summary.warnings = delivery.rejects.warnings;
    summary.rejects_sample = delivery.rejects.sample.clone();
    // After a successful load the file was flushed before the commit; after a failed one,
    // a failure to write it must not hide the error that stopped the load.
    let errors_file = match delivery.rejects.finish() {
        Ok(path) => path,
        Err(e) if outcome.is_ok() => return Err(errors_file_error(req, e)),
        Err(_) => None,
    };
    summary.errors_file = errors_file.map(|p| p.display().to_string());
    progress.finish();
    outcome
}

/// Every typed source column can become its target column's type (a boolean cannot
/// become a date): said before any row is read.
fn check_castable(
    columns: &[MappedColumn],
    header: &[String],
    types: &[DataType],
    format: &str,
) -> Result<(), String> {
    for c in columns {
        let from = &types[c.source];
        if !castable(from, &c.pg_type) {
            return Err(format!(
                "column {:?} is {from} in the {} file and cannot be loaded into {} column {:?}",
                header[c.source], format, c.pg_type, c.name
            ));
        }
    }
    Ok(())
}

/// Target columns fed by the file, in the order rows are sent.
fn mapped_columns(pairs: &[(usize, usize)], table: &TableSchema) -> Vec<MappedColumn> {
    pairs
        .iter()
        .map(|&(source, target)| {
            let c = &table.columns[target];
            MappedColumn {
                source,
                name: c.name.clone(),
                pg_type: c.pg_type.clone(),
                not_null: c.not_null,
                key: false,
                byte_equality: c.byte_equality,
            }
        })
        .collect()
}

/// Stages one and two on their own threads: read and split, then coerce and encode. The
/// channels are bounded, so memory stays flat; dropping the receiver stops both.
fn spawn_stages(
    mut source: Box<dyn RecordSource>,
    transformer: Transformer,
) -> (
    mpsc::Receiver<EncodedBatch>,
    JoinHandle<Result<(), SourceError>>,
    JoinHandle<()>,
) {
    let (text_tx, mut text_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (enc_tx, enc_rx) = mpsc::channel::<EncodedBatch>(CHANNEL_DEPTH);
    let reader = std::thread::spawn(move || -> Result<(), SourceError> {
        while let Some(batch) = source.next_batch()? {
            if text_tx
                .blocking_send((batch, source.current_file()))
                .is_err()
            {
                break; // the load stopped
            }
        }
        Ok(())
    });
    let encoder = std::thread::spawn(move || {
        while let Some((batch, file)) = text_rx.blocking_recv() {
            let mut encoded = transformer.transform(batch);
            if let Some(file) = file {
                for r in encoded
                    .rejects
                    .iter_mut()
                    .chain(encoded.warnings.iter_mut())
                {
                    r.file = Some(file.to_string());
                }
            }
            if enc_tx.blocking_send(encoded).is_err() {
                break;
            }
        }
    });
    (enc_rx, reader, encoder)
}

/// The SQL side of the plan: the key is `--key` or the primary key, and must be loaded.
fn sql_plan(
    req: &LoadRequest,
    table: &ResolvedTable,
    columns: &[MappedColumn],
) -> Result<LoadPlanSql, LoadError> {
    let schema = &table.schema;
    let key: Vec<String> = if req.key.is_empty() {
        schema.primary_key.clone()
    } else {
        req.key
            .iter()
            .map(|k| {
                schema
                    .find_column(k)
                    .map(|i| schema.columns[i].name.clone())
                    .ok_or_else(|| {
                        LoadError::Usage(format!(
                            "--key {k:?}: {} has no such column",
                            schema.display_name()
                        ))
                    })
            })
            .collect::<Result<_, _>>()?
    };
    if req.mode.uses_staging() {
        if key.is_empty() {
            return Err(LoadError::Usage(format!(
                "{} has no primary key: say which columns identify a row with --key",
                schema.display_name()
            )));
        }
        if let Some(k) = key.iter().find(|k| !columns.iter().any(|c| &c.name == *k)) {
            return Err(LoadError::Usage(format!(
                "key column {k:?} is not in the file, so rows cannot be matched"
            )));
        }
        // A key without a unique index could match several rows: updates would multiply
        // and counts would not add up.
        let mut wanted = key.clone();
        wanted.sort();
        let unique = table.unique_keys.iter().any(|u| {
            let mut u = u.clone();
            u.sort();
            u == wanted
        });
        if !unique {
            return Err(LoadError::Usage(format!(
                "--key {} is not unique in {}: upsert and merge need a primary key or a unique index on exactly these columns",
                key.join(","),
                schema.display_name()
            )));
        }
    }
    for (col, _) in &req.scope {
        if schema.column(col).is_none() {
            return Err(LoadError::Usage(format!(
                "--scope {col:?}: {} has no such column",
                schema.display_name()
            )));
        }
    }
    Ok(LoadPlanSql {
        table: table.clone(),
        columns: columns.iter().map(|c| c.name.clone()).collect(),
        key,
        mode: req.mode,
        on_duplicate: req.on_duplicate,
        delete_missing: req.delete_missing,
        scope: req.scope.clone(),
        in_transaction: false,
        stage: false,
        dry_run: false,
    })
}

/// Values of this type depend on the session's zone: naive text into `timestamptz`, and
/// instants from typed sources into `timestamp` or `date`.
fn needs_zone(t: &PgType) -> bool {
    match t {
        PgType::Timestamptz | PgType::Timestamp | PgType::Date => true,
        PgType::Array { element, .. } => needs_zone(element),
        _ => false,
    }
}

/// The session's TimeZone, which `psql \copy` would apply to naive timestamps.
async fn session_timezone(client: &Client) -> Result<Tz, LoadError> {
    let row = client
        .query_typed_one("SELECT current_setting('TimeZone')", &[])
        .await
        .map_err(ingest_pg::PgError::query("reading the session time zone"))?;
    let name: String = row.get(0);
    name.parse::<Tz>().map_err(|_| {
        LoadError::Usage(format!(
            "the database's TimeZone {name:?} is not an IANA zone name; pass --timezone (e.g. America/Sao_Paulo)"
        ))
    })
}

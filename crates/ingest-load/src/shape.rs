//! `--create` and `--evolve`: the table made, or grown, from the file's columns, inside
//! the load's transaction (so a failed load leaves neither a new table nor a new column),
//! and `ingest infer`, which prints the table `--create` would make.
//!
//! Typed sources (Parquet, Avro) declare their types; text sources (CSV, JSON, xlsx) are
//! sampled: the first `--infer-rows` records are read ahead, judged column by column with
//! the load's own coercion, and then handed to the load as if never read ([`Replay`]).

use std::collections::{HashSet, VecDeque};

use arrow_schema::{DataType, Field};
use ingest_core::infer::{TextColumnGuess, pg_type_of_field};
use ingest_core::{PgType, TableSchema, TextFormat, loose_name};
use ingest_formats::{RecordSource, SourceBatch, SourceError};
use ingest_pg::ddl::{self, NewColumn};
use ingest_store::SourceFile;
use tokio::runtime::Handle;
use tokio_postgres::Client;

use crate::open::{Opened, input_error, open_source};
use crate::{LoadError, LoadRequest};

/// What [`prepare`] did to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shaped {
    /// Nothing: the table is used as it is.
    AsIs,
    /// The load's transaction is open, with the table created or grown in it.
    InTransaction,
}

/// Creates the table (with `--create`, when it is missing) or adds the file's new
/// columns (with `--evolve`), in a transaction left open for the load. `first` may be
/// sampled; it comes back ready to read from its first record.
pub(crate) async fn prepare(
    req: &LoadRequest,
    client: &Client,
    first: Opened,
    sources: &[SourceFile],
    file_name: &str,
) -> Result<(Opened, Shaped), LoadError> {
    let shape = req.shape;
    if !shape.create && !shape.evolve {
        return Ok((first, Shaped::AsIs));
    }
    let Some(header) = first.header.clone() else {
        return Ok((first, Shaped::AsIs));
    };
    let existing = ingest_pg::catalog::locate_table(client, &req.table).await?;
    let table = match existing {
        None if shape.create => None,
        Some(_) if shape.evolve => {
            Some(ingest_pg::catalog::resolve_table(client, &req.table).await?)
        }
        _ => return Ok((first, Shaped::AsIs)),
    };
    let names = column_names(req, &header, file_name)?;
    let wanted: Vec<usize> = match &table {
        None => (0..names.len()).collect(),
        Some(t) => new_columns(&names, &t.schema),
    };
    if wanted.is_empty() {
        return Ok((first, Shaped::AsIs));
    }
    let (first, types) = infer_types(req, first, sources, file_name).await?;
    let columns: Vec<NewColumn> = wanted
        .iter()
        .map(|&i| NewColumn {
            name: names[i].clone(),
            pg_type: types[i].clone(),
        })
        .collect();
    if req.mode.uses_staging() {
        ingest_pg::ensure_staging_schema(client).await?;
    }
    client
        .batch_execute("BEGIN")
        .await
        .map_err(ingest_pg::PgError::query("starting the transaction"))?;
    let changed = match &table {
        None => create(req, client, &columns).await,
        Some(t) => {
            let sql = ddl::add_columns_sql(&t.schema.schema, &t.schema.name, &columns);
            client
                .batch_execute(&sql)
                .await
                .map_err(ingest_pg::PgError::query("adding the file's new columns"))
                .map_err(LoadError::from)
        }
    };
    if let Err(e) = changed {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(e);
    }
    Ok((first, Shaped::InTransaction))
}

async fn create(
    req: &LoadRequest,
    client: &Client,
    columns: &[NewColumn],
) -> Result<(), LoadError> {
    let (schema, table) = ddl::new_table_name(client, &req.table).await?;
    key_in_file(&req.key, columns)?;
    ddl::create_table_once(client, &schema, &table, columns, &req.key).await?;
    Ok(())
}

/// The `--key` of a table made from the file names its columns.
fn key_in_file(key: &[String], columns: &[NewColumn]) -> Result<(), LoadError> {
    match key.iter().find(|k| !columns.iter().any(|c| &c.name == *k)) {
        Some(k) => Err(LoadError::Usage(format!(
            "--key {k:?}: the file has no such column to make the primary key of"
        ))),
        None => Ok(()),
    }
}

/// The table's column names, in the file's order: the file's own spelling, or the
/// `--map` target. Empty or repeated names cannot make a table.
fn column_names(
    req: &LoadRequest,
    header: &[String],
    file_name: &str,
) -> Result<Vec<String>, LoadError> {
    if !req.text.csv.has_header {
        return Err(LoadError::Usage(
            "--create and --evolve name columns after the file's header; this file has none (--no-header)".into(),
        ));
    }
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            req.maps
                .iter()
                .find(|(src, _)| loose_name(src) == loose_name(h))
                .map_or_else(|| h.trim().to_string(), |(_, dst)| dst.clone())
        })
        .collect();
    let bad = |reason: String| LoadError::Format {
        file: file_name.to_string(),
        reason,
    };
    if let Some(i) = names.iter().position(|n| n.is_empty()) {
        return Err(bad(format!(
            "column {} has no name: a table needs one for every column (name it in the file, or --map)",
            i + 1
        )));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(loose_name(n))) {
        return Err(bad(format!(
            "the column name {dup:?} appears twice: a table needs distinct names"
        )));
    }
    Ok(names)
}

/// The positions of the file's columns the table lacks.
fn new_columns(names: &[String], table: &TableSchema) -> Vec<usize> {
    (0..names.len())
        .filter(|&i| table.find_column(&names[i]).is_none())
        .collect()
}

/// The type of each of the file's columns: declared by a typed source, judged from a
/// sample of a text one.
pub(crate) async fn infer_types(
    req: &LoadRequest,
    first: Opened,
    sources: &[SourceFile],
    file_name: &str,
) -> Result<(Opened, Vec<PgType>), LoadError> {
    let header = first.header.clone().unwrap_or_default();
    if let Some(types) = first.source.column_types() {
        let types = typed_columns(&header, &types).map_err(|reason| LoadError::Format {
            file: file_name.to_string(),
            reason,
        })?;
        return Ok((first, types));
    }
    let (req, sources, name) = (req.clone(), sources.to_vec(), file_name.to_string());
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || sample_text(&req, first, &sources, &name, &handle))
        .await
        .expect("sampling the input panicked")
}

fn typed_columns(header: &[String], types: &[DataType]) -> Result<Vec<PgType>, String> {
    header
        .iter()
        .zip(types)
        .map(|(name, ty)| {
            pg_type_of_field(&Field::new(name, ty.clone(), true)).map_err(|e| e.to_string())
        })
        .collect()
}

/// Reads the first `--infer-rows` records (kept, to be loaded after), or with `all` the
/// whole input once, judging each column.
fn sample_text(
    req: &LoadRequest,
    mut first: Opened,
    sources: &[SourceFile],
    file_name: &str,
    handle: &Handle,
) -> Result<(Opened, Vec<PgType>), LoadError> {
    let width = first.header.as_ref().map_or(0, Vec::len);
    let mut guesses = vec![TextColumnGuess::default(); width];
    let fmt = &req.text.format;
    let Some(limit) = req.shape.infer_rows else {
        // A full pass: every file opened again afterwards from its start.
        for file in sources {
            if file.source == "-" {
                return Err(LoadError::Usage(
                    "--infer-rows all reads the input twice; standard input can be read once: give a number".into(),
                ));
            }
        }
        observe_all(&mut *first.source, &mut guesses, fmt)
            .map_err(|e| input_error(file_name, e))?;
        for file in sources.iter().skip(1) {
            let mut more = open_source(req, &file.source, &file.name, handle)?;
            observe_all(&mut *more.source, &mut guesses, fmt)
                .map_err(|e| input_error(&file.name, e))?;
        }
        let reopened = open_source(req, &sources[0].source, &sources[0].name, handle)?;
        return Ok((reopened, guesses.iter().map(|g| g.pg_type(true)).collect()));
    };
    let mut kept = VecDeque::new();
    let mut rows = 0u64;
    // The sample is the whole input when the only file ends within it.
    let mut whole = false;
    while rows < limit {
        let Some(batch) = first
            .source
            .next_batch()
            .map_err(|e| input_error(file_name, e))?
        else {
            whole = sources.len() == 1;
            break;
        };
        if let SourceBatch::Text(text) = &batch {
            // A batch may run past the sample: only its first records are judged.
            let take = (limit - rows).min(text.num_rows() as u64) as usize;
            rows += take as u64;
            for (guess, column) in guesses.iter_mut().zip(&text.columns) {
                guess.observe(&column.slice(0, take), fmt);
            }
        }
        kept.push_back(batch);
    }
    first.source = Box::new(Replay {
        kept,
        rest: first.source,
    });
    Ok((first, guesses.iter().map(|g| g.pg_type(whole)).collect()))
}

fn observe(batch: &ingest_formats::TextBatch, guesses: &mut [TextColumnGuess], fmt: &TextFormat) {
    for (guess, column) in guesses.iter_mut().zip(&batch.columns) {
        guess.observe(column, fmt);
    }
}

fn observe_all(
    source: &mut dyn RecordSource,
    guesses: &mut [TextColumnGuess],
    fmt: &TextFormat,
) -> Result<(), SourceError> {
    while let Some(batch) = source.next_batch()? {
        if let SourceBatch::Text(text) = &batch {
            observe(text, guesses, fmt);
        }
    }
    Ok(())
}

/// A source whose first batches were read ahead (to sample them): they come first, then
/// the rest, as if none had been read.
struct Replay {
    kept: VecDeque<SourceBatch>,
    rest: Box<dyn RecordSource>,
}

impl RecordSource for Replay {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        self.rest.header()
    }

    fn column_types(&self) -> Option<Vec<DataType>> {
        self.rest.column_types()
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        match self.kept.pop_front() {
            Some(batch) => Ok(Some(batch)),
            None => self.rest.next_batch(),
        }
    }

    fn current_file(&self) -> Option<std::sync::Arc<str>> {
        self.rest.current_file()
    }
}

/// `CREATE TABLE` for the input `req` names, as `--create` would make it (`ingest
/// infer`). Reads the input, never the database: the table is named as given (or after
/// the file), unqualified unless a schema was given.
pub async fn infer_table(req: &LoadRequest) -> Result<String, LoadError> {
    let file_name = ingest_store::redacted(&req.file.to_string_lossy());
    let mut sources = crate::input::expand_sources(req, &file_name).await?;
    let handle = Handle::current();
    let first = crate::run::open_first(req, &mut sources, &handle).await?;
    let Some(header) = first.header.clone() else {
        return Err(LoadError::Empty {
            file: file_name,
            header_only: false,
        });
    };
    let names = column_names(req, &header, &file_name)?;
    let (_, types) = infer_types(req, first, &sources, &file_name).await?;
    let columns: Vec<NewColumn> = names
        .into_iter()
        .zip(types)
        .map(|(name, pg_type)| NewColumn { name, pg_type })
        .collect();
    key_in_file(&req.key, &columns)?;
    // `schema.table` as typed; anything quoted is printed as one name.
    let (schema, table) = match req.table.split_once('.') {
        Some((schema, table)) if !req.table.contains('"') => (Some(schema), table),
        _ => (None, req.table.as_str()),
    };
    Ok(ddl::create_table_sql(schema, table, &columns, &req.key))
}

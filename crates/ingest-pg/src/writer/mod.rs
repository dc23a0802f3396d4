//! The SQL of a load: one transaction from `BEGIN` to `COMMIT`, so the target changes only
//! when everything went through, and a crash, a kill or an error at any point leaves it as
//! it was (the server rolls back a transaction whose client went away).

use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, CopyInSink};

use crate::PgError;
use crate::catalog::ResolvedTable;
use crate::ident::{column_list, qualified, quote_ident};

mod merge;
mod preview;

pub use preview::DiffSink;

/// Where the staging tables of upserts and merges live.
pub const STAGING_SCHEMA: &str = "ingest_staging";
/// The staging column that keeps each row's source line.
pub const LINE_COLUMN: &str = "__ingest_line";
/// High half of the advisory lock key that serialises loads into one table.
const LOCK_NAMESPACE: i64 = 0x696e_6765; // "inge"

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Append rows.
    Insert,
    /// Insert new keys, update changed rows, leave identical rows untouched.
    Upsert,
    /// Upsert, then (with `delete_missing`) delete target rows absent from the file.
    Merge,
    /// Swap the table's contents for the file's.
    Replace,
}

impl LoadMode {
    pub fn uses_staging(self) -> bool {
        matches!(self, LoadMode::Upsert | LoadMode::Merge)
    }
}

/// Which of several rows with the same key in one file is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicatePolicy {
    First,
    Last,
    /// Every row of a duplicated key is rejected.
    Reject,
}

/// What the writer needs to know about a load.
#[derive(Debug, Clone)]
pub struct LoadPlanSql {
    pub table: ResolvedTable,
    /// Target columns written, in the order the encoder sends them.
    pub columns: Vec<String>,
    /// Key columns for upsert and merge.
    pub key: Vec<String>,
    pub mode: LoadMode,
    pub on_duplicate: DuplicatePolicy,
    pub delete_missing: bool,
    /// `column = value` conditions that bound `delete_missing`.
    pub scope: Vec<(String, String)>,
    /// The caller already opened the load's transaction (to create or grow the table in
    /// it), and made sure of the staging schema before it did.
    pub in_transaction: bool,
    /// COPY into a staging table whatever the mode (whole-load quality rules run there
    /// before the rows reach the target); upsert and merge always stage.
    pub stage: bool,
    /// Stage and count what the load would do, then roll back: the target is not touched
    /// (nor locked against other loads).
    pub dry_run: bool,
}

impl LoadPlanSql {
    fn stages(&self) -> bool {
        self.stage || self.dry_run || self.mode.uses_staging()
    }
}

/// Row counts of a finished write. `deleted` is `None` for `replace`, which empties the
/// table without counting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub copied: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: Option<u64>,
    /// Rows dropped as duplicate keys under `first`/`last`.
    pub duplicates_dropped: u64,
}

/// A key found on several lines of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    pub lines: Vec<i64>,
}

/// A load in progress on one connection.
pub struct TableWriter<'c> {
    client: &'c Client,
    plan: LoadPlanSql,
    staging: Option<String>,
    sink: Option<Pin<Box<CopyInSink<Bytes>>>>,
    copied: u64,
    /// Staged rows the caller removed before `apply` (rows refused by whole-load rules).
    removed: u64,
}

impl<'c> TableWriter<'c> {
    /// Opens the transaction and the COPY. For `insert` and `replace` the COPY goes into
    /// the target (after `TRUNCATE` for replace, with `FREEZE`); for `upsert` and `merge`
    /// into a new UNLOGGED staging table private to this load.
    /// `on_wait` is told, once, when another load holds the table and this one waits.
    pub async fn begin(
        client: &'c Client,
        plan: LoadPlanSql,
        on_wait: &(dyn Fn(&str) + Sync),
    ) -> Result<Self, PgError> {
        if plan.stages() {
            // Inside the caller's transaction (a table created or grown for the load) it
            // is created there, and goes if the load does.
            ensure_staging_schema(client).await?;
        }
        if !plan.in_transaction {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(PgError::query("starting the transaction"))?;
        }
        let target = qualified(&plan.table.schema.schema, &plan.table.schema.name);
        let cols = column_list(plan.columns.iter().map(String::as_str), "");
        let mut writer = TableWriter {
            client,
            plan,
            staging: None,
            sink: None,
            copied: 0,
            removed: 0,
        };
        // Every mode takes the table's load lock first, before touching the table at all:
        // taken later (after the staging table's CREATE … AS, which locks the target), an
        // upsert and a replace could each hold what the other waits for. A dry run writes
        // nothing to the target, so it need not wait for (or hold up) the loads that do.
        if !writer.plan.dry_run {
            writer.lock_target(on_wait).await?;
        }
        let table = &writer.plan.table;
        let mode = match writer.plan.stages() {
            true => LoadMode::Upsert,
            false => writer.plan.mode,
        };
        let copy_sql = match mode {
            LoadMode::Insert => format!("COPY {target} ({cols}) FROM STDIN (FORMAT binary)"),
            LoadMode::Replace => {
                writer.empty_target().await?;
                // FREEZE writes the rows already frozen; it does not apply to partitioned
                // tables, nor after a DELETE.
                let freeze = if table.partitioned || table.referenced {
                    ""
                } else {
                    ", FREEZE"
                };
                format!("COPY {target} ({cols}) FROM STDIN (FORMAT binary{freeze})")
            }
            LoadMode::Upsert | LoadMode::Merge => {
                let staging = writer.create_staging(&target, &cols).await?;
                let copy = format!(
                    "COPY {staging} ({cols}, {}) FROM STDIN (FORMAT binary, FREEZE)",
                    quote_ident(LINE_COLUMN)
                );
                writer.staging = Some(staging);
                copy
            }
        };
        let sink = client
            .copy_in(&copy_sql)
            .await
            .map_err(PgError::query("starting COPY"))?;
        writer.sink = Some(Box::pin(sink));
        writer.send(crate::CopyEncoder::header()).await?;
        Ok(writer)
    }

    /// The load's connection, inside its transaction.
    pub fn client(&self) -> &'c Client {
        self.client
    }

    /// Sends encoded rows.
    pub async fn send(&mut self, chunk: Bytes) -> Result<(), PgError> {
        let sink = self.sink.as_mut().expect("COPY is open");
        sink.send(chunk).await.map_err(PgError::query("COPY"))
    }

    /// Ends the COPY; returns the number of rows PostgreSQL took.
    pub async fn end_copy(&mut self) -> Result<u64, PgError> {
        self.send(crate::CopyEncoder::trailer()).await?;
        let mut sink = self.sink.take().expect("COPY is open");
        self.copied = sink
            .as_mut()
            .finish()
            .await
            .map_err(PgError::query("COPY"))?;
        Ok(self.copied)
    }

    /// Keys that occur on more than one line of the staged rows (upsert and merge only).
    pub async fn duplicate_keys(&self, limit: i64) -> Result<Vec<DuplicateKey>, PgError> {
        let Some(staging) = &self.staging else {
            return Ok(Vec::new());
        };
        let keys = column_list(self.plan.key.iter().map(String::as_str), "");
        let key_text = self
            .plan
            .key
            .iter()
            .map(|k| format!("coalesce({}::text, 'NULL')", quote_ident(k)))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = format!(
            "SELECT {key_text}, array_agg({line} ORDER BY {line}) FROM {staging}
              GROUP BY {keys} HAVING count(*) > 1 ORDER BY min({line}) LIMIT $1",
            line = quote_ident(LINE_COLUMN)
        );
        let rows = self
            .client
            .query(&sql, &[&limit])
            .await
            .map_err(PgError::query("looking for duplicate keys"))?;
        Ok(rows
            .iter()
            .map(|r| DuplicateKey {
                key: r.get(0),
                lines: r.get(1),
            })
            .collect())
    }

    /// Applies the staged rows to the target (upsert, merge) and returns the counts; for
    /// insert and replace, only the counts. Nothing is committed yet. `keys_unique` is the
    /// caller's proof that no key occurs twice in the file, which saves a pass over the
    /// staged rows; `false` means "not known".
    pub async fn apply(
        &mut self,
        keys_unique: bool,
        diff: Option<&mut DiffSink<'_>>,
    ) -> Result<WriteStats, PgError> {
        let Some(staging) = self.staging.clone() else {
            let deleted = (self.plan.mode == LoadMode::Insert).then_some(0);
            return Ok(WriteStats {
                copied: self.copied,
                inserted: self.copied,
                deleted,
                ..Default::default()
            });
        };
        // The joins below hash the staged rows; with the default 4 MB they spill to disk in
        // batches, which also scatters the rows' order and the target's index accesses.
        // No ANALYZE: a never-analysed table is estimated from its actual size, which is
        // what the planner needs here.
        self.exec(
            "SET LOCAL work_mem = '256MB'",
            "raising work_mem for the merge",
        )
        .await?;
        let by_key = self.plan.mode.uses_staging();
        let duplicates_dropped = if keys_unique || !by_key {
            0
        } else {
            self.drop_duplicates(&staging).await?
        };
        if let Some(diff) = diff {
            self.write_diff(&staging, diff).await?;
        }
        if self.plan.dry_run {
            return self.preview(&staging, duplicates_dropped).await;
        }
        let (inserted, updated) = match self.plan.mode {
            LoadMode::Upsert | LoadMode::Merge => self.upsert_from(&staging).await?,
            LoadMode::Insert => (self.insert_from(&staging).await?, 0),
            LoadMode::Replace => {
                self.empty_target().await?;
                (self.insert_from(&staging).await?, 0)
            }
        };
        let deleted = match self.plan.mode {
            LoadMode::Merge if self.plan.delete_missing => {
                Some(self.delete_missing(&staging).await?)
            }
            LoadMode::Replace => None,
            _ => Some(0),
        };
        self.exec(
            &format!("DROP TABLE {staging}"),
            "dropping the staging table",
        )
        .await?;
        let kept = self.copied - self.removed - duplicates_dropped;
        Ok(WriteStats {
            copied: self.copied,
            inserted,
            updated,
            // A key matches one target row (it has a unique index), so this cannot go
            // below zero; saturate all the same rather than print 2^64. Insert and
            // replace leave no row unchanged.
            unchanged: match by_key {
                true => kept.saturating_sub(inserted + updated),
                false => 0,
            },
            deleted,
            // Under `reject` the dropped rows are counted as rejects instead.
            duplicates_dropped: match self.plan.on_duplicate {
                DuplicatePolicy::Reject => 0,
                _ => duplicates_dropped,
            },
        })
    }

    /// The staging table (quoted), when the rows went to one.
    pub fn staging_table(&self) -> Option<&str> {
        self.staging.as_deref()
    }

    /// The target columns the load writes (the staging table's, besides the line).
    pub fn columns(&self) -> &[String] {
        &self.plan.columns
    }

    /// Says that `rows` staged rows were deleted before `apply` (by whole-load rules).
    pub fn removed_from_staging(&mut self, rows: u64) {
        self.removed += rows;
    }

    /// Makes the load visible.
    pub async fn commit(self) -> Result<(), PgError> {
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(PgError::query("committing"))
    }

    /// Leaves the target as it was.
    pub async fn rollback(mut self) -> Result<(), PgError> {
        // Dropping an open COPY sink makes the client send CopyFail, which aborts it.
        self.sink.take();
        self.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(PgError::query("rolling back"))
    }

    /// Empties the target for `replace`.
    async fn empty_target(&self) -> Result<(), PgError> {
        let table = &self.plan.table;
        let target = qualified(&table.schema.schema, &table.schema.name);
        // TRUNCATE refuses a table another table's foreign key points at, even when
        // nothing refers to its rows; DELETE checks the references row by row.
        let sql = match table.referenced {
            true => format!("DELETE FROM {target}"),
            false => format!("TRUNCATE {target}"),
        };
        self.exec(&sql, "emptying the table for replace").await?;
        Ok(())
    }

    async fn exec(&self, sql: &str, what: &str) -> Result<u64, PgError> {
        self.client
            .execute(sql, &[])
            .await
            .map_err(PgError::query(what))
    }

    /// Serialises loads into the same table until this transaction ends.
    async fn lock_target(&self, on_wait: &(dyn Fn(&str) + Sync)) -> Result<(), PgError> {
        let key = (LOCK_NAMESPACE << 32) | self.plan.table.oid as i64;
        let free: bool = self
            .client
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&key])
            .await
            .map_err(PgError::query("taking the table's load lock"))?
            .get(0);
        if free {
            return Ok(());
        }
        // Say who holds it: a load that seems stuck is then easy to find (and end).
        let holder = self
            .client
            .query_opt(
                "SELECT a.pid, coalesce(a.application_name, ''),
                        extract(epoch from now() - a.xact_start)::int8
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE l.locktype = 'advisory' AND l.granted
                    AND ((l.classid::int8 << 32) | l.objid::int8) = $1",
                &[&key],
            )
            .await
            .map_err(PgError::query("finding the load that holds the table"))?;
        let table = self.plan.table.schema.display_name();
        on_wait(&match holder {
            Some(h) => {
                let (pid, app, secs): (i32, String, Option<i64>) = (h.get(0), h.get(1), h.get(2));
                format!(
                    "waiting for another load into {table} to finish (backend pid {pid}, application {app:?}, running for {} s)",
                    secs.unwrap_or(0)
                )
            }
            None => format!("waiting for another load into {table} to finish"),
        });
        self.client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&key])
            .await
            .map_err(PgError::query("waiting for other loads into the table"))?;
        Ok(())
    }

    async fn create_staging(&self, target: &str, cols: &str) -> Result<String, PgError> {
        let pid: i32 = self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(PgError::query("reading the backend pid"))?
            .get(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let staging = qualified(STAGING_SCHEMA, &format!("load_{pid}_{nanos}"));
        // Created inside the load's transaction: a load that dies leaves no table behind.
        self.exec(
            &format!(
                "CREATE UNLOGGED TABLE {staging} AS SELECT {cols}, NULL::int8 AS {} FROM {target} WITH NO DATA",
                quote_ident(LINE_COLUMN)
            ),
            "creating the staging table",
        )
        .await?;
        Ok(staging)
    }
}

/// Creates the schema of staging tables if it is missing: outside the load's transaction,
/// since two first loads at once both try it and one fails.
pub async fn ensure_staging_schema(client: &Client) -> Result<(), PgError> {
    // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
    // database even when the schema exists, which a loading role may lack.
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&STAGING_SCHEMA],
        )
        .await
        .map_err(PgError::query("looking for the staging schema"))?
        .get(0);
    if exists {
        return Ok(());
    }
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        quote_ident(STAGING_SCHEMA)
    );
    match client.batch_execute(&sql).await {
        Ok(()) => Ok(()),
        // Two first loads at once: the other one created it.
        Err(e) if matches!(e.code(), Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_SCHEMA) => {
            Ok(())
        }
        Err(e) => Err(PgError::query("creating the staging schema")(e)),
    }
}

//! What a load would do, from its staging table, without touching the target: the counts
//! of a dry run, and the diff (each key that changes, with its columns' old and new values).

use futures_util::{StreamExt, pin_mut};

use super::{LINE_COLUMN, LoadMode, TableWriter, WriteStats};
use crate::PgError;
use crate::ident::{qualified, quote_ident};

/// Where the diff goes: one JSON object per changed key, as text.
pub type DiffSink<'a> = dyn FnMut(&str) -> std::io::Result<()> + Send + 'a;

impl TableWriter<'_> {
    /// The counts a real run would report, read from the staged rows and the target.
    pub(super) async fn preview(
        &self,
        staging: &str,
        duplicates_dropped: u64,
    ) -> Result<WriteStats, PgError> {
        let plan = &self.plan;
        let target = qualified(&plan.table.schema.schema, &plan.table.schema.name);
        let staged: i64 = self
            .client
            .query_one(&format!("SELECT count(*) FROM {staging}"), &[])
            .await
            .map_err(PgError::query("counting the staged rows"))?
            .get(0);
        let mut stats = WriteStats {
            copied: self.copied,
            inserted: staged as u64,
            deleted: (plan.mode == LoadMode::Insert).then_some(0),
            duplicates_dropped: match plan.on_duplicate {
                super::DuplicatePolicy::Reject => 0,
                _ => duplicates_dropped,
            },
            ..Default::default()
        };
        if !plan.mode.uses_staging() {
            return Ok(stats);
        }
        let sql = format!(
            "SELECT count(*) FILTER (WHERE t.ctid IS NULL),
                    count(*) FILTER (WHERE t.ctid IS NOT NULL AND {changed}),
                    count(*) FILTER (WHERE t.ctid IS NOT NULL AND NOT ({changed}))
               FROM {staging} s LEFT JOIN {target} t ON {join}",
            changed = self.changed("t", "s"),
            join = self.key_join("t", "s"),
        );
        let row = self
            .client
            .query_one(&sql, &[])
            .await
            .map_err(PgError::query(format!("comparing the file with {target}")))?;
        let (ins, upd, same): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        (stats.inserted, stats.updated, stats.unchanged) = (ins as u64, upd as u64, same as u64);
        stats.deleted = Some(0);
        if plan.mode == LoadMode::Merge && plan.delete_missing {
            let (conditions, params) = self.missing_conditions(staging);
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|p| *p as _).collect();
            let n: i64 = self
                .client
                .query_one(
                    &format!("SELECT count(*) FROM {target} t WHERE {conditions}"),
                    &params,
                )
                .await
                .map_err(PgError::query("counting the rows a merge would delete"))?
                .get(0);
            stats.deleted = Some(n as u64);
        }
        Ok(stats)
    }

    /// Writes one line per key the load inserts, updates or (merge with `delete_missing`)
    /// deletes, in the order of the file: `{"change", "line", "key", "columns"}` for an
    /// update (each changed column's `old` and `new`), `"row"` for an insert or a delete.
    pub(super) async fn write_diff(
        &self,
        staging: &str,
        sink: &mut DiffSink<'_>,
    ) -> Result<(), PgError> {
        let plan = &self.plan;
        if !plan.mode.uses_staging() {
            return Ok(());
        }
        let target = qualified(&plan.table.schema.schema, &plan.table.schema.name);
        let line = quote_ident(LINE_COLUMN);
        let key = |alias: &str| {
            let pairs: Vec<String> = plan
                .key
                .iter()
                .map(|k| format!("'{}', {alias}.{}", k.replace('\'', "''"), quote_ident(k)))
                .collect();
            format!("jsonb_build_object({})", pairs.join(", "))
        };
        let columns: Vec<String> = self
            .updated_columns()
            .iter()
            .map(|c| {
                format!(
                    "('{}', to_jsonb(t.{q}), to_jsonb(s.{q}), {} IS DISTINCT FROM {})",
                    c.replace('\'', "''"),
                    self.comparable(c, "t"),
                    self.comparable(c, "s"),
                    q = quote_ident(c)
                )
            })
            .collect();
        let changes = match columns.is_empty() {
            true => "'{}'::jsonb".to_string(),
            false => format!(
                "(SELECT coalesce(jsonb_object_agg(c.name, jsonb_build_object('old', c.old, 'new', c.new)), '{{}}')
                    FROM (VALUES {}) c(name, old, new, changed) WHERE c.changed)",
                columns.join(", ")
            ),
        };
        let new_row = format!("to_jsonb(s) - '{LINE_COLUMN}'");
        let sql = format!(
            "SELECT (CASE WHEN t.ctid IS NULL
                     THEN jsonb_build_object('change', 'insert', 'line', s.{line}, 'key', {skey}, 'row', {new_row})
                     ELSE jsonb_build_object('change', 'update', 'line', s.{line}, 'key', {skey}, 'columns', {changes})
                     END)::text
               FROM {staging} s LEFT JOIN {target} t ON {join}
              WHERE t.ctid IS NULL OR {changed}
              ORDER BY s.ctid",
            skey = key("s"),
            join = self.key_join("t", "s"),
            changed = self.changed("t", "s"),
        );
        self.stream_lines(&sql, &[], sink, "listing the changes")
            .await?;
        if plan.mode == LoadMode::Merge && plan.delete_missing {
            let (conditions, params) = self.missing_conditions(staging);
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|p| *p as _).collect();
            let sql = format!(
                "SELECT jsonb_build_object('change', 'delete', 'key', {tkey}, 'row', to_jsonb(t))::text
                   FROM {target} t WHERE {conditions}",
                tkey = key("t"),
            );
            self.stream_lines(&sql, &params, sink, "listing the rows a merge deletes")
                .await?;
        }
        Ok(())
    }

    /// Runs a query of one text column and hands each row to `sink`, without holding
    /// them all.
    async fn stream_lines(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        sink: &mut DiffSink<'_>,
        what: &str,
    ) -> Result<(), PgError> {
        let rows = self
            .client
            .query_raw(sql, params.iter().copied())
            .await
            .map_err(PgError::query(what))?;
        pin_mut!(rows);
        while let Some(row) = rows.next().await {
            let row = row.map_err(PgError::query(what))?;
            let text: String = row.get(0);
            sink(&text).map_err(|e| PgError::Diff(e.to_string()))?;
        }
        Ok(())
    }
}

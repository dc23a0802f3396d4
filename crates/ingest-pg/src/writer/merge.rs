//! Applying the staged rows of an upsert or merge to the target: dropping duplicate keys,
//! inserting and updating with MERGE (or `INSERT … ON CONFLICT` when another session
//! raced it), and deleting the target rows missing from the file.

use ingest_core::PgType;
use tokio_postgres::error::SqlState;

use super::{DuplicatePolicy, TableWriter};
use crate::PgError;
use crate::ident::{column_list, qualified, quote_ident};

impl TableWriter<'_> {
    /// Keeps one row per key (the first or last in the input). Under `Reject` the caller has
    /// already turned duplicates into rejects; their rows are removed here all the same.
    pub(super) async fn drop_duplicates(&self, staging: &str) -> Result<u64, PgError> {
        if !self.has_duplicates(staging).await? {
            return Ok(0);
        }
        // Key columns hold no NULL here (the rows were refused), so a window partition
        // is exactly "the same key"; a self-join on the key would be quadratic.
        let keys = column_list(self.plan.key.iter().map(String::as_str), "");
        // Rows are in the staging table in the order they were read (one COPY into a
        // table created in this transaction fills its pages in order), so ctid is the
        // order in the input. Source lines are not: they restart in each file of a glob,
        // and every record of a one-line JSON array is on line 1.
        let loser = match self.plan.on_duplicate {
            DuplicatePolicy::Last => {
                format!("row_number() OVER (PARTITION BY {keys} ORDER BY ctid DESC) > 1")
            }
            DuplicatePolicy::First => {
                format!("row_number() OVER (PARTITION BY {keys} ORDER BY ctid) > 1")
            }
            DuplicatePolicy::Reject => format!("count(*) OVER (PARTITION BY {keys}) > 1"),
        };
        self.exec(
            &format!(
                "DELETE FROM {staging} WHERE ctid IN
                   (SELECT ctid FROM (SELECT ctid, {loser} AS loser FROM {staging}) x WHERE loser)"
            ),
            "dropping duplicate keys",
        )
        .await
    }

    async fn has_duplicates(&self, staging: &str) -> Result<bool, PgError> {
        let keys = column_list(self.plan.key.iter().map(String::as_str), "");
        let row = self
            .client
            .query_opt(
                &format!("SELECT 1 FROM {staging} GROUP BY {keys} HAVING count(*) > 1 LIMIT 1"),
                &[],
            )
            .await
            .map_err(PgError::query("looking for duplicate keys"))?;
        Ok(row.is_some())
    }

    /// Inserts new keys and updates changed rows with one MERGE; identical rows match no
    /// action, so they are neither rewritten nor locked. If another session inserts one of
    /// the new keys meanwhile, the MERGE is rolled back to a savepoint and redone as
    /// `INSERT … ON CONFLICT`, which waits for that row and updates it. MERGE beat `INSERT … ON CONFLICT`
    /// with a changed-rows filter by 1.8x on 300k rows (its hash join replaces 300k index
    /// probes, and nothing is materialised for RETURNING). Returns (inserted, updated),
    /// read from the transaction's own row counters since PostgreSQL 15's MERGE reports
    /// only a total.
    pub(super) async fn upsert_from(&self, staging: &str) -> Result<(u64, u64), PgError> {
        let plan = &self.plan;
        let target = qualified(&plan.table.schema.schema, &plan.table.schema.name);
        let cols = column_list(plan.columns.iter().map(String::as_str), "");
        let scols = column_list(plan.columns.iter().map(String::as_str), "s.");
        let join = self.key_join("t", "s");
        let others = self.updated_columns();
        let overriding = self.overriding();
        let keys = column_list(plan.key.iter().map(String::as_str), "");
        let changed = |new: &str| self.changed("t", new);
        let set = |new: &str| {
            others
                .iter()
                .map(|c| format!("{c} = {new}.{c}", c = quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let when_matched = if others.is_empty() {
            String::new()
        } else {
            format!(
                "WHEN MATCHED AND {} THEN UPDATE SET {}",
                changed("s"),
                set("s")
            )
        };
        let merge = format!(
            "MERGE INTO {target} AS t USING {staging} AS s ON {join}
             {when_matched}
             WHEN NOT MATCHED THEN INSERT ({cols}) {overriding} VALUES ({scols})"
        );
        self.exec("SAVEPOINT ingest_merge", "setting a savepoint")
            .await?;
        let before = self.row_counters().await?;
        match self.client.execute(&merge, &[]).await {
            Ok(_) => {
                let after = self.row_counters().await?;
                self.exec("RELEASE SAVEPOINT ingest_merge", "releasing the savepoint")
                    .await?;
                return Ok((after.0 - before.0, after.1 - before.1));
            }
            // Another session inserted one of the new keys while the MERGE ran (MERGE in
            // PostgreSQL 15 does not arbitrate that): redo it with ON CONFLICT, which does.
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                self.exec(
                    "ROLLBACK TO SAVEPOINT ingest_merge",
                    "rolling back the MERGE",
                )
                .await?;
            }
            Err(e) => return Err(PgError::query(format!("merging into {target}"))(e)),
        }
        let on_conflict = if others.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!(
                "DO UPDATE SET {} WHERE {}",
                set("EXCLUDED"),
                changed("EXCLUDED")
            )
        };
        let upsert = format!(
            "WITH written AS (
                INSERT INTO {target} AS t ({cols}) {overriding} SELECT {scols} FROM {staging} s
                ON CONFLICT ({keys}) {on_conflict}
                RETURNING (t.xmax = 0) AS inserted
             )
             SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
        );
        let row = self
            .client
            .query_one(&upsert, &[])
            .await
            .map_err(PgError::query(format!("merging into {target}")))?;
        let (inserted, updated): (i64, i64) = (row.get(0), row.get(1));
        Ok((inserted as u64, updated as u64))
    }

    /// The staged rows appended to the target (insert and replace with whole-load rules).
    pub(super) async fn insert_from(&self, staging: &str) -> Result<u64, PgError> {
        let plan = &self.plan;
        let target = qualified(&plan.table.schema.schema, &plan.table.schema.name);
        let cols = column_list(plan.columns.iter().map(String::as_str), "");
        self.exec(
            &format!(
                "INSERT INTO {target} ({cols}) {} SELECT {cols} FROM {staging} ORDER BY ctid",
                self.overriding()
            ),
            &format!("inserting into {target}"),
        )
        .await
    }

    /// `t.k = s.k AND ...` over the key.
    pub(super) fn key_join(&self, t: &str, s: &str) -> String {
        self.plan
            .key
            .iter()
            .map(|k| format!("{t}.{k} = {s}.{k}", k = quote_ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The columns an update may set: loaded, not in the key, not always-identity (those
    /// cannot be updated; they can only be inserted with OVERRIDING SYSTEM VALUE).
    pub(super) fn updated_columns(&self) -> Vec<&String> {
        let plan = &self.plan;
        plan.columns
            .iter()
            .filter(|c| !plan.key.contains(c) && !self.identity_always(c))
            .collect()
    }

    fn identity_always(&self, name: &str) -> bool {
        self.plan
            .table
            .schema
            .column(name)
            .is_some_and(|c| c.identity_always)
    }

    /// COPY (insert and replace) sets an always-identity column freely; INSERT needs this.
    fn overriding(&self) -> &'static str {
        if self.plan.columns.iter().any(|c| self.identity_always(c)) {
            "OVERRIDING SYSTEM VALUE"
        } else {
            ""
        }
    }

    /// Whether the row under alias `old` differs from the one under `new` in any column an
    /// update would set.
    pub(super) fn changed(&self, old: &str, new: &str) -> String {
        let others = self.updated_columns();
        let side = |alias: &str| {
            others
                .iter()
                .map(|c| self.comparable(c, alias))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if others.is_empty() {
            return "false".into();
        }
        format!("ROW({}) IS DISTINCT FROM ROW({})", side(old), side(new))
    }

    /// Rows inserted and updated in the target (and its partitions, if it has any: a plain
    /// table has no partition tree) by this transaction.
    async fn row_counters(&self) -> Result<(u64, u64), PgError> {
        let row = self
            .client
            .query_one(
                "SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(relid)), 0)::int8,
                        coalesce(sum(pg_stat_get_xact_tuples_updated(relid)), 0)::int8
                   FROM (SELECT $1::oid::regclass AS relid
                         UNION SELECT relid FROM pg_partition_tree($1::oid::regclass)) r",
                &[&self.plan.table.oid],
            )
            .await
            .map_err(PgError::query("reading the row counters"))?;
        let (ins, upd): (i64, i64) = (row.get(0), row.get(1));
        Ok((ins as u64, upd as u64))
    }

    /// A column as it can be compared: `json` has no equality operator, so it is compared
    /// as text.
    pub(super) fn comparable(&self, column: &str, alias: &str) -> String {
        let is_json = self
            .plan
            .table
            .schema
            .column(column)
            .is_some_and(|c| has_no_equality(&c.pg_type));
        let c = format!("{alias}.{}", quote_ident(column));
        if is_json { format!("{c}::text") } else { c }
    }

    pub(super) async fn delete_missing(&self, staging: &str) -> Result<u64, PgError> {
        let plan = &self.plan;
        let target = qualified(&plan.table.schema.schema, &plan.table.schema.name);
        let (conditions, params) = self.missing_conditions(staging);
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            params.iter().map(|p| *p as _).collect();
        let sql = format!("DELETE FROM {target} t WHERE {conditions}");
        self.client
            .execute(&sql, &params)
            .await
            .map_err(PgError::query(format!(
                "deleting rows missing from the file in {target}"
            )))
    }

    /// The target rows (alias `t`) a merge with `delete_missing` deletes, as a condition
    /// and its parameters (the scope's values).
    pub(super) fn missing_conditions(&self, staging: &str) -> (String, Vec<&String>) {
        let plan = &self.plan;
        let join = self.key_join("s", "t");
        let mut conditions = vec![format!(
            "NOT EXISTS (SELECT 1 FROM {staging} s WHERE {join})"
        )];
        let mut params = Vec::new();
        for (i, (col, value)) in plan.scope.iter().enumerate() {
            conditions.push(format!("t.{}::text = ${}", quote_ident(col), i + 1));
            params.push(value);
        }
        (conditions.join(" AND "), params)
    }
}

/// `json`, and arrays of it, have no `=`: they are compared as text.
fn has_no_equality(t: &PgType) -> bool {
    match t {
        PgType::Json => true,
        PgType::Array { element, .. } => has_no_equality(element),
        _ => false,
    }
}

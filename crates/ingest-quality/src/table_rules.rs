//! A table's registered rule set, kept in the service schema's `table_rules`, versioned:
//! every load into the table applies the latest version. A set is checked against the
//! database before it is stored: the columns it names, the `exists_in` tables, each `sql`
//! expression and `after_load` statement (planned with EXPLAIN, not run).

use ingest_core::TableSchema;
use ingest_pg::PgError;
use ingest_pg::ident::qualified;
use ingest_queue::Schema;
use tokio_postgres::Client;

use crate::spec::{Check, RuleSet};
use crate::{QualityError, set_rules};

/// A stored version of a table's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRules {
    pub version: i64,
    pub rules: RuleSet,
    pub created_at: String,
    pub created_by: Option<String>,
}

/// `schema.table` as stored.
pub fn key(table: &TableSchema) -> String {
    format!("{}.{}", table.schema, table.name)
}

/// The latest rules of `table`, if it has any (`None` also when the service schema was
/// never migrated: a plain CLI user without the service has no registered rules).
pub async fn latest(
    client: &Client,
    schema: &Schema,
    table: &TableSchema,
) -> Result<Option<StoredRules>, QualityError> {
    // From the catalog, not to_regclass: that fails outright for a role without USAGE
    // on the schema.
    let found = client
        .query_opt(
            "SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
               FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
              WHERE n.nspname = $1 AND c.relname = 'table_rules'",
            &[&schema.name()],
        )
        .await
        .map_err(PgError::query("looking for registered rules"))?;
    match found.map(|r| r.get::<_, bool>(0)) {
        None => return Ok(None),
        Some(true) => {}
        // Loading without them would skip the table's rules unseen.
        Some(false) => {
            return Err(QualityError::Unreadable(format!(
                "permission denied to read the quality rules registered for tables ({q}.table_rules), which every load applies; grant it: GRANT USAGE ON SCHEMA {q} TO ...; GRANT SELECT ON {q}.table_rules TO ... (or set INGEST_SCHEMA to the service's schema)",
                q = schema.quoted()
            )));
        }
    }
    let row = client
        .query_opt(
            &format!(
                "SELECT version::int8, rules::text, created_at::text, created_by
                   FROM {}.table_rules WHERE table_name = $1 ORDER BY version DESC LIMIT 1",
                schema.quoted()
            ),
            &[&key(table)],
        )
        .await
        .map_err(PgError::query("reading the table's rules"))?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.get(1);
    let rules = RuleSet::parse(&text, &format!("the rules registered for {}", key(table)))?;
    Ok(Some(StoredRules {
        version: row.get(0),
        rules,
        created_at: row.get(2),
        created_by: row.get(3),
    }))
}

/// Checks `set` against `table` and stores it as the table's next version.
pub async fn store(
    client: &Client,
    schema: &Schema,
    table: &TableSchema,
    set: &RuleSet,
    created_by: Option<&str>,
) -> Result<i64, QualityError> {
    let set = check_against(client, table, set).await?;
    let json = serde_json::to_string(&set).expect("a rule set is JSON");
    let row = client
        .query_one(
            &format!(
                "INSERT INTO {q}.table_rules (table_name, version, rules, created_by)
                 SELECT $1, coalesce(max(version), 0) + 1, $2::text::jsonb, $3
                   FROM {q}.table_rules WHERE table_name = $1
                 RETURNING version::int8",
                q = schema.quoted()
            ),
            &[&key(table), &json, &created_by],
        )
        .await
        .map_err(PgError::query("storing the table's rules"))?;
    Ok(row.get(0))
}

/// `set` with its column names spelled as `table` spells them, once everything it names
/// has been found and every statement planned.
pub async fn check_against(
    client: &Client,
    table: &TableSchema,
    set: &RuleSet,
) -> Result<RuleSet, QualityError> {
    let set = set.resolved(table)?;
    for rule in &set.rules {
        let invalid = |message: String| QualityError::Invalid {
            rule: rule.id.clone(),
            message,
        };
        match rule.check {
            Check::ExistsIn => {
                set_rules::reference_table(client, rule).await?;
            }
            Check::Sql => {
                let expr = rule.expr.as_deref().unwrap_or_default();
                plan_expr(client, table, None, expr)
                    .await
                    .map_err(|why| invalid(format!("expr {expr:?}: {why}")))?;
            }
            Check::Outlier => {
                let c = rule.column.as_deref().unwrap_or_default();
                let is_number = table
                    .column(c)
                    .is_some_and(|c| crate::row_checks::is_number(&c.pg_type));
                if !is_number {
                    return Err(invalid(format!(
                        "outlier needs a numeric column; {c:?} is not"
                    )));
                }
            }
            _ => {}
        }
    }
    for statement in &set.after_load {
        client
            .batch_execute(&format!("EXPLAIN {statement}"))
            .await
            .map_err(|e| QualityError::Invalid {
                rule: "after_load".into(),
                message: format!("{statement:?}: {}", db_message(&e)),
            })?;
    }
    Ok(set)
}

/// Plans an `sql` rule's expression (EXPLAIN, nothing runs) over `table`'s rows, or over
/// only the `columns` a load fills (its staging table's) when given; the database's
/// complaint if it cannot.
pub async fn plan_expr(
    client: &Client,
    table: &TableSchema,
    columns: Option<&[String]>,
    expr: &str,
) -> Result<(), String> {
    let target = qualified(&table.schema, &table.name);
    let from = match columns {
        None => target,
        Some(cols) => format!(
            "(SELECT {} FROM {target})",
            ingest_pg::ident::column_list(cols.iter().map(String::as_str), "")
        ),
    };
    let sql = format!("EXPLAIN SELECT 1 FROM {from} s WHERE NOT coalesce(({expr}), false)");
    client.batch_execute(&sql).await.map_err(|e| db_message(&e))
}

/// The server's message alone (without the driver's "db error:" prefix).
fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

impl RuleSet {
    /// This set with each column named as `table` names it (`Placa` -> `placa`); a column
    /// the table lacks is an error naming the rule.
    pub fn resolved(&self, table: &TableSchema) -> Result<RuleSet, QualityError> {
        self.check_columns(table)?;
        let exact = |c: &str| {
            table
                .find_column(c)
                .map(|i| table.columns[i].name.clone())
                .unwrap_or_else(|| c.to_string())
        };
        let mut set = self.clone();
        for step in &mut set.clean {
            step.column = step.column.as_deref().map(exact);
            if let Some(cs) = step.columns.as_mut() {
                cs.iter_mut().for_each(|c| *c = exact(c));
            }
        }
        for rule in &mut set.rules {
            rule.column = rule.column.as_deref().map(exact);
            if let Some(cs) = rule.columns.as_mut() {
                cs.iter_mut().for_each(|c| *c = exact(c));
            }
        }
        Ok(set)
    }
}

//! Rules on the whole load, in SQL on the load's staging table inside its transaction:
//! `unique`, `exists_in`, `outlier` and `sql`, in the order the set gives them, each on the
//! rows still there. A failing row of a `reject` rule is deleted from the staging table
//! (and reported by its source line); `warn` and `fail` rows stay. `row_count` judges the
//! rows that would be written, after every other rule.

use ingest_pg::PgError;
use ingest_pg::ident::{column_list, qualified, quote_ident};
use tokio_postgres::Client;

use crate::QualityError;
use crate::report::{FailureSample, RuleTally};
use crate::spec::{Check, Keep, OutlierMethod, Rule, RuleSet, Severity};

/// One failing row of a whole-load rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SetFailure {
    /// Index of the rule in its set.
    pub rule: usize,
    pub line: u64,
    pub value: String,
    pub reason: String,
    pub severity: Severity,
}

/// The staging table a load's rows wait in, and the column holding each row's line.
pub struct Staged<'a> {
    pub client: &'a Client,
    /// Quoted and qualified.
    pub table: &'a str,
    pub line_column: &'a str,
    /// Table columns in the staging table.
    pub columns: &'a [String],
}

/// Runs the whole-load rules of `set` (all but `row_count`); returns every failing row.
/// `tally` gets each rule's counts.
pub async fn run(
    staged: &Staged<'_>,
    set: &RuleSet,
    tally: &mut RuleTally,
) -> Result<Vec<SetFailure>, QualityError> {
    let mut failures = Vec::new();
    let mut rows = count(staged).await?;
    for (i, rule) in set.rules.iter().enumerate() {
        if rule.check.is_row_check() || rule.check == Check::RowCount {
            continue;
        }
        if rule
            .target_columns()
            .iter()
            .any(|c| !staged.columns.iter().any(|s| s == c))
        {
            continue; // skipped: the tally says why
        }
        let select = failing_rows(staged, rule).await?;
        let sql = match rule.severity {
            // Removed as they are found: later rules see only the rows still in.
            Severity::Reject => format!(
                "WITH bad AS ({select}) DELETE FROM {t} s USING bad WHERE s.ctid = bad.row_id
                 RETURNING bad.line, bad.value, bad.detail",
                t = staged.table
            ),
            _ => format!("SELECT line, value, detail FROM ({select}) bad ORDER BY line"),
        };
        let found = staged
            .client
            .query(&sql, &[])
            .await
            .map_err(PgError::query(format!("checking rule {}", rule.id)))?;
        let mut these: Vec<SetFailure> = found
            .iter()
            .map(|r| {
                let line: Option<i64> = r.get(0);
                let value: Option<String> = r.get(1);
                let detail: Option<String> = r.get(2);
                SetFailure {
                    rule: i,
                    line: line.unwrap_or(0) as u64,
                    value: value.unwrap_or_default(),
                    reason: rule
                        .message
                        .clone()
                        .unwrap_or_else(|| reason(rule, detail.as_deref().unwrap_or(""))),
                    severity: rule.severity,
                }
            })
            .collect();
        these.sort_by_key(|f| f.line);
        tally.add(
            i,
            rows,
            these.iter().map(|f| FailureSample {
                line: f.line,
                value: f.value.clone(),
            }),
        );
        if rule.severity == Severity::Reject {
            rows -= these.len() as u64;
        }
        failures.extend(these);
    }
    Ok(failures)
}

/// `row_count` rules against the rows that would be written.
pub fn check_row_count(set: &RuleSet, rows: u64, tally: &mut RuleTally) {
    for (i, rule) in set.rules.iter().enumerate() {
        if rule.check != Check::RowCount {
            continue;
        }
        let bound =
            |b: &Option<crate::Bound>| b.as_ref().and_then(|b| b.as_f64()).map(|n| n as u64);
        let (min, max) = (bound(&rule.min), bound(&rule.max));
        let fails = min.is_some_and(|m| rows < m) || max.is_some_and(|m| rows > m);
        let sample = fails.then(|| FailureSample {
            line: 0,
            value: format!(
                "{rows} rows to write; expected {}",
                match (min, max) {
                    (Some(a), Some(b)) => format!("{a} to {b}"),
                    (Some(a), None) => format!("at least {a}"),
                    (None, Some(b)) => format!("at most {b}"),
                    (None, None) => String::new(),
                }
            ),
        });
        tally.add(i, 1, sample);
    }
}

async fn count(staged: &Staged<'_>) -> Result<u64, QualityError> {
    let n: i64 = staged
        .client
        .query_one(&format!("SELECT count(*) FROM {}", staged.table), &[])
        .await
        .map_err(PgError::query("counting the staged rows"))?
        .get(0);
    Ok(n as u64)
}

/// A query of the failing rows: `row_id` (ctid), `line`, `value` (text) and `detail`
/// (what the reason needs: the kept line, the bounds).
async fn failing_rows(staged: &Staged<'_>, rule: &Rule) -> Result<String, QualityError> {
    let t = staged.table;
    let line = format!("s.{}", staged.line_column);
    let col = |c: &str| format!("s.{}", quote_ident(c));
    Ok(match rule.check {
        Check::Unique => {
            let cols = rule.target_columns();
            let part = column_list(cols.iter().copied(), "s.");
            let value = cols
                .iter()
                .map(|c| format!("{}::text", col(c)))
                .collect::<Vec<_>>()
                .join(" || ', ' || ");
            let not_null = cols
                .iter()
                .map(|c| format!("{} IS NOT NULL", col(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let (order, loser) = match rule.keep.unwrap_or(Keep::Last) {
                Keep::Last => ("s.ctid DESC", "rn > 1"),
                Keep::First => ("s.ctid", "rn > 1"),
                Keep::None => ("s.ctid", "n > 1"),
            };
            format!(
                "SELECT row_id, line, value, detail FROM (
                   SELECT s.ctid AS row_id, {line} AS line, {value} AS value,
                          row_number() OVER w AS rn, count(*) OVER (PARTITION BY {part}) AS n,
                          (first_value({line}) OVER w)::text AS detail
                     FROM {t} s WHERE {not_null}
                   WINDOW w AS (PARTITION BY {part} ORDER BY {order})) x
                 WHERE {loser}"
            )
        }
        Check::ExistsIn => {
            let column = rule.column.as_deref().unwrap_or_default();
            let reference = reference_table(staged.client, rule).await?;
            let key = quote_ident(rule.key.as_deref().unwrap_or(column));
            format!(
                "SELECT s.ctid AS row_id, {line} AS line, {c}::text AS value, NULL::text AS detail
                   FROM {t} s
                  WHERE {c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {reference} r WHERE r.{key} = {c})",
                c = col(column)
            )
        }
        Check::Outlier => {
            let c = col(rule.column.as_deref().unwrap_or_default());
            // NaN sorts above every number and makes a mean NaN: the statistics and the
            // judgement are over finite values (a NaN or infinity is no outlier of them).
            let finite = format!("{c}::float8 NOT IN ('NaN', 'Infinity', '-Infinity')");
            let (method, k) = match rule.method.unwrap_or(OutlierMethod::Iqr) {
                OutlierMethod::Iqr => (OutlierMethod::Iqr, rule.k.unwrap_or(1.5)),
                OutlierMethod::Zscore => (OutlierMethod::Zscore, rule.k.unwrap_or(3.0)),
            };
            let bounds = match method {
                OutlierMethod::Iqr => format!(
                    "SELECT q1 - {k} * (q3 - q1) AS lo, q3 + {k} * (q3 - q1) AS hi FROM (
                       SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY {c}::float8) AS q1,
                              percentile_cont(0.75) WITHIN GROUP (ORDER BY {c}::float8) AS q3
                         FROM {t} s WHERE {finite}) q"
                ),
                OutlierMethod::Zscore => format!(
                    "SELECT m - {k} * sd AS lo, m + {k} * sd AS hi FROM (
                       SELECT avg({c}::float8) AS m, stddev_samp({c}::float8) AS sd
                         FROM {t} s WHERE {finite}) q"
                ),
            };
            format!(
                "SELECT s.ctid AS row_id, {line} AS line, {c}::text AS value,
                        format('[%s, %s]', round(b.lo::numeric, 2), round(b.hi::numeric, 2)) AS detail
                   FROM {t} s, ({bounds}) b
                  WHERE {finite} AND ({c}::float8 < b.lo OR {c}::float8 > b.hi)"
            )
        }
        Check::Sql => {
            let expr = rule.expr.as_deref().unwrap_or("true");
            format!(
                "SELECT s.ctid AS row_id, {line} AS line,
                        (to_jsonb(s) - {lc})::text AS value, NULL::text AS detail
                   FROM {t} s WHERE NOT coalesce(({expr}), false)",
                lc = quote_literal(staged.line_column.trim_matches('"'))
            )
        }
        other => unreachable!("{} is not a whole-load rule", other.name()),
    })
}

/// The reason a row failed, in words.
fn reason(rule: &Rule, detail: &str) -> String {
    let cols = rule.target_columns().join(", ");
    match rule.check {
        Check::Unique => match rule.keep.unwrap_or(Keep::Last) {
            Keep::None => {
                format!("{cols} repeats in the load (keep: none: every copy is left out)")
            }
            Keep::Last => {
                format!("{cols} repeats in the load; the last, on line {detail}, is kept")
            }
            Keep::First => {
                format!("{cols} repeats in the load; the first, on line {detail}, is kept")
            }
        },
        Check::ExistsIn => format!(
            "{cols} is not in {}.{}",
            rule.table.as_deref().unwrap_or_default(),
            rule.key.as_deref().unwrap_or(&cols)
        ),
        Check::Outlier => format!(
            "{cols} is an outlier: outside {detail} ({}, k = {})",
            match rule.method.unwrap_or(OutlierMethod::Iqr) {
                OutlierMethod::Iqr => "IQR",
                OutlierMethod::Zscore => "z-score",
            },
            rule.k.unwrap_or(match rule.method {
                Some(OutlierMethod::Zscore) => 3.0,
                _ => 1.5,
            })
        ),
        Check::Sql => format!("not true: {}", rule.expr.as_deref().unwrap_or_default()),
        _ => rule.check.name().to_string(),
    }
}

/// The reference table of an `exists_in` rule, quoted as the catalog names it.
pub async fn reference_table(client: &Client, rule: &Rule) -> Result<String, QualityError> {
    let (schema, table) = reference_name(client, rule).await?;
    Ok(qualified(&schema, &table))
}

/// The reference table of an `exists_in` rule: its schema and name, as the catalog has
/// them (for a caller's permission check).
pub async fn reference_name(
    client: &Client,
    rule: &Rule,
) -> Result<(String, String), QualityError> {
    let name = rule.table.as_deref().unwrap_or_default();
    let invalid = |message: String| QualityError::Invalid {
        rule: rule.id.clone(),
        message,
    };
    let row = client
        .query_opt(
            "SELECT n.nspname::text, c.relname::text,
                    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                              AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = to_regclass($1)",
            &[
                &name,
                &rule
                    .key
                    .as_deref()
                    .or(rule.column.as_deref())
                    .unwrap_or_default(),
            ],
        )
        .await
        .map_err(|e| match e.code() {
            Some(_) => invalid(format!("{name:?} is not a table name")),
            None => QualityError::Database(PgError::query("finding the reference table")(e)),
        })?;
    let Some(row) = row else {
        return Err(invalid(format!("reference table {name:?} does not exist")));
    };
    let (schema, table, has_key): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
    if !has_key {
        return Err(invalid(format!(
            "reference table {name:?} has no column {:?}",
            rule.key
                .as_deref()
                .or(rule.column.as_deref())
                .unwrap_or_default()
        )));
    }
    Ok((schema, table))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

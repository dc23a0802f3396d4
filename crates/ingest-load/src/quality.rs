//! The quality side of a load: the rule set in force (the table's registered rules, then
//! the load's own), compiled for the load's columns, and what the load learns as it goes
//! (each rule's failures, each column's profile).

use std::sync::{Arc, Mutex};

use ingest_pg::catalog::ResolvedTable;
use ingest_quality::table_rules;
use ingest_quality::{Check, Cleaner, ColumnProfile, QualityReport, RowChecks, RuleSet, RuleTally};
use tokio_postgres::Client;

use crate::transform::MappedColumn;
use crate::{LoadError, LoadRequest};

/// A load's rules, ready to run.
pub(crate) struct QualityPlan {
    /// Resolved against the table: its columns spelled as the table spells them.
    pub set: RuleSet,
    /// The version of the table's registered rules, when it has some.
    pub version: Option<i64>,
    pub cleaner: Cleaner,
    pub checks: RowChecks,
    /// Written by the transform stage, read at the end.
    pub state: Mutex<QualityState>,
}

pub(crate) struct QualityState {
    pub tally: RuleTally,
    pub profiles: Vec<ColumnProfile>,
}

/// The rules in force for this load, or `None` when there are none and no report was
/// asked for (the load then does no quality work at all).
pub(crate) async fn prepare(
    req: &LoadRequest,
    client: &Client,
    table: &ResolvedTable,
    columns: &[MappedColumn],
) -> Result<Option<Arc<QualityPlan>>, LoadError> {
    let stored = table_rules::latest(client, &req.service_schema, &table.schema).await?;
    if let Some(own) = &req.rules
        && !req.rules_may_run_sql
    {
        refuse_sql(own)?;
    }
    let registered = stored.as_ref().map(|s| s.rules.clone()).unwrap_or_default();
    let set = match &req.rules {
        Some(own) => registered.merged(own)?,
        None => registered,
    };
    if set.is_empty() && req.report.is_none() {
        return Ok(None);
    }
    let set = set.resolved(&table.schema)?;
    check_sql_rules(client, table, columns, &set).await?;
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let typed: Vec<(String, ingest_core::PgType)> = columns
        .iter()
        .map(|c| (c.name.clone(), c.pg_type.clone()))
        .collect();
    let checks = RowChecks::new(&set, &typed)?;
    let state = QualityState {
        tally: RuleTally::new(&set, &names),
        profiles: columns
            .iter()
            .map(|c| ColumnProfile::new(&c.name, &c.pg_type))
            .collect(),
    };
    Ok(Some(Arc::new(QualityPlan {
        cleaner: Cleaner::new(&set, &names),
        checks,
        version: stored.map(|s| s.version),
        set,
        state: Mutex::new(state),
    })))
}

/// Each `sql` rule's expression, planned against the columns this load fills (the rows
/// it judges are in a staging table of those columns only): a column the file lacks is
/// an error now, naming the rule, not after the whole file was read.
async fn check_sql_rules(
    client: &Client,
    table: &ResolvedTable,
    columns: &[MappedColumn],
    set: &RuleSet,
) -> Result<(), LoadError> {
    let loaded: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    for rule in set.rules.iter().filter(|r| r.check == Check::Sql) {
        let expr = rule.expr.as_deref().unwrap_or_default();
        if let Err(why) = table_rules::plan_expr(client, &table.schema, Some(&loaded), expr).await {
            return Err(LoadError::Rules(ingest_quality::QualityError::Invalid {
                rule: rule.id.clone(),
                message: format!(
                    "expr {expr:?}: {why} (the rule sees the columns this load fills: {})",
                    loaded.join(", ")
                ),
            }));
        }
    }
    Ok(())
}

/// A load's own rules from the API carry no SQL unless its token may send some.
fn refuse_sql(set: &RuleSet) -> Result<(), LoadError> {
    if !set.after_load.is_empty() {
        return Err(LoadError::Usage(
            "the load's rules have after_load statements, which need a token created with --allow-sql (or the statements registered with the table by one)".into(),
        ));
    }
    if let Some(r) = set.rules.iter().find(|r| r.check == Check::Sql) {
        return Err(LoadError::Usage(format!(
            "rule {}: sql checks in a load's own rules need a token created with --allow-sql (or the rule registered with the table by one)",
            r.id
        )));
    }
    Ok(())
}

impl QualityPlan {
    /// `row_count` rules, once `written` (the rows the load writes) is known, then any
    /// `fail` rule that failed stops the load.
    pub(crate) fn judge(&self, file: &str, written: Option<u64>) -> Result<(), LoadError> {
        let mut state = self.state.lock().expect("quality state");
        if let Some(written) = written {
            ingest_quality::set_rules::check_row_count(&self.set, written, &mut state.tally);
        }
        let Some(o) = state.tally.failed_fatally() else {
            return Ok(());
        };
        Err(LoadError::RuleFailed {
            file: file.into(),
            rule: o.id.clone(),
            detail: match o.sample.first() {
                Some(s) if o.is(Check::RowCount) => s.value.clone(),
                Some(s) => format!(
                    "{} row{}, the first on line {} (value {:?})",
                    o.failed,
                    if o.failed == 1 { "" } else { "s" },
                    s.line,
                    s.value
                ),
                None => format!("{} rows", o.failed),
            },
        })
    }

    /// The report as far as the load got.
    pub(crate) fn report(&self) -> QualityReport {
        let state = self.state.lock().expect("quality state");
        QualityReport {
            rules_version: self.version,
            rules: state.tally.outcomes.clone(),
            columns: state.profiles.iter().map(ColumnProfile::stats).collect(),
        }
    }
}

//! Data quality at load time: what a value must be beyond fitting its column.
//!
//! A [`RuleSet`] (YAML or JSON, [`RuleSet::parse`]; its JSON Schema from [`json_schema`])
//! holds cleaning steps, rules and `after_load` statements. A load applies it in three
//! places:
//!
//! 1. [`Cleaner`]: each column's text, before it is typed (trim, case, accents, maps);
//! 2. [`RowChecks`]: rules on one row (`range`, `in`, `regex`, `cpf`, `plate_br`...) on each
//!    batch as it streams, on the typed Arrow arrays;
//! 3. [`set_rules`]: rules on the whole load (`unique`, `exists_in`, `outlier`, `sql`) in
//!    SQL on the load's staging table, inside its transaction, and `row_count`.
//!
//! [`ColumnProfile`] profiles each column as it streams; [`RuleTally`] counts each rule's
//! failures; together they make the [`QualityReport`] that `--json` prints, jobs store and
//! [`html::render`] draws. [`table_rules`] keeps a table's registered rule set, versioned.
//!
//! It depends on `ingest-core` (types) and `ingest-pg` (SQL helpers), never on a load,
//! a reader or the service.

pub mod br;
mod clean;
pub mod html;
mod profile;
mod report;
mod row_checks;
pub mod set_rules;
mod spec;
pub mod table_rules;
mod validate;

pub use clean::{CleanReject, Cleaner};
pub use profile::ColumnProfile;
pub use report::{
    ColumnStats, FailureSample, Histogram, QualityReport, Quantiles, RuleOutcome, RuleTally,
};
pub use row_checks::{RowChecks, RowFailures, reason};
pub use spec::{
    Bound, Check, CleanOp, CleanStep, Keep, OutlierMethod, Rule, RuleSet, Severity, Unmapped,
};

/// Why a rule set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// Not YAML/JSON of the rule set's shape (an unknown key included).
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// A rule (or clean step, or after_load statement) that cannot run as written.
    #[error("rule {rule}: {message}")]
    Invalid { rule: String, message: String },
    /// The registered rules exist but this role may not read them.
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Database(#[from] ingest_pg::PgError),
}

/// The rule set's JSON Schema (draft 2020-12), as `ingest rules schema` prints it.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RuleSet)).expect("a schema is JSON")
}

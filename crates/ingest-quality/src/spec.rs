//! A rule set as users write it (YAML or JSON, one shape): cleaning steps, rules and
//! `after_load` statements. Unknown keys are refused so that a typo is an error, not a
//! rule silently skipped; what each check needs is verified by [`RuleSet::check`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Everything a table's loads apply: cleaning first, then the rules, then `after_load`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Applied first, in order, to the text of each value, before it is typed and checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clean: Vec<CleanStep>,
    /// Checked on every row (or on the whole load), after cleaning and typing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// SQL statements run in the load's own transaction after the write (aggregates kept
    /// in step): a failed load changes neither the table nor what they write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_load: Vec<String>,
}

/// One cleaning step: `ops` applied in order, or a value `map`, on one or more columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanStep {
    /// The table column cleaned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Several table columns cleaned alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<CleanOp>,
    /// Whole values replaced (`{A: ativo, I: inativo}`); `null` maps to NULL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<BTreeMap<String, Option<String>>>,
    /// What a value the map lacks becomes: kept as it is (default) or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<Unmapped>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    Keep,
    Reject,
}

/// A cleaning operation on a value's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CleanOp {
    /// Blanks removed at both ends (any Unicode white space, the no-break space included).
    Trim,
    /// Runs of white space inside the value become one space.
    CollapseSpaces,
    /// Unicode NFC: an accent typed as a combining mark becomes the precomposed letter.
    Nfc,
    Upper,
    Lower,
    /// Accents removed (`João` -> `Joao`).
    StripAccents,
    /// Every character that is not a digit removed (`123.456.789-09` -> `12345678909`).
    DigitsOnly,
    /// An empty value (after the steps before) becomes NULL.
    EmptyToNull,
    /// Every one of these characters removed (`{remove: "- "}`).
    Remove(String),
    /// Every occurrence of `from` replaced by `to`.
    Replace {
        from: String,
        to: String,
    },
    /// These values become NULL (`{null_if: ["-", "N/A"]}`).
    NullIf(Vec<String>),
}

/// One rule: a check on one or more columns, with what a failure does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Names the rule in rejects, reports and errors; unique within the set.
    pub id: String,
    pub check: Check,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// For `unique`: the columns that together must not repeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(default)]
    pub severity: Severity,
    /// `range` (inclusive; a number, or a date/time as text), `length`, `row_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Bound>,
    /// `in`: the accepted values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Bound>>,
    /// `regex`: the pattern a value must match (Rust regex syntax; anchor it with ^ and $).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `sql`: a boolean SQL expression over the row's columns; a row fails unless it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// `exists_in`: the reference table, and its column (default: the same name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `unique`: which row of a repeated value is kept (default `last`); `none` rejects all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<Keep>,
    /// `outlier`: `iqr` (default; outside [Q1 - k·IQR, Q3 + k·IQR], k = 1.5) or `zscore`
    /// (more than k standard deviations from the mean, k = 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<OutlierMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<f64>,
    /// Said instead of the generated reason when the rule fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a check verifies. Row checks run on each batch as it streams; the others need
/// the whole load and run in SQL on the load's staging table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    NotNull,
    Range,
    In,
    Regex,
    Length,
    Cpf,
    Cnpj,
    PlateBr,
    Cep,
    Email,
    Unique,
    ExistsIn,
    Outlier,
    RowCount,
    Sql,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::NotNull => "not_null",
            Check::Range => "range",
            Check::In => "in",
            Check::Regex => "regex",
            Check::Length => "length",
            Check::Cpf => "cpf",
            Check::Cnpj => "cnpj",
            Check::PlateBr => "plate_br",
            Check::Cep => "cep",
            Check::Email => "email",
            Check::Unique => "unique",
            Check::ExistsIn => "exists_in",
            Check::Outlier => "outlier",
            Check::RowCount => "row_count",
            Check::Sql => "sql",
        }
    }

    /// Checked on each row as it streams (no staging table needed).
    pub fn is_row_check(self) -> bool {
        !matches!(
            self,
            Check::Unique | Check::ExistsIn | Check::Outlier | Check::RowCount | Check::Sql
        )
    }
}

/// What a failing row does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row goes to the rejects (counted against `--max-errors`).
    #[default]
    Reject,
    /// The row is loaded; the failure is reported.
    Warn,
    /// The load fails, naming the rule; the table is untouched.
    Fail,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    First,
    Last,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutlierMethod {
    Iqr,
    Zscore,
}

/// A bound or a listed value: a number, or text (a date, a code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Bound {
    /// As written: `2027` stays an integer when the set is stored and shown.
    Number(serde_json::Number),
    Text(String),
    Bool(bool),
}

impl Bound {
    /// The bound as a number, when it is one (or text that reads as one).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Bound::Number(n) => n.as_f64(),
            Bound::Text(t) => t.trim().parse().ok(),
            Bound::Bool(_) => None,
        }
    }

    /// The bound's text: numbers as written (`2027`, not `2027.0`).
    pub fn text(&self) -> String {
        match self {
            Bound::Number(n) => n.to_string(),
            Bound::Text(t) => t.clone(),
            Bound::Bool(b) => b.to_string(),
        }
    }
}

impl Rule {
    /// The columns the rule reads: `column`, or `columns`.
    pub fn target_columns(&self) -> Vec<&str> {
        match (&self.column, &self.columns) {
            (Some(c), _) => vec![c.as_str()],
            (None, Some(cs)) => cs.iter().map(String::as_str).collect(),
            (None, None) => Vec::new(),
        }
    }
}

impl CleanStep {
    pub fn target_columns(&self) -> Vec<&str> {
        match (&self.column, &self.columns) {
            (Some(c), _) => vec![c.as_str()],
            (None, Some(cs)) => cs.iter().map(String::as_str).collect(),
            (None, None) => Vec::new(),
        }
    }
}

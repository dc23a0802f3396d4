//! The quality report: per rule, what was checked and what failed (with a sample of the
//! failures); per column, its profile. `--json` prints it, jobs store it, and the HTML
//! page ([`crate::html`]) draws it.

use serde::{Deserialize, Serialize};

use crate::spec::{Check, RuleSet, Severity};

/// Failures kept per rule for the report (every one of them is in the errors file).
pub const SAMPLE: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// The version of the table's registered rules the load ran with, if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_version: Option<i64>,
    pub rules: Vec<RuleOutcome>,
    pub columns: Vec<ColumnStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub id: String,
    pub check: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    pub severity: String,
    /// Rows the rule looked at.
    pub checked: u64,
    /// Rows that failed it.
    pub failed: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<FailureSample>,
    /// Why the rule did not run (its column is not in this load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureSample {
    pub line: u64,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    pub name: String,
    #[serde(rename = "type")]
    pub pg_type: String,
    /// Rows profiled: those that passed the row checks.
    pub rows: u64,
    pub nulls: u64,
    /// Distinct non-null values, estimated (within about 2%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// From a uniform sample of up to 10,000 values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Quantiles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

impl Quantiles {
    pub(crate) fn of_sorted(v: &[f64]) -> Option<Quantiles> {
        if v.is_empty() {
            return None;
        }
        let at = |q: f64| {
            // Linear interpolation between closest ranks, as percentile_cont does.
            let pos = q * (v.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        };
        Some(Quantiles {
            p05: at(0.05),
            p25: at(0.25),
            p50: at(0.5),
            p75: at(0.75),
            p95: at(0.95),
        })
    }
}

/// Counts of the sampled values in equal-width bins from `min` to `max`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub counts: Vec<u64>,
}

const BINS: usize = 20;

impl Histogram {
    pub(crate) fn of_sorted(v: &[f64]) -> Option<Histogram> {
        let (&min, &max) = (v.first()?, v.last()?);
        if !min.is_finite() || !max.is_finite() {
            return None;
        }
        let mut counts = vec![0u64; BINS];
        let width = (max - min) / BINS as f64;
        for &x in v {
            let bin = if width > 0.0 {
                ((x - min) / width) as usize
            } else {
                0
            };
            counts[bin.min(BINS - 1)] += 1;
        }
        Some(Histogram { min, max, counts })
    }
}

/// Rule outcomes as a load accumulates them.
#[derive(Debug, Clone, Default)]
pub struct RuleTally {
    pub outcomes: Vec<RuleOutcome>,
}

impl RuleTally {
    /// One outcome per rule of `set`, in its order; `loaded` says which columns the load
    /// fills (a rule on another column is skipped).
    pub fn new(set: &RuleSet, loaded: &[String]) -> RuleTally {
        let outcomes = set
            .rules
            .iter()
            .map(|r| {
                let columns: Vec<String> =
                    r.target_columns().iter().map(|c| c.to_string()).collect();
                let missing = columns.iter().find(|c| !loaded.contains(c));
                RuleOutcome {
                    id: r.id.clone(),
                    check: r.check.name().into(),
                    columns: columns.clone(),
                    severity: r.severity.name().into(),
                    checked: 0,
                    failed: 0,
                    sample: Vec::new(),
                    skipped: missing.map(|c| format!("column {c:?} is not in this load")),
                }
            })
            .collect();
        RuleTally { outcomes }
    }

    /// Counts `failed` rows out of `checked` for rule `rule`, sampling the first failures.
    pub fn add(
        &mut self,
        rule: usize,
        checked: u64,
        failures: impl IntoIterator<Item = FailureSample>,
    ) {
        let o = &mut self.outcomes[rule];
        o.checked += checked;
        for f in failures {
            o.failed += 1;
            if o.sample.len() < SAMPLE {
                o.sample.push(f);
            }
        }
    }

    /// The first `fail` rule that failed, if any.
    pub fn failed_fatally(&self) -> Option<&RuleOutcome> {
        self.outcomes
            .iter()
            .find(|o| o.severity == Severity::Fail.name() && o.failed > 0)
    }
}

impl RuleOutcome {
    pub fn is(&self, check: Check) -> bool {
        self.check == check.name()
    }
}

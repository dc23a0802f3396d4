//! Rules checked on each row as batches stream by, on the values already typed: one
//! vectorised comparison per batch where Arrow has one (`range` on numbers and dates),
//! one pass over the values' text otherwise. NULL passes every check but `not_null`.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Scalar, StringArray};
use arrow_cast::cast::{CastOptions, cast_with_options};
use arrow_schema::DataType;
use ingest_core::PgType;
use regex::Regex;

use crate::QualityError;
use crate::br;
use crate::spec::{Check, RuleSet};

/// A load's row rules, compiled for its columns.
#[derive(Debug, Clone, Default)]
pub struct RowChecks {
    checks: Vec<RowCheck>,
}

#[derive(Debug, Clone)]
struct RowCheck {
    /// Index of the rule in its set.
    rule: usize,
    /// Index of the column in the load.
    column: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    NotNull,
    /// Bounds in the column's own Arrow type, compared by Arrow's kernels.
    Range {
        min: Option<ArrayRef>,
        max: Option<ArrayRef>,
    },
    /// Numbers compared as f64 (numeric without a precision is text in the engine).
    RangeF64 {
        min: Option<f64>,
        max: Option<f64>,
    },
    InNumbers(HashSet<u64>),
    /// Few values are scanned (faster than hashing each value); many are hashed.
    InText(Vec<String>, HashSet<String>),
    Regex(Box<Regex>),
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// A check of the value's text; integers are zero-padded to `pad` digits first (a CPF
    /// kept in a bigint lost its leading zeros).
    Text {
        test: fn(&str) -> bool,
        pad: usize,
    },
}

/// The rows of one batch that failed one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailures {
    /// Index of the rule in its set.
    pub rule: usize,
    /// Index of the column in the load.
    pub column: usize,
    /// Rows looked at: those still kept when the rule ran.
    pub checked: u64,
    pub rows: Vec<usize>,
}

impl RowChecks {
    /// The row rules of `set` for a load of `columns` (table column names and types, in
    /// load order). A rule on a column the load does not fill is left out here (the report
    /// says it was skipped).
    pub fn new(set: &RuleSet, columns: &[(String, PgType)]) -> Result<RowChecks, QualityError> {
        let mut checks = Vec::new();
        for (i, rule) in set.rules.iter().enumerate() {
            if !rule.check.is_row_check() {
                continue;
            }
            let Some(name) = &rule.column else { continue };
            let Some(column) = columns.iter().position(|(c, _)| c == name) else {
                continue;
            };
            let pg_type = &columns[column].1;
            let kind = compile(rule, pg_type).map_err(|message| QualityError::Invalid {
                rule: rule.id.clone(),
                message,
            })?;
            checks.push(RowCheck {
                rule: i,
                column,
                kind,
            });
        }
        Ok(RowChecks { checks })
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Checks the kept rows of a batch (`arrays` in load order); every rule sees the same
    /// rows, so a row failing two rules is reported by both.
    pub fn run(&self, arrays: &[ArrayRef], keep: &[bool]) -> Vec<RowFailures> {
        let checked = keep.iter().filter(|k| **k).count() as u64;
        self.checks
            .iter()
            .map(|c| RowFailures {
                rule: c.rule,
                column: c.column,
                checked,
                rows: failing_rows(&c.kind, &arrays[c.column], keep),
            })
            .collect()
    }
}

fn compile(rule: &crate::spec::Rule, pg_type: &PgType) -> Result<Kind, String> {
    let data_type = pg_type.arrow_type();
    let numeric = is_number(pg_type);
    Ok(match rule.check {
        Check::NotNull => Kind::NotNull,
        // Integers against whole bounds compare exactly (as f64, 2^53 + 1 would pass a
        // bound of 2^53).
        Check::Range
            if data_type.is_integer()
                && [&rule.min, &rule.max]
                    .into_iter()
                    .flatten()
                    .all(|b| typed_bound(b, &data_type).is_some()) =>
        {
            Kind::Range {
                min: rule.min.as_ref().and_then(|b| typed_bound(b, &data_type)),
                max: rule.max.as_ref().and_then(|b| typed_bound(b, &data_type)),
            }
        }
        Check::Range if numeric => {
            let number = |b: &Option<crate::spec::Bound>| -> Result<Option<f64>, String> {
                b.as_ref()
                    .map(|b| {
                        b.as_f64().ok_or_else(|| {
                            format!("{pg_type} column: bound {:?} is not a number", b.text())
                        })
                    })
                    .transpose()
            };
            Kind::RangeF64 {
                min: number(&rule.min)?,
                max: number(&rule.max)?,
            }
        }
        Check::Range => {
            if matches!(
                data_type,
                DataType::Boolean | DataType::Binary | DataType::List(_)
            ) {
                return Err(format!("range does not apply to a {pg_type} column"));
            }
            let typed = |b: &Option<crate::spec::Bound>| -> Result<Option<ArrayRef>, String> {
                let Some(b) = b else { return Ok(None) };
                let text: ArrayRef = Arc::new(StringArray::from(vec![b.text()]));
                let options = CastOptions {
                    safe: false,
                    ..Default::default()
                };
                cast_with_options(&text, &data_type, &options)
                    .map(Some)
                    .map_err(|_| format!("bound {:?} is not a {pg_type}", b.text()))
            };
            Kind::Range {
                min: typed(&rule.min)?,
                max: typed(&rule.max)?,
            }
        }
        Check::In if numeric => Kind::InNumbers(
            rule.values
                .iter()
                .flatten()
                .map(|v| {
                    v.as_f64().map(f64_key).ok_or_else(|| {
                        format!("{pg_type} column: value {:?} is not a number", v.text())
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        Check::In => {
            let values: Vec<String> = rule.values.iter().flatten().map(|v| v.text()).collect();
            let set = values.iter().cloned().collect();
            Kind::InText(values, set)
        }
        Check::Regex => {
            let pattern = rule.pattern.as_deref().unwrap_or_default();
            Kind::Regex(Box::new(Regex::new(pattern).map_err(|e| e.to_string())?))
        }
        Check::Length => {
            let whole = |b: &Option<crate::spec::Bound>| {
                b.as_ref().and_then(|b| b.as_f64()).map(|n| n as usize)
            };
            Kind::Length {
                min: whole(&rule.min),
                max: whole(&rule.max),
            }
        }
        Check::Cpf => Kind::Text {
            test: br::is_cpf,
            pad: 11,
        },
        Check::Cnpj => Kind::Text {
            test: br::is_cnpj,
            pad: 14,
        },
        Check::Cep => Kind::Text {
            test: br::is_cep,
            pad: 8,
        },
        Check::PlateBr => Kind::Text {
            test: br::is_plate_br,
            pad: 0,
        },
        Check::Email => Kind::Text {
            test: br::is_email,
            pad: 0,
        },
        other => unreachable!("{} is not a row check", other.name()),
    })
}

/// Why a value fails `rule`, in words (the rule's own `message` if it has one).
pub fn reason(rule: &crate::spec::Rule) -> String {
    if let Some(m) = &rule.message {
        return m.clone();
    }
    let bounds = || match (&rule.min, &rule.max) {
        (Some(a), Some(b)) => format!("between {} and {}", a.text(), b.text()),
        (Some(a), None) => format!("at least {}", a.text()),
        (None, Some(b)) => format!("at most {}", b.text()),
        (None, None) => String::new(),
    };
    match rule.check {
        Check::NotNull => "missing: the rule requires a value".into(),
        Check::Range => format!("out of range: must be {}", bounds()),
        Check::Length => format!("wrong length: must be {} characters", bounds()),
        Check::In => {
            let values: Vec<String> = rule.values.iter().flatten().map(|v| v.text()).collect();
            let shown = match values.len() {
                0..=8 => values.join(", "),
                n => format!("{}, ... ({n} values)", values[..8].join(", ")),
            };
            format!("not an accepted value ({shown})")
        }
        Check::Regex => format!(
            "does not match {}",
            rule.pattern.as_deref().unwrap_or_default()
        ),
        Check::Cpf => "not a valid CPF (11 digits and their check digits)".into(),
        Check::Cnpj => "not a valid CNPJ (14 characters and their check digits)".into(),
        Check::PlateBr => "not a Brazilian plate (ABC1234 or Mercosul ABC1D23)".into(),
        Check::Cep => "not a valid CEP (8 digits)".into(),
        Check::Email => "not an e-mail address".into(),
        other => other.name().to_string(),
    }
}

pub(crate) fn is_number(t: &PgType) -> bool {
    matches!(
        t,
        PgType::Int2
            | PgType::Int4
            | PgType::Int8
            | PgType::Float4
            | PgType::Float8
            | PgType::Numeric { .. }
    )
}

/// A bound in the column's own Arrow type, when it reads as one exactly.
fn typed_bound(b: &crate::spec::Bound, data_type: &DataType) -> Option<ArrayRef> {
    let text: ArrayRef = Arc::new(StringArray::from(vec![b.text()]));
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(&text, data_type, &options).ok()
}

/// An f64 as a set key: -0 and 0 are one value.
fn f64_key(v: f64) -> u64 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

fn failing_rows(kind: &Kind, array: &ArrayRef, keep: &[bool]) -> Vec<usize> {
    let rows = (0..keep.len()).filter(|&r| keep[r]);
    match kind {
        Kind::NotNull => rows.filter(|&r| array.is_null(r)).collect(),
        Kind::Range { min, max } => {
            let below = min.as_ref().map(|m| compare(array, m, arrow_ord::cmp::lt));
            let above = max.as_ref().map(|m| compare(array, m, arrow_ord::cmp::gt));
            let out = |b: &Option<BooleanArray>, r: usize| {
                b.as_ref().is_some_and(|b| b.is_valid(r) && b.value(r))
            };
            rows.filter(|&r| out(&below, r) || out(&above, r)).collect()
        }
        Kind::RangeF64 { min, max } => {
            let Some(values) = as_f64(array) else {
                return Vec::new();
            };
            let values = values.as_primitive::<arrow_array::types::Float64Type>();
            rows.filter(|&r| {
                values.is_valid(r) && {
                    let v = values.value(r);
                    min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m)
                }
            })
            .collect()
        }
        Kind::InNumbers(set) => {
            let Some(values) = as_f64(array) else {
                return Vec::new();
            };
            let values = values.as_primitive::<arrow_array::types::Float64Type>();
            rows.filter(|&r| values.is_valid(r) && !set.contains(&f64_key(values.value(r))))
                .collect()
        }
        _ => {
            let Some(text) = as_text(array) else {
                return Vec::new();
            };
            let text = text.as_string::<i32>();
            let fails = |v: &str| match kind {
                Kind::InText(few, _) if few.len() <= 32 => !few.iter().any(|f| f == v),
                Kind::InText(_, set) => !set.contains(v),
                Kind::Regex(re) => !re.is_match(v),
                Kind::Length { min, max } => {
                    let n = v.chars().count();
                    min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m)
                }
                Kind::Text { test, pad } => {
                    let integer = array.data_type().is_integer();
                    if integer && *pad > 0 && v.len() < *pad {
                        !test(&format!("{v:0>pad$}"))
                    } else {
                        !test(v)
                    }
                }
                _ => false,
            };
            rows.filter(|&r| text.is_valid(r) && fails(text.value(r)))
                .collect()
        }
    }
}

fn compare(
    array: &ArrayRef,
    bound: &ArrayRef,
    op: fn(&dyn Datum, &dyn Datum) -> Result<BooleanArray, arrow_schema::ArrowError>,
) -> BooleanArray {
    op(array, &Scalar::new(bound.clone()))
        .unwrap_or_else(|_| BooleanArray::from(vec![false; array.len()]))
}

fn as_f64(array: &ArrayRef) -> Option<ArrayRef> {
    arrow_cast::cast(array, &DataType::Float64).ok()
}

pub(crate) fn as_text(array: &ArrayRef) -> Option<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => Some(array.clone()),
        _ => arrow_cast::cast(array, &DataType::Utf8).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, Decimal128Array, Int32Array, Int64Array};

    fn failures(yaml: &str, pg: PgType, array: ArrayRef) -> Vec<usize> {
        let set = RuleSet::parse(yaml, "t").unwrap();
        let checks = RowChecks::new(&set, &[("c".into(), pg)]).unwrap();
        let keep = vec![true; array.len()];
        checks.run(&[array], &keep).remove(0).rows
    }

    #[test]
    fn range_on_numbers_and_dates() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(1900),
            Some(2000),
            None,
            Some(2207),
        ]));
        let y = "rules:\n  - {id: r, column: c, check: range, min: 1950, max: 2027}";
        assert_eq!(failures(y, PgType::Int4, ints), [0, 3]);
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(15), Some(-1)])
                .with_precision_and_scale(12, 1)
                .unwrap(),
        );
        let y = "rules:\n  - {id: r, column: c, check: range, min: 0}";
        assert_eq!(
            failures(
                y,
                PgType::Numeric {
                    precision: Some(12),
                    scale: Some(1)
                },
                dec
            ),
            [1]
        );
        // 2020-01-01 is day 18262.
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![18261, 18262, 18263]));
        let y =
            "rules:\n  - {id: r, column: c, check: range, min: '2020-01-01', max: '2020-01-01'}";
        assert_eq!(failures(y, PgType::Date, dates), [0, 2]);
        let big: ArrayRef = Arc::new(Int64Array::from(vec![
            9_007_199_254_740_992,
            9_007_199_254_740_993,
        ]));
        let y = "rules:\n  - {id: r, column: c, check: range, max: 9007199254740992}";
        assert_eq!(failures(y, PgType::Int8, big), [1]);
        let bad = RuleSet::parse(
            "rules:\n  - {id: r, column: c, check: range, min: 'soon'}",
            "t",
        )
        .unwrap();
        let e = RowChecks::new(&bad, &[("c".into(), PgType::Date)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("rule r") && e.contains("soon"), "{e}");
    }

    #[test]
    fn text_checks_and_membership() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("SP"), Some("XX"), None]));
        let y = "rules:\n  - {id: r, column: c, check: in, values: [SP, RJ]}";
        assert_eq!(failures(y, PgType::Text, text.clone()), [1]);
        let y = "rules:\n  - {id: r, column: c, check: not_null}";
        assert_eq!(failures(y, PgType::Text, text.clone()), [2]);
        let y = "rules:\n  - {id: r, column: c, check: length, min: 2, max: 2}";
        assert!(failures(y, PgType::Text, text).is_empty());
        let y = "rules:\n  - {id: r, column: c, check: in, values: [1, 2.5]}";
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
        assert_eq!(failures(y, PgType::Int4, ints), [1, 2]);
        // A CPF kept in a bigint lost its leading zero: it is padded back.
        let cpfs: ArrayRef = Arc::new(Int64Array::from(vec![
            5_298_224_725_i64,
            52_998_224_725,
            52_998_224_726,
        ]));
        let y = "rules:\n  - {id: r, column: c, check: cpf}";
        assert_eq!(failures(y, PgType::Int8, cpfs), [0, 2]);
    }
}

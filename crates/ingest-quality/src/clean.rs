//! Cleaning: each column's text passed through its steps, in order, before it is typed.
//! A column no step names is left alone (and not copied).

use std::borrow::Cow;
use std::collections::BTreeMap;

use arrow_array::{Array, StringArray};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::spec::{CleanOp, RuleSet, Unmapped};

/// One step as it applies to one column.
#[derive(Debug, Clone)]
enum Step {
    Op(CleanOp),
    Map {
        map: BTreeMap<String, Option<String>>,
        reject_unmapped: bool,
    },
}

/// The cleaning of each of a load's columns.
#[derive(Debug, Clone, Default)]
pub struct Cleaner {
    /// Indexed like the load's columns; empty where nothing applies.
    steps: Vec<Vec<Step>>,
}

/// A value the cleaning refused (a `map` with `unmapped: reject`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanReject {
    pub row: usize,
    pub reason: String,
}

impl Cleaner {
    /// The steps of `set` for the load's `columns` (table column names, in load order);
    /// a step on a column the load does not fill has nothing to clean.
    pub fn new(set: &RuleSet, columns: &[String]) -> Cleaner {
        let mut steps = vec![Vec::new(); columns.len()];
        for step in &set.clean {
            for name in step.target_columns() {
                let Some(i) = columns.iter().position(|c| c == name) else {
                    continue;
                };
                steps[i].extend(step.ops.iter().cloned().map(Step::Op));
                if let Some(map) = &step.map {
                    steps[i].push(Step::Map {
                        map: map.clone(),
                        reject_unmapped: step.unmapped == Some(Unmapped::Reject),
                    });
                }
            }
        }
        Cleaner { steps }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(Vec::is_empty)
    }

    pub fn cleans(&self, column: usize) -> bool {
        self.steps.get(column).is_some_and(|s| !s.is_empty())
    }

    /// Column `column`'s values cleaned, with the rows refused; `None` when no step
    /// applies to it.
    pub fn clean(
        &self,
        column: usize,
        values: &StringArray,
    ) -> Option<(StringArray, Vec<CleanReject>)> {
        let steps = self.steps.get(column).filter(|s| !s.is_empty())?;
        let mut rejects = Vec::new();
        let cleaned: StringArray = (0..values.len())
            .map(|row| {
                if values.is_null(row) {
                    return None;
                }
                match clean_value(values.value(row), steps) {
                    Ok(v) => v.map(Cow::into_owned),
                    Err(reason) => {
                        rejects.push(CleanReject { row, reason });
                        None
                    }
                }
            })
            .collect();
        Some((cleaned, rejects))
    }
}

/// One value through its steps: `Ok(None)` is NULL.
fn clean_value<'a>(value: &'a str, steps: &[Step]) -> Result<Option<Cow<'a, str>>, String> {
    let mut v: Cow<'a, str> = Cow::Borrowed(value);
    for step in steps {
        v = match step {
            Step::Op(op) => match apply(op, v) {
                Some(v) => v,
                None => return Ok(None),
            },
            Step::Map {
                map,
                reject_unmapped,
            } => match map.get(v.as_ref()) {
                Some(Some(to)) => Cow::Owned(to.clone()),
                Some(None) => return Ok(None),
                None if *reject_unmapped => {
                    return Err(format!("value {:?} is not in the cleaning map", v.as_ref()));
                }
                None => v,
            },
        };
    }
    Ok(Some(v))
}

/// One operation; `None` is NULL.
fn apply<'a>(op: &CleanOp, v: Cow<'a, str>) -> Option<Cow<'a, str>> {
    Some(match op {
        CleanOp::Trim => match v {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        },
        CleanOp::CollapseSpaces => {
            if !has_space_run(&v) {
                return Some(v);
            }
            let mut out = String::with_capacity(v.len());
            let mut in_space = false;
            for c in v.chars() {
                if c.is_whitespace() {
                    if !in_space {
                        out.push(' ');
                    }
                    in_space = true;
                } else {
                    out.push(c);
                    in_space = false;
                }
            }
            Cow::Owned(out)
        }
        CleanOp::Nfc => {
            if v.is_ascii() {
                return Some(v);
            }
            Cow::Owned(v.nfc().collect())
        }
        CleanOp::Upper if !v.chars().any(char::is_lowercase) => v,
        CleanOp::Upper => Cow::Owned(v.to_uppercase()),
        CleanOp::Lower if !v.chars().any(char::is_uppercase) => v,
        CleanOp::Lower => Cow::Owned(v.to_lowercase()),
        CleanOp::StripAccents if v.is_ascii() => v,
        CleanOp::StripAccents => {
            Cow::Owned(v.nfd().filter(|c| !is_combining_mark(*c)).nfc().collect())
        }
        CleanOp::DigitsOnly if v.bytes().all(|b| b.is_ascii_digit()) => v,
        CleanOp::DigitsOnly => Cow::Owned(v.chars().filter(char::is_ascii_digit).collect()),
        CleanOp::EmptyToNull if v.is_empty() => return None,
        CleanOp::EmptyToNull => v,
        CleanOp::Remove(chars) if !v.chars().any(|c| chars.contains(c)) => v,
        CleanOp::Remove(chars) => Cow::Owned(v.chars().filter(|c| !chars.contains(*c)).collect()),
        CleanOp::Replace { from, .. } if from.is_empty() || !v.contains(from.as_str()) => v,
        CleanOp::Replace { from, to } => Cow::Owned(v.replace(from.as_str(), to)),
        CleanOp::NullIf(values) if values.iter().any(|n| n == v.as_ref()) => return None,
        CleanOp::NullIf(_) => v,
    })
}

/// Whether collapsing would change anything: two blanks in a row, or a blank that is not
/// a plain space.
fn has_space_run(s: &str) -> bool {
    let mut prev = false;
    for c in s.chars() {
        let space = c.is_whitespace();
        if space && (prev || c != ' ') {
            return true;
        }
        prev = space;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(yaml: &str, values: &[Option<&str>]) -> (Vec<Option<String>>, Vec<CleanReject>) {
        let set = RuleSet::parse(yaml, "t").unwrap();
        let cleaner = Cleaner::new(&set, &["c".to_string()]);
        let (out, rejects) = cleaner
            .clean(0, &StringArray::from(values.to_vec()))
            .unwrap();
        (out.iter().map(|v| v.map(str::to_string)).collect(), rejects)
    }

    #[test]
    fn ops_apply_in_order() {
        let (out, _) = cleaned(
            "clean:\n  - {column: c, ops: [trim, collapse_spaces]}",
            &[Some("  João   da\u{a0}Silva "), None, Some("ok")],
        );
        assert_eq!(out, [Some("João da Silva".into()), None, Some("ok".into())]);
        let (out, _) = cleaned(
            "clean:\n  - {column: c, ops: [upper, {remove: \"- \"}]}",
            &[Some("abc-1d23"), Some("faa 5f00")],
        );
        assert_eq!(out, [Some("ABC1D23".into()), Some("FAA5F00".into())]);
        // "é" typed as e + combining acute becomes one character.
        let (out, _) = cleaned(
            "clean:\n  - {column: c, ops: [nfc]}",
            &[Some("Jose\u{301}")],
        );
        assert_eq!(out, [Some("José".into())]);
        let (out, _) = cleaned(
            "clean:\n  - {column: c, ops: [strip_accents, lower, digits_only]}",
            &[Some("Ação 12.3")],
        );
        assert_eq!(out, [Some("123".into())]);
        let (out, _) = cleaned(
            "clean:\n  - {column: c, ops: [trim, empty_to_null, {null_if: [N/A]}, {replace: {from: ',', to: '.'}}]}",
            &[Some("  "), Some("N/A"), Some("1,5")],
        );
        assert_eq!(out, [None, None, Some("1.5".into())]);
    }

    #[test]
    fn maps_keep_or_reject_the_unmapped() {
        let (out, rejects) = cleaned(
            "clean:\n  - {column: c, map: {A: ativo, I: inativo, '-': null}}",
            &[Some("A"), Some("I"), Some("X"), Some("-")],
        );
        assert_eq!(
            out,
            [
                Some("ativo".into()),
                Some("inativo".into()),
                Some("X".into()),
                None
            ]
        );
        assert!(rejects.is_empty());
        let (out, rejects) = cleaned(
            "clean:\n  - {column: c, map: {A: ativo}, unmapped: reject}",
            &[Some("A"), Some("X")],
        );
        assert_eq!(out[0].as_deref(), Some("ativo"));
        assert_eq!(
            rejects,
            [CleanReject {
                row: 1,
                reason: "value \"X\" is not in the cleaning map".into()
            }]
        );
    }
}

//! Types that keep the text as it is: `text`, `varchar(n)`, `char(n)`, enums, `json`,
//! `jsonb`. Values are checked only; the output shares the input's buffers, with a new
//! validity bitmap.
//!
//! Lengths follow PostgreSQL: counted in characters, and excess characters that are all
//! spaces are accepted (PostgreSQL truncates them), for `varchar(n)` as for `char(n)`.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::{ArrayRef, StringArray};

use super::{CellError, Cells, NUL_REASON, null_buffer};
use crate::PgType;

/// Enum labels listed in a refusal, at most.
const LABELS_SHOWN: usize = 10;

pub(super) fn coerce(cells: Cells, ty: &PgType, errors: &mut Vec<CellError>) -> ArrayRef {
    let check = Check::new(ty);
    // The NUL test is skipped for every value when the whole buffer has none.
    let may_have_nul = cells.raw.value_data().contains(&0);
    let len = cells.len();
    let mut valid = BooleanBufferBuilder::new(len);
    for row in 0..len {
        let Some(text) = cells.get(row) else {
            valid.append(false);
            continue;
        };
        let verdict = if may_have_nul && text.contains('\0') {
            Err(NUL_REASON.to_owned())
        } else {
            check.run(text)
        };
        valid.append(verdict.is_ok());
        if let Err(reason) = verdict {
            errors.push(CellError { row, reason });
        }
    }
    let raw = cells.raw;
    Arc::new(StringArray::new(
        raw.offsets().clone(),
        raw.values().clone(),
        null_buffer(valid),
    ))
}

enum Check<'a> {
    Any,
    MaxChars {
        max: usize,
        reason: String,
    },
    Enum {
        labels: HashSet<&'a str>,
        reason: String,
    },
    Json,
    Jsonb,
}

impl<'a> Check<'a> {
    fn new(ty: &'a PgType) -> Check<'a> {
        match ty {
            PgType::Varchar { max_chars: Some(n) } => Check::MaxChars {
                max: *n as usize,
                reason: format!("longer than {n} characters for {ty}"),
            },
            PgType::Bpchar { chars: Some(n) } => Check::MaxChars {
                max: *n as usize,
                reason: format!("longer than {n} characters for {ty}"),
            },
            PgType::Enum { name, labels } => {
                let mut shown = labels
                    .iter()
                    .take(LABELS_SHOWN)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if labels.len() > LABELS_SHOWN {
                    shown.push_str(&format!(", … {} more", labels.len() - LABELS_SHOWN));
                }
                let reason = format!("not a label of enum {name} ({shown})");
                Check::Enum {
                    labels: labels.iter().map(String::as_str).collect(),
                    reason,
                }
            }
            PgType::Json => Check::Json,
            PgType::Jsonb => Check::Jsonb,
            _ => Check::Any,
        }
    }

    fn run(&self, text: &str) -> Result<(), String> {
        match self {
            Check::Any => Ok(()),
            Check::MaxChars { max, reason } => {
                // Bytes bound characters: most values need no counting.
                if text.len() <= *max || text.trim_end_matches(' ').chars().count() <= *max {
                    Ok(())
                } else {
                    Err(reason.clone())
                }
            }
            Check::Enum { labels, reason } => {
                if labels.contains(text) {
                    Ok(())
                } else {
                    Err(reason.clone())
                }
            }
            Check::Json => check_json(text),
            Check::Jsonb => {
                check_json(text)?;
                if has_nul_escape(text) {
                    return Err("jsonb cannot store the \\u0000 escape".to_owned());
                }
                Ok(())
            }
        }
    }
}

fn check_json(text: &str) -> Result<(), String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| format!("invalid json: {e}"))
}

/// Whether valid JSON `text` has a `\u0000` escape inside a string.
fn has_nul_escape(text: &str) -> bool {
    if !text.contains("u0000") {
        return false;
    }
    let bytes = text.as_bytes();
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (_, b'"') => in_string = !in_string,
            (true, b'\\') => {
                if bytes[i + 1..].starts_with(b"u0000") {
                    return true;
                }
                i += 1; // skip the escaped char
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::super::NUL_REASON;
    use super::super::test_util::{NULL, run};
    use crate::{PgType, TextFormat};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    #[test]
    fn text_accepts_anything_but_nul() {
        let fmt = TextFormat::default();
        let values = ["hello", " spaced ", "ção 日本", NULL, "", "a\0b", "NULL"];
        let (a, e) = run(&PgType::Text, &fmt, &values);
        let a = a.as_string::<i32>();
        assert_eq!(
            (a.value(0), a.value(1), a.value(2), a.value(6)),
            ("hello", " spaced ", "ção 日本", "NULL")
        );
        assert!(a.is_null(3) && a.is_null(4) && a.is_null(5));
        assert_eq!(e, [(5, NUL_REASON)]);
    }

    #[test]
    fn null_marker_is_exact() {
        let fmt = TextFormat {
            null: Some("\\N".into()),
            ..TextFormat::default()
        };
        let (a, e) = run(&PgType::Text, &fmt, &["", "\\N", " \\N"]);
        assert!(e.is_empty());
        assert!(a.is_valid(0) && a.is_null(1) && a.is_valid(2));
    }

    #[test]
    fn varchar_counts_characters() {
        let fmt = TextFormat::default();
        let ty = PgType::Varchar { max_chars: Some(3) };
        let values = ["abc", "ção", "日本語", "abcd", "çãoç", "abc   ", "ab  c"];
        let (a, e) = run(&ty, &fmt, &values);
        let reason = "longer than 3 characters for character varying(3)";
        assert_eq!(e, [(3, reason), (4, reason), (6, reason)]);
        assert_eq!(
            a.as_string::<i32>().value(5),
            "abc   ",
            "excess blanks: PostgreSQL truncates them"
        );
        let (_, e) = run(
            &PgType::Varchar { max_chars: None },
            &fmt,
            &["x".repeat(100_000).as_str()],
        );
        assert!(e.is_empty());
    }

    #[test]
    fn bpchar_allows_trailing_blanks() {
        let fmt = TextFormat::default();
        let ty = PgType::Bpchar { chars: Some(2) };
        let (a, e) = run(&ty, &fmt, &["ab", "ab   ", "a", "abc", " ab", "ã "]);
        assert_eq!(
            e,
            [
                (3, "longer than 2 characters for character(2)"),
                (4, "longer than 2 characters for character(2)")
            ]
        );
        assert_eq!(a.as_string::<i32>().value(1), "ab   ", "output unchanged");
    }

    #[test]
    fn bpchar_without_length_is_unbounded() {
        let fmt = TextFormat::default();
        let ty = PgType::Bpchar { chars: None };
        let long = "x".repeat(100_000);
        let (a, e) = run(&ty, &fmt, &["hello", "", " a ", long.as_str(), "a\0"]);
        let a = a.as_string::<i32>();
        assert_eq!(e, [(4, NUL_REASON)]);
        assert_eq!((a.value(0), a.value(2)), ("hello", " a "));
        assert!(a.is_null(1), "the empty field is the NULL marker");
        assert_eq!(a.value(3).len(), 100_000);
    }

    #[test]
    fn enum_labels() {
        let fmt = TextFormat::default();
        let ty = PgType::Enum {
            name: "mood".into(),
            labels: vec!["sad".into(), "ok".into(), "happy".into()],
        };
        let (_, e) = run(&ty, &fmt, &["sad", "happy", "Happy", " ok", "meh", "a\0"]);
        let reason = "not a label of enum mood (sad, ok, happy)";
        assert_eq!(e, [(2, reason), (3, reason), (4, reason), (5, NUL_REASON)]);
        let many = PgType::Enum {
            name: "n".into(),
            labels: (0..12).map(|i| i.to_string()).collect(),
        };
        let (_, e) = run(&many, &fmt, &["12"]);
        assert_eq!(
            e,
            [(
                0,
                "not a label of enum n (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 2 more)"
            )]
        );
    }

    #[test]
    fn json_and_jsonb() {
        let fmt = TextFormat::default();
        let good = [
            r#"{"a": [1, 2.5e400, null, true]}"#,
            "3",
            r#""x""#,
            " [] ",
            r#"{"a":"\u0000"}"#,
        ];
        let (a, e) = run(&PgType::Json, &fmt, &good);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(a.as_string::<i32>().value(3), " [] ", "kept as written");
        let (_, e) = run(&PgType::Jsonb, &fmt, &good);
        assert_eq!(e, [(4, "jsonb cannot store the \\u0000 escape")]);
        let (_, e) = run(&PgType::Jsonb, &fmt, &[r#"{"a":"\\u0000"}"#]);
        assert!(e.is_empty(), "an escaped backslash, not a NUL");
        let (_, e) = run(&PgType::Json, &fmt, &["{a:1}", "[1,]", "01", "{} {}"]);
        assert_eq!(e.len(), 4);
        assert!(
            e.iter().all(|(_, r)| r.starts_with("invalid json: ")),
            "{e:?}"
        );
        assert_eq!(
            e[0].1,
            "invalid json: key must be a string at line 1 column 2"
        );
    }
}

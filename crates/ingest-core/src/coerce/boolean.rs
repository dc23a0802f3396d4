//! `boolean`: the usual spellings in English and Portuguese, any case, whitespace trimmed.

use std::sync::Arc;

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::{ArrayRef, BooleanArray};

use super::{CellError, Cells, null_buffer, trim_space};

const REASON: &str = "not a boolean (true/false, t/f, 1/0, yes/no, sim/não)";

const TRUE: [&str; 7] = ["true", "t", "1", "yes", "y", "on", "sim"];
const FALSE: [&str; 8] = ["false", "f", "0", "no", "n", "off", "não", "nao"];
/// `s` (sim) is true; `n` is false in both languages.
const TRUE_PT: [&str; 1] = ["s"];

pub(super) fn coerce(cells: Cells, errors: &mut Vec<CellError>) -> ArrayRef {
    let len = cells.len();
    let mut values = BooleanBufferBuilder::new(len);
    let mut valid = BooleanBufferBuilder::new(len);
    for row in 0..len {
        let parsed = cells.get(row).and_then(|text| {
            let value = parse(text);
            if value.is_none() {
                errors.push(CellError {
                    row,
                    reason: REASON.to_owned(),
                });
            }
            value
        });
        values.append(parsed == Some(true));
        valid.append(parsed.is_some());
    }
    Arc::new(BooleanArray::new(values.finish(), null_buffer(valid)))
}

fn parse(text: &str) -> Option<bool> {
    let text = trim_space(text);
    if text.len() > 5 {
        return None;
    }
    let is = |words: &[&str]| words.iter().any(|w| eq_lowercase(text, w));
    if is(&TRUE) || is(&TRUE_PT) {
        Some(true)
    } else if is(&FALSE) {
        Some(false)
    } else {
        None
    }
}

/// `text` equals the lowercase `word` ignoring case, non-ASCII letters included (`NÃO`).
fn eq_lowercase(text: &str, word: &str) -> bool {
    if text.is_ascii() {
        text.eq_ignore_ascii_case(word)
    } else {
        text.chars().flat_map(char::to_lowercase).eq(word.chars())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{NULL, run};
    use super::REASON;
    use crate::{PgType, TextFormat};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    #[test]
    fn all_spellings() {
        let fmt = TextFormat::default();
        let truthy = [
            "true", "TRUE", "True", "t", "T", "1", "yes", "YES", "y", "on", "ON", "sim", "SIM",
            "Sim", "s", "S", " true ", "\tt\n",
        ];
        let falsy = [
            "false", "FALSE", "f", "F", "0", "no", "NO", "n", "N", "off", "Off", "não", "NÃO",
            "Não", "nao", "NAO",
        ];
        let (a, e) = run(&PgType::Bool, &fmt, &truthy);
        assert!(e.is_empty(), "{e:?}");
        assert!(a.as_boolean().iter().all(|v| v == Some(true)));
        let (a, e) = run(&PgType::Bool, &fmt, &falsy);
        assert!(e.is_empty(), "{e:?}");
        assert!(a.as_boolean().iter().all(|v| v == Some(false)));
    }

    #[test]
    fn refusals_and_nulls() {
        let fmt = TextFormat::default();
        let values = ["2", "tru", "yess", "verdadeiro", "-1", "o", NULL, "", "nã"];
        let (a, e) = run(&PgType::Bool, &fmt, &values);
        assert_eq!(
            e,
            [
                (0, REASON),
                (1, REASON),
                (2, REASON),
                (3, REASON),
                (4, REASON),
                (5, REASON),
                (8, REASON)
            ]
        );
        assert_eq!(a.null_count(), values.len());
    }
}

//! Raw text to typed Arrow arrays, one column at a time.
//!
//! Every type has its own submodule; this one holds the public entry point, the dispatch on
//! [`PgType`] and the few helpers they share (reading a cell, building a primitive array with
//! its null bitmap in one pass, passing text through without copying it).
//!
//! Why not arrow-cast's string parsers: they implement Arrow's rules, not PostgreSQL's.
//! `parse_decimal` rounds or truncates extra fractional digits (we must refuse them), and
//! none of them knows a decimal comma or thousands separators; its timestamp parser
//! converts an offset instead of ignoring it for `timestamp without time zone`, and does
//! not take PostgreSQL's one-digit months, `UTC` suffix or 24:00:00; its booleans lack
//! `sim`/`não`/`on`/`off`. Matching `psql \copy` value for value is the contract here.

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::types::{Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, StringArray};
use arrow_buffer::NullBuffer;

use crate::{PgType, TextFormat};

mod array;
mod array_literal;
mod boolean;
mod bytea;
mod chrono_formats;
mod decimal;
mod float;
mod integer;
mod iso;
mod number;
mod temporal;
mod text;
mod uuid_value;
mod zone;

#[cfg(test)]
mod test_util;

/// Why one value of a column was refused. `row` is the index in the input array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub row: usize,
    pub reason: String,
}

/// A coerced column: `array` has `PgType::arrow_type()`, the input's length, and a null
/// wherever the input was NULL (equal to `TextFormat::null`) or refused.
#[derive(Debug)]
pub struct Coerced {
    pub array: ArrayRef,
    pub errors: Vec<CellError>,
}

/// Coerces raw text values (a null in `raw` is also NULL) into the column's Arrow type.
///
/// `errors` come in row order, at most one per row.
pub fn coerce_column(raw: &StringArray, ty: &PgType, fmt: &TextFormat) -> Coerced {
    coerce(
        Cells {
            raw,
            null: fmt.null.as_deref(),
        },
        ty,
        fmt,
    )
}

/// The values of a raw column: a cell is `None` when null in the array or equal to the NULL
/// marker (array elements have no marker: only an unquoted `NULL` is null there).
#[derive(Clone, Copy)]
pub(crate) struct Cells<'a> {
    raw: &'a StringArray,
    null: Option<&'a str>,
}

impl<'a> Cells<'a> {
    fn len(&self) -> usize {
        self.raw.len()
    }

    #[inline]
    fn get(&self, row: usize) -> Option<&'a str> {
        if self.raw.is_null(row) {
            return None;
        }
        let value = self.raw.value(row);
        match self.null {
            Some(marker) if marker == value => None,
            _ => Some(value),
        }
    }
}

fn coerce(cells: Cells<'_>, ty: &PgType, fmt: &TextFormat) -> Coerced {
    let mut errors = Vec::new();
    let array = match ty {
        PgType::Int2 => integer::coerce::<Int16Type>(cells, ty, fmt, &mut errors),
        PgType::Int4 => integer::coerce::<Int32Type>(cells, ty, fmt, &mut errors),
        PgType::Int8 => integer::coerce::<Int64Type>(cells, ty, fmt, &mut errors),
        PgType::Numeric { .. } => decimal::coerce(cells, ty, fmt, &mut errors),
        PgType::Float4 => float::coerce_float4(cells, fmt, &mut errors),
        PgType::Float8 => float::coerce_float8(cells, fmt, &mut errors),
        PgType::Bool => boolean::coerce(cells, &mut errors),
        PgType::Text
        | PgType::Varchar { .. }
        | PgType::Bpchar { .. }
        | PgType::Enum { .. }
        | PgType::Json
        | PgType::Jsonb => text::coerce(cells, ty, &mut errors),
        PgType::Date => temporal::coerce_date(cells, fmt, &mut errors),
        PgType::Time => temporal::coerce_time(cells, &mut errors),
        PgType::Timestamp => temporal::coerce_timestamp(cells, fmt, false, &mut errors),
        PgType::Timestamptz => temporal::coerce_timestamp(cells, fmt, true, &mut errors),
        PgType::Uuid => uuid_value::coerce(cells, &mut errors),
        PgType::Bytea => bytea::coerce(cells, &mut errors),
        PgType::Array { element, .. } => array::coerce_list(cells, element, fmt, &mut errors),
        PgType::Other { name } => for_the_server(cells, name, &mut errors),
    };
    debug_assert_eq!(array.data_type(), &ty.arrow_type());
    debug_assert_eq!(array.len(), cells.len());
    Coerced { array, errors }
}

/// A type only the server reads: every value is an error saying so, which the load turns
/// into a question to the server (see `ingest_load`'s server casts); the array is null.
fn for_the_server(cells: Cells<'_>, name: &str, errors: &mut Vec<CellError>) -> ArrayRef {
    for row in 0..cells.len() {
        if cells.get(row).is_some() {
            errors.push(CellError {
                row,
                reason: format!("{name} is read by the server"),
            });
        }
    }
    arrow_array::new_null_array(&arrow_schema::DataType::Binary, cells.len())
}

/// A validity bitmap as a `NullBuffer`, or none when every slot is valid.
fn null_buffer(mut valid: BooleanBufferBuilder) -> Option<NullBuffer> {
    let nulls = NullBuffer::new(valid.finish());
    (nulls.null_count() > 0).then_some(nulls)
}

/// One pass over `cells` building a primitive array: `parse` gives a value or the reason it
/// is refused. The array has `T`'s default data type; callers set parameters (precision,
/// time zone) with `with_data_type`.
fn primitive<T: ArrowPrimitiveType>(
    cells: Cells<'_>,
    errors: &mut Vec<CellError>,
    mut parse: impl FnMut(&str) -> Result<T::Native, String>,
) -> PrimitiveArray<T> {
    let len = cells.len();
    let mut values: Vec<T::Native> = Vec::with_capacity(len);
    let mut valid = BooleanBufferBuilder::new(len);
    for row in 0..len {
        let parsed = match cells.get(row) {
            None => None,
            Some(text) => match parse(text) {
                Ok(value) => Some(value),
                Err(reason) => {
                    errors.push(CellError { row, reason });
                    None
                }
            },
        };
        valid.append(parsed.is_some());
        values.push(parsed.unwrap_or_default());
    }
    PrimitiveArray::new(values.into(), null_buffer(valid))
}

/// The reason for text PostgreSQL cannot hold (`text`, `varchar`, `json`, enums...).
const NUL_REASON: &str = "contains a NUL byte, which PostgreSQL text cannot store";

/// ASCII whitespace as PostgreSQL's `isspace` (and `array_isspace`) sees it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Trims `is_space` whitespace, as around numbers and dates.
fn trim_space(s: &str) -> &str {
    s.trim_matches(is_space)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;

    fn all_types() -> Vec<PgType> {
        let scalars = vec![
            PgType::Int2,
            PgType::Int4,
            PgType::Int8,
            PgType::Numeric {
                precision: Some(12),
                scale: Some(2),
            },
            PgType::Numeric {
                precision: None,
                scale: None,
            },
            PgType::Numeric {
                precision: Some(40),
                scale: Some(2),
            },
            PgType::Numeric {
                precision: Some(3),
                scale: Some(5),
            },
            PgType::Float4,
            PgType::Float8,
            PgType::Bool,
            PgType::Text,
            PgType::Varchar { max_chars: Some(3) },
            PgType::Bpchar { chars: Some(3) },
            PgType::Bpchar { chars: None },
            PgType::Date,
            PgType::Time,
            PgType::Timestamp,
            PgType::Timestamptz,
            PgType::Uuid,
            PgType::Json,
            PgType::Jsonb,
            PgType::Bytea,
            PgType::Enum {
                name: "e".into(),
                labels: vec!["a".into()],
            },
        ];
        let arrays: Vec<PgType> = scalars
            .iter()
            .map(|t| PgType::Array {
                element: Box::new(t.clone()),
                element_oid: 0,
            })
            .collect();
        scalars.into_iter().chain(arrays).collect()
    }

    #[test]
    fn every_type_keeps_length_and_type_for_nulls_and_garbage() {
        let fmt = TextFormat::default();
        let raw = StringArray::from(vec![None, Some(""), Some("\u{0}garbage\u{0}")]);
        for ty in all_types() {
            let out = coerce_column(&raw, &ty, &fmt);
            assert_eq!(out.array.data_type(), &ty.arrow_type(), "{ty}");
            assert_eq!(out.array.len(), 3, "{ty}");
            assert_eq!(out.array.null_count(), 3, "{ty}");
            assert_eq!(out.errors.len(), 1, "{ty}: {:?}", out.errors);
            assert_eq!(out.errors[0].row, 2);
            let reason = &out.errors[0].reason;
            assert!(
                !reason.contains("garbage") && reason == &reason.to_lowercase()
                    || reason.contains("NUL"),
                "{ty}: {reason}"
            );
            let empty = coerce_column(&StringArray::from(Vec::<&str>::new()), &ty, &fmt);
            assert_eq!(
                (empty.array.len(), empty.array.data_type()),
                (0, &ty.arrow_type()),
                "{ty}"
            );
        }
    }

    #[test]
    fn sliced_input_and_custom_null_marker() {
        let fmt = TextFormat {
            null: Some("NULL".into()),
            ..TextFormat::default()
        };
        let full = StringArray::from(vec!["x", "1", "NULL", "", "3", "y"]);
        let raw = full.slice(1, 4);
        let out = coerce_column(&raw, &PgType::Int4, &fmt);
        let ints = out.array.as_primitive::<Int32Type>();
        assert_eq!(
            ints.iter().collect::<Vec<_>>(),
            [Some(1), None, None, Some(3)]
        );
        assert_eq!(
            out.errors,
            [CellError {
                row: 2,
                reason: "not an integer".into()
            }]
        );
        let out = coerce_column(&raw, &PgType::Text, &fmt);
        let texts = out.array.as_string::<i32>();
        assert_eq!(
            texts.iter().collect::<Vec<_>>(),
            [Some("1"), None, Some(""), Some("3")]
        );
        assert!(out.errors.is_empty());
    }
}

//! One-dimensional arrays: each value is split into element texts (see `array_literal`), all
//! elements of the column are coerced at once with the element type, and the list is built
//! from their offsets. A row with a refused element is NULL, with the first such element's
//! reason: `element 3: not an integer` (elements count from 1, as in PostgreSQL).
//!
//! Element texts use the column's text format except its NULL marker: only an unquoted
//! `NULL` (or JSON `null`) is a NULL element. JSON numbers are written with `.`, so with a
//! decimal comma format they are rewritten before numeric and float elements are read.

use std::sync::Arc;

use arrow_array::builder::{BooleanBufferBuilder, StringBuilder};
use arrow_array::{ArrayRef, ListArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::Field;

use super::array_literal::{Elements, split};
use super::{CellError, Cells, coerce, null_buffer};
use crate::{PgType, TextFormat};

pub(super) fn coerce_list(
    cells: Cells,
    element: &PgType,
    fmt: &TextFormat,
    errors: &mut Vec<CellError>,
) -> ArrayRef {
    let len = cells.len();
    let comma_numbers = fmt.decimal_comma
        && matches!(
            element,
            PgType::Numeric { .. } | PgType::Float4 | PgType::Float8
        );
    let mut texts = StringBuilder::with_capacity(len, cells.raw.value_data().len());
    let mut offsets: Vec<i32> = Vec::with_capacity(len + 1);
    offsets.push(0);
    let mut valid = BooleanBufferBuilder::new(len);
    let mut row_errors = Vec::new();
    let mut elements = Elements::default();
    let mut count = 0usize;
    for row in 0..len {
        let ok = match cells.get(row) {
            None => false,
            Some(value) => match split(value, comma_numbers, &mut elements) {
                Ok(()) => {
                    for item in elements.iter() {
                        texts.append_option(item);
                        count += 1;
                    }
                    true
                }
                Err(reason) => {
                    row_errors.push(CellError { row, reason });
                    false
                }
            },
        };
        valid.append(ok);
        offsets.push(i32::try_from(count).expect("fewer elements than input bytes"));
    }
    let texts = texts.finish();
    let values = coerce(
        Cells {
            raw: &texts,
            null: None,
        },
        element,
        fmt,
    );
    // Element errors back to their rows, the first one of each row only.
    let mut last_row = None;
    for e in values.errors {
        let row = offsets.partition_point(|&o| o as usize <= e.row) - 1;
        if last_row != Some(row) {
            last_row = Some(row);
            valid.set_bit(row, false);
            let index = e.row - offsets[row] as usize + 1;
            row_errors.push(CellError {
                row,
                reason: format!("element {index}: {}", e.reason),
            });
        }
    }
    row_errors.sort_by_key(|e| e.row);
    errors.append(&mut row_errors);
    let field = Arc::new(Field::new("item", element.arrow_type(), true));
    let offsets = OffsetBuffer::new(offsets.into());
    Arc::new(ListArray::new(
        field,
        offsets,
        values.array,
        null_buffer(valid),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::NUL_REASON;
    use super::super::test_util::{NULL, br, run};
    use crate::{PgType, TextFormat};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Int32Type};
    use arrow_array::{Array, ListArray};

    fn array_of(element: PgType) -> PgType {
        PgType::Array {
            element: Box::new(element),
            element_oid: 0,
        }
    }

    fn texts(list: &ListArray, row: usize) -> Vec<Option<String>> {
        let values = list.value(row);
        values
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    }

    #[test]
    fn integer_arrays() {
        let fmt = TextFormat::default();
        let values = [
            "{1,2,3}",
            "{}",
            NULL,
            "",
            "[4, null, 5]",
            "{1,x,y}",
            "{1,99999999999}",
            "{{1},{2}}",
            "{7}",
        ];
        let (a, e) = run(&array_of(PgType::Int4), &fmt, &values);
        let list = a.as_list::<i32>();
        let ints = |row: usize| {
            list.value(row)
                .as_primitive::<Int32Type>()
                .iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(ints(0), [Some(1), Some(2), Some(3)]);
        assert!(
            list.is_valid(1) && ints(1).is_empty(),
            "{{}} is an empty array, not NULL"
        );
        assert!(list.is_null(2) && list.is_null(3));
        assert_eq!(ints(4), [Some(4), None, Some(5)]);
        assert_eq!(ints(8), [Some(7)]);
        assert_eq!(
            e,
            [
                (5, "element 2: not an integer"),
                (6, "element 2: out of range for integer"),
                (7, "only one-dimensional arrays are supported")
            ]
        );
    }

    #[test]
    fn text_arrays() {
        let fmt = TextFormat::default();
        let values = [
            r#"{a,"b,c",NULL,"NULL","with \"quote\"",""}"#,
            r#"["x", null, "", 1, true]"#,
            "{ok,\"a\u{0}\"}",
        ];
        let (a, e) = run(&array_of(PgType::Text), &fmt, &values);
        let list = a.as_list::<i32>();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            texts(list, 0),
            [
                s("a"),
                s("b,c"),
                None,
                s("NULL"),
                s(r#"with "quote""#),
                s("")
            ]
        );
        assert_eq!(texts(list, 1), [s("x"), None, s(""), s("1"), s("true")]);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].0, e[0].1.to_owned()),
            (2, format!("element 2: {NUL_REASON}"))
        );
    }

    #[test]
    fn varchar_element_errors_report_the_first() {
        let ty = array_of(PgType::Varchar { max_chars: Some(2) });
        let (_, e) = run(
            &ty,
            &TextFormat::default(),
            &["{ab,abc,abcd}", "{a}", "{abc}"],
        );
        let reason = "element 2: longer than 2 characters for character varying(2)";
        assert_eq!(
            e,
            [
                (0, reason),
                (
                    2,
                    "element 1: longer than 2 characters for character varying(2)"
                )
            ]
        );
    }

    #[test]
    fn numeric_arrays_with_decimal_comma() {
        let ty = array_of(PgType::Numeric {
            precision: Some(10),
            scale: Some(2),
        });
        let (a, e) = run(
            &ty,
            &br(),
            &[r#"{"1,5","1.234,56"}"#, "[1.5, 2]", "{1,505}"],
        );
        let list = a.as_list::<i32>();
        let unscaled = |row: usize| {
            list.value(row)
                .as_primitive::<Decimal128Type>()
                .values()
                .to_vec()
        };
        assert_eq!(unscaled(0), [150, 123_456]);
        assert_eq!(unscaled(1), [150, 200]);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            unscaled(2),
            [100, 50_500],
            "unquoted commas delimit elements"
        );
    }

    #[test]
    fn wide_numeric_arrays_pad_and_never_round() {
        let ty = array_of(PgType::Numeric {
            precision: Some(40),
            scale: Some(2),
        });
        let (a, e) = run(&ty, &br(), &[r#"{"1,5",2}"#, r#"{1,"1,005"}"#]);
        let list = a.as_list::<i32>();
        assert_eq!(
            texts(list, 0),
            [Some("1.50".to_owned()), Some("2.00".to_owned())]
        );
        assert_eq!(
            e,
            [(1, "element 2: more than 2 decimal places for numeric(40,2)")]
        );
    }

    #[test]
    fn malformed_rows_keep_other_rows_aligned() {
        let (a, e) = run(
            &array_of(PgType::Int8),
            &TextFormat::default(),
            &["{1", "{2,3}", "nope", "[4]"],
        );
        let list = a.as_list::<i32>();
        assert_eq!(list.value(1).len(), 2);
        assert_eq!(
            list.value(3)
                .as_primitive::<arrow_array::types::Int64Type>()
                .value(0),
            4
        );
        assert_eq!(e[0], (0, "malformed array literal: missing closing brace"));
        assert_eq!(
            e[1],
            (
                2,
                "malformed array literal: expected {a,b,...} or a json array"
            )
        );
    }

    #[test]
    fn arrays_of_dates_and_bools() {
        let (a, e) = run(
            &array_of(PgType::Date),
            &br(),
            &["{01/02/2024,2024-02-01,NULL}", "{31/02/2024}"],
        );
        let list = a.as_list::<i32>();
        assert_eq!(list.value(0).null_count(), 1);
        assert_eq!(
            e,
            [(1, "element 1: no such date (day or month out of range)")]
        );
        let (_, e) = run(
            &array_of(PgType::Bool),
            &br(),
            &["{t,f,sim,não}", "[true, false]"],
        );
        assert!(e.is_empty());
    }
}

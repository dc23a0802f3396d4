//! Typed Arrow columns (Parquet, Avro) to a target column's Arrow type: no round trip
//! through text, except where the source itself is text (then PostgreSQL's parsing rules
//! apply, as for CSV) or where the target is text or JSON.
//!
//! Numeric, binary and list conversions are arrow-cast's; a batch that fails to cast is
//! cast again leniently and its failing rows found one by one, so a value that does not
//! fit (an int64 too large for an integer column, a decimal with too many digits) rejects
//! its row, not the load. Time zones follow PostgreSQL's casts: a timestamp without zone
//! goes into `timestamptz` as local time in the session's zone, and the other way round.

mod temporal;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, StringArray, new_null_array};
use arrow_cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::{ArrowError, DataType, Field};

use crate::coerce::{CellError, Coerced, coerce_column};
use crate::{PgType, TextFormat};

/// Whether a source column of type `from` can be loaded into `ty` at all (checked once,
/// before any row is read).
pub fn castable(from: &DataType, ty: &PgType) -> bool {
    let from = value_type(from);
    if is_text(from) || matches!(from, DataType::Null) {
        return true;
    }
    let to = ty.arrow_type();
    let same_kind = match ty {
        PgType::Json | PgType::Jsonb => return true,
        PgType::Text
        | PgType::Varchar { .. }
        | PgType::Bpchar { .. }
        | PgType::Enum { .. }
        | PgType::Other { .. } => {
            return true; // see to_text: everything has a text form
        }
        PgType::Timestamp | PgType::Timestamptz => return temporal::is_temporal(from),
        // Only what PostgreSQL itself would assign: a boolean is not a number, nor a date.
        PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Float4 | PgType::Float8 => {
            from.is_numeric()
        }
        PgType::Numeric { .. } => from.is_numeric(),
        PgType::Bool => matches!(from, DataType::Boolean),
        PgType::Date => temporal::is_temporal(from),
        PgType::Time => matches!(from, DataType::Time32(_) | DataType::Time64(_)),
        PgType::Uuid => matches!(from, DataType::FixedSizeBinary(16)),
        PgType::Bytea => matches!(
            from,
            DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_)
        ),
        PgType::Array { .. } => matches!(
            from,
            DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(..)
                | DataType::ListView(_)
        ),
    };
    same_kind && can_cast_types(from, &to)
}

/// Converts one source column for the target column `ty`: the array has
/// `ty.arrow_type()`, and a null (with an error) wherever a value did not fit.
pub fn cast_column(array: &dyn Array, ty: &PgType, fmt: &TextFormat) -> Coerced {
    let from = array.data_type();
    if matches!(from, DataType::Null) {
        return Coerced {
            array: new_null_array(&ty.arrow_type(), array.len()),
            errors: Vec::new(),
        };
    }
    if is_text(value_type(from)) {
        return via_text(array, ty, fmt);
    }
    let from = value_type(from);
    match ty {
        PgType::Json | PgType::Jsonb => from_text(&to_json(array), ty, fmt),
        PgType::Text
        | PgType::Varchar { .. }
        | PgType::Bpchar { .. }
        | PgType::Enum { .. }
        | PgType::Other { .. } => via_text(array, ty, fmt),
        // Numbers that would need rounding are refused, as in text (see coerce::decimal):
        // a float goes by its shortest exact spelling, a decimal with more scale by its
        // digits; an unconstrained numeric keeps what it is given.
        PgType::Numeric { .. }
            if ty.arrow_type() == DataType::Utf8
                || is_float(from)
                || matches!((from, ty.arrow_type()),
                    (DataType::Decimal128(_, s) | DataType::Decimal256(_, s), DataType::Decimal128(_, t)) if s > &t) =>
        {
            via_text(array, ty, fmt)
        }
        // A fraction is never cut off to make an integer.
        PgType::Int2 | PgType::Int4 | PgType::Int8 if is_float(from) || is_decimal(from) => {
            whole_numbers(array, ty)
        }
        PgType::Timestamp | PgType::Timestamptz => {
            let target_has_zone = matches!(ty, PgType::Timestamptz);
            with_rejects(array, ty, |a| {
                temporal::to_timestamp(a, target_has_zone, fmt.timezone)
            })
        }
        // An instant's date is the one in the session's zone, as PostgreSQL casts it.
        PgType::Date if matches!(from, DataType::Timestamp(_, Some(_))) => {
            with_rejects(array, ty, |a| {
                let local = temporal::to_timestamp(a, false, fmt.timezone)?;
                cast_with_options(local.as_ref(), &DataType::Date32, &strict())
            })
        }
        _ => {
            let to = ty.arrow_type();
            with_rejects(array, ty, |a| cast_with_options(a, &to, &strict()))
        }
    }
}

fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

fn is_decimal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
    )
}

/// Values as text (see [`to_text`]), then through the same parsers as CSV.
fn via_text(array: &dyn Array, ty: &PgType, fmt: &TextFormat) -> Coerced {
    let (text, mut failed) = to_text(array);
    let mut coerced = from_text(&text, ty, fmt);
    if !failed.is_empty() {
        // Rows that had no text are nulls to the parser: their own errors stand.
        failed.extend(coerced.errors);
        failed.sort_by_key(|e| e.row);
        coerced.errors = failed;
    }
    coerced
}

/// Floats and decimals into an integer column: values with a fraction are refused.
fn whole_numbers(array: &dyn Array, ty: &PgType) -> Coerced {
    let as_f64 = cast_with_options(array, &DataType::Float64, &CastOptions::default());
    let mut errors = Vec::new();
    let mut fraction = vec![false; array.len()];
    if let Ok(values) = &as_f64 {
        let values = values.as_primitive::<arrow_array::types::Float64Type>();
        for (row, f) in fraction.iter_mut().enumerate() {
            if values.is_valid(row) && values.value(row).fract() != 0.0 {
                *f = true;
                errors.push(CellError {
                    row,
                    reason: format!("has a fractional part; {ty} holds whole numbers only"),
                });
            }
        }
    }
    let to = ty.arrow_type();
    let kept = match arrow_select::nullif::nullif(array, &BooleanArray::from(fraction)) {
        Ok(kept) => kept,
        Err(e) => return all_failed(array, ty, &e.to_string()),
    };
    let mut coerced = with_rejects(kept.as_ref(), ty, |a| cast_with_options(a, &to, &strict()));
    errors.extend(coerced.errors);
    errors.sort_by_key(|e| e.row);
    coerced.errors = errors;
    coerced
}

/// The values' type, under a dictionary.
fn value_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, v) => v,
        t => t,
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Text through the same parsers as CSV; only a null in the source is NULL.
fn from_text(text: &StringArray, ty: &PgType, fmt: &TextFormat) -> Coerced {
    if fmt.null.is_none() {
        return coerce_column(text, ty, fmt);
    }
    let fmt = TextFormat {
        null: None,
        ..fmt.clone()
    };
    coerce_column(text, ty, &fmt)
}

/// The column as text, with the rows that have none: strings as they are, nested values
/// as JSON, binary values as PostgreSQL prints bytea (`\x0aff`), floats by their shortest
/// exact spelling, anything else as arrow-cast prints it. A value that cannot be printed
/// (invalid UTF-8 in a binary-typed string) is a row error, never a silent NULL.
fn to_text(array: &dyn Array) -> (StringArray, Vec<CellError>) {
    let from = value_type(array.data_type());
    if matches!(
        from,
        DataType::Struct(_)
            | DataType::Map(..)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::ListView(_)
    ) {
        return (to_json(array), Vec::new());
    }
    if matches!(
        from,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    ) && let Ok(bin) = cast_with_options(array, &DataType::LargeBinary, &strict())
    {
        {
            let bin = bin.as_binary::<i64>();
            let text: StringArray = bin
                .iter()
                .map(|v| {
                    v.map(|b| {
                        let mut s = String::with_capacity(2 + 2 * b.len());
                        s.push_str("\\x");
                        for byte in b {
                            s.push_str(&format!("{byte:02x}"));
                        }
                        s
                    })
                })
                .collect();
            return (text, Vec::new());
        }
    }
    let errors = Vec::new();
    match cast_with_options(array, &DataType::Utf8, &strict()) {
        Ok(text) => (text.as_string::<i32>().clone(), errors),
        Err(_) => {
            // Row by row: the values that cannot be printed are refused.
            let mut errors = errors;
            let mut out = arrow_array::builder::StringBuilder::new();
            for row in 0..array.len() {
                if array.is_null(row) {
                    out.append_null();
                    continue;
                }
                match cast_with_options(&array.slice(row, 1), &DataType::Utf8, &strict()) {
                    Ok(v) => out.append_option(v.as_string::<i32>().iter().next().flatten()),
                    Err(e) => {
                        out.append_null();
                        errors.push(CellError {
                            row,
                            reason: format!("cannot be read as text: {e}"),
                        });
                    }
                }
            }
            (out.finish(), errors)
        }
    }
}

/// Each value as JSON text: structs as objects, lists as arrays, maps as objects.
fn to_json(array: &dyn Array) -> StringArray {
    let field = Arc::new(Field::new("value", array.data_type().clone(), true));
    let options = arrow_json::writer::EncoderOptions::default().with_explicit_nulls(true);
    let Ok(mut encoder) = arrow_json::writer::make_encoder(&field, array, &options) else {
        return new_null_array(&DataType::Utf8, array.len())
            .as_string::<i32>()
            .clone();
    };
    let mut out = arrow_array::builder::StringBuilder::new();
    let mut buf = Vec::new();
    for i in 0..array.len() {
        if array.is_null(i) || encoder.is_null(i) {
            out.append_null();
            continue;
        }
        buf.clear();
        encoder.encode(i, &mut buf);
        out.append_value(String::from_utf8_lossy(&buf));
    }
    out.finish()
}

/// Casts the whole column; when that fails, finds the rows that fail on their own,
/// rejects them, and casts the rest with those rows set to null.
fn with_rejects(
    array: &dyn Array,
    ty: &PgType,
    cast: impl Fn(&dyn Array) -> Result<ArrayRef, ArrowError>,
) -> Coerced {
    if let Ok(array) = cast(array) {
        return Coerced {
            array,
            errors: Vec::new(),
        };
    }
    let mut errors = Vec::new();
    let mut failed = vec![false; array.len()];
    for (row, bad) in failed.iter_mut().enumerate() {
        if array.is_valid(row)
            && let Err(e) = cast(&array.slice(row, 1))
        {
            *bad = true;
            errors.push(CellError {
                row,
                reason: reason(&e, ty),
            });
        }
    }
    let rest = arrow_select::nullif::nullif(array, &BooleanArray::from(failed));
    match rest.and_then(|rest| cast(&rest)) {
        Ok(array) => Coerced { array, errors },
        Err(e) => all_failed(array, ty, &e.to_string()),
    }
}

/// Every non-null value refused, for the same reason.
fn all_failed(array: &dyn Array, ty: &PgType, why: &str) -> Coerced {
    let errors = (0..array.len())
        .filter(|&row| array.is_valid(row))
        .map(|row| CellError {
            row,
            reason: format!("does not fit {ty}: {why}"),
        })
        .collect();
    Coerced {
        array: new_null_array(&ty.arrow_type(), array.len()),
        errors,
    }
}

fn reason(e: &arrow_schema::ArrowError, ty: &PgType) -> String {
    let msg = e.to_string();
    let msg = msg
        .strip_prefix("Cast error: ")
        .or_else(|| msg.strip_prefix("Invalid argument error: "))
        .or_else(|| msg.strip_prefix("Compute error: "))
        .unwrap_or(&msg);
    format!("does not fit {ty}: {msg}")
}

#[cfg(test)]
mod tests;

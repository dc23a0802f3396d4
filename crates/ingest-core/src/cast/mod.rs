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
        PgType::Text | PgType::Varchar { .. } | PgType::Bpchar { .. } | PgType::Enum { .. } => {
            return true;
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
        return from_text(&to_utf8(array), ty, fmt);
    }
    match ty {
        PgType::Json | PgType::Jsonb => from_text(&to_json(array), ty, fmt),
        PgType::Text | PgType::Varchar { .. } | PgType::Bpchar { .. } | PgType::Enum { .. } => {
            from_text(&to_utf8(array), ty, fmt)
        }
        PgType::Numeric { .. } if ty.arrow_type() == DataType::Utf8 => {
            from_text(&to_utf8(array), ty, fmt)
        }
        PgType::Timestamp | PgType::Timestamptz => {
            let target_has_zone = matches!(ty, PgType::Timestamptz);
            with_rejects(array, ty, |a| {
                temporal::to_timestamp(a, target_has_zone, fmt.timezone)
            })
        }
        _ => {
            let to = ty.arrow_type();
            let strict = CastOptions {
                safe: false,
                ..Default::default()
            };
            with_rejects(array, ty, |a| cast_with_options(a, &to, &strict))
        }
    }
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

/// The column as `StringArray`: strings as they are, other values as arrow-cast prints them.
fn to_utf8(array: &dyn Array) -> StringArray {
    let options = CastOptions {
        safe: true,
        ..Default::default()
    };
    let text = cast_with_options(array, &DataType::Utf8, &options)
        .unwrap_or_else(|_| new_null_array(&DataType::Utf8, array.len()));
    text.as_string::<i32>().clone()
}

/// Each value as JSON text: structs as objects, lists as arrays, maps as objects.
fn to_json(array: &dyn Array) -> StringArray {
    let field = Arc::new(Field::new("value", array.data_type().clone(), true));
    let options = arrow_json::writer::EncoderOptions::default().with_explicit_nulls(true);
    let Ok(mut encoder) = arrow_json::writer::make_encoder(&field, array, &options) else {
        return to_utf8(array);
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

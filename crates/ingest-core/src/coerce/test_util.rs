//! Helpers for the submodules' tests.

use arrow_array::{Array, ArrayRef, StringArray};

use super::coerce_column;
use crate::{PgType, TextFormat};

/// Coerces `values` (`"\u{1}NULL"` stands for a null in the input array) and returns the
/// array and the errors as `(row, reason)`, reasons leaked to compare with literals.
pub(super) fn run(
    ty: &PgType,
    fmt: &TextFormat,
    values: &[&str],
) -> (ArrayRef, Vec<(usize, &'static str)>) {
    let raw: StringArray = values.iter().map(|v| (*v != NULL).then_some(*v)).collect();
    let out = coerce_column(&raw, ty, fmt);
    assert_eq!(out.array.len(), values.len());
    assert_eq!(out.array.data_type(), &ty.arrow_type());
    for e in &out.errors {
        assert!(
            out.array.is_null(e.row),
            "refused row {} must be null",
            e.row
        );
    }
    assert!(
        out.errors.windows(2).all(|w| w[0].row < w[1].row),
        "errors in row order, one per row"
    );
    let errors = out
        .errors
        .into_iter()
        .map(|e| (e.row, &*Box::leak(e.reason.into_boxed_str())))
        .collect();
    (out.array, errors)
}

/// Coerces a single value: the reason it is refused, or the array.
pub(super) fn one(ty: &PgType, fmt: &TextFormat, value: &str) -> Result<ArrayRef, &'static str> {
    let (array, errors) = run(ty, fmt, &[value]);
    match errors.first() {
        Some((_, reason)) => Err(reason),
        None => Ok(array),
    }
}

/// Marks a null in the input of [`run`].
pub(super) const NULL: &str = "\u{1}NULL";

/// The Brazilian profile.
pub(super) fn br() -> TextFormat {
    TextFormat::pt_br()
}

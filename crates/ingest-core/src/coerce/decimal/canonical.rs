//! The text path: any `numeric` Arrow's `Decimal128` cannot hold, as canonical text.

use std::fmt::Write;

use arrow_array::Array;
use arrow_array::builder::StringBuilder;

use super::{Misfit, Reading, Reasons, read};
use crate::PgType;
use crate::coerce::number::Syntax;
use crate::coerce::{CellError, Cells};

/// PostgreSQL's limits on digits before and after the decimal point of a `numeric`.
const MAX_INT_DIGITS: i64 = 131_072;
const MAX_SCALE: i64 = 16_383;

/// A constrained `numeric(p,s)` on the text path: its limits and messages.
pub(super) struct Bounds {
    precision: i64,
    scale: i64,
    reasons: Reasons,
}

impl Bounds {
    /// `None` for an unconstrained `numeric` (and for types that are not `numeric`).
    pub(super) fn of(ty: &PgType) -> Option<Bounds> {
        let PgType::Numeric {
            precision: Some(p),
            scale,
        } = ty
        else {
            return None;
        };
        let (precision, scale) = (i64::from(*p), i64::from(scale.unwrap_or(0)));
        Some(Bounds {
            precision,
            scale,
            reasons: Reasons::new(ty, precision, scale),
        })
    }

    /// Checks the digits of a number whose decimal point is before `digits[point]` (the
    /// digit at index `k` weighs `10^(point-1-k)`). The scale is checked first.
    fn check(&self, digits: &[u8], point: i64) -> Result<(), Misfit> {
        // Digits weighing less than 10^-scale must be zeros: they are dropped, never rounded.
        let cut = usize::try_from(point + self.scale).unwrap_or(0);
        if digits
            .get(cut..)
            .is_some_and(|rest| rest.iter().any(|&d| d != 0))
        {
            return Err(Misfit::Scale);
        }
        // The absolute value must be below 10^(p-s): the leading digit weighs 10^(p-s-1) at most.
        match digits.iter().position(|&d| d != 0) {
            Some(first) if point - first as i64 > self.precision - self.scale => {
                Err(Misfit::Precision)
            }
            _ => Ok(()),
        }
    }
}

/// `numeric` as canonical text, built in one pass with no per-value allocation; `bounds`
/// for a constrained `numeric(p,s)`.
pub(super) fn canonical_column(
    cells: Cells,
    syntax: &Syntax,
    bounds: Option<&Bounds>,
    errors: &mut Vec<CellError>,
) -> arrow_array::StringArray {
    let raw = cells.raw;
    let mut out = StringBuilder::with_capacity(raw.len(), raw.value_data().len());
    let mut digits = Vec::new();
    for row in 0..cells.len() {
        let Some(text) = cells.get(row) else {
            out.append_null();
            continue;
        };
        match write_canonical(text, syntax, bounds, &mut digits, &mut out) {
            Ok(()) => out.append_value(""),
            Err(reason) => {
                errors.push(CellError { row, reason });
                out.append_null();
            }
        }
    }
    out.finish()
}

/// Writes the canonical form of `text` into the builder's current value (nothing on error).
fn write_canonical(
    text: &str,
    syntax: &Syntax,
    bounds: Option<&Bounds>,
    digits: &mut Vec<u8>,
    out: &mut StringBuilder,
) -> Result<(), String> {
    let lexed = match read(text, syntax)? {
        Reading::Number(lexed) => lexed,
        Reading::NaN => {
            if let Some(bounds) = bounds {
                return Err(bounds.reasons.nan.clone());
            }
            out.write_str("NaN").expect("writing to a builder");
            return Ok(());
        }
    };
    digits.clear();
    digits.extend(lexed.digits());
    let point = lexed.int_digits as i64 + lexed.exp;
    let scale = match bounds {
        Some(bounds) => {
            bounds
                .check(digits, point)
                .map_err(|e| bounds.reasons.of(e))?;
            bounds.scale.max(0)
        }
        None => (lexed.frac.len() as i64 - lexed.exp).max(0),
    };
    let digit = |k: i64| {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k))
            .copied()
            .unwrap_or(0)
    };
    let first_significant = (0..point).find(|&k| digit(k) != 0).unwrap_or(point.max(0));
    if point - first_significant > MAX_INT_DIGITS || scale > MAX_SCALE {
        return Err("out of range for numeric".to_owned());
    }
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut flush = |b: u8, out: &mut StringBuilder| {
        buf[len] = b;
        len += 1;
        if len == buf.len() {
            out.write_str(std::str::from_utf8(&buf).expect("ascii"))
                .expect("writing to a builder");
            len = 0;
        }
    };
    if lexed.negative && digits.iter().any(|&d| d != 0) {
        flush(b'-', out);
    }
    if first_significant >= point {
        flush(b'0', out);
    }
    for k in first_significant..point {
        flush(b'0' + digit(k), out);
    }
    // Digits beyond the written ones are zeros: padding up to a constrained scale.
    if scale > 0 {
        flush(b'.', out);
        for k in point..point + scale {
            flush(b'0' + digit(k), out);
        }
    }
    out.write_str(std::str::from_utf8(&buf[..len]).expect("ascii"))
        .expect("writing to a builder");
    Ok(())
}

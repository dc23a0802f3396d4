//! `numeric`: never rounds. A constrained `numeric(p,s)` refuses a value needing more than
//! `s` decimal places (other than trailing zeros; with a negative `s`, a value that is not a
//! multiple of `10^-s`) or more than `p - s` integer digits.
//!
//! `numeric(p,s)` that Arrow's `Decimal128` can hold (`p <= 38`, see `PgType::arrow_type`)
//! becomes `Decimal128(p,s)` holding the unscaled value. Any other `numeric` becomes
//! canonical text, `[-]digits[.digits]` or `NaN`: with exactly `s` decimal places for a
//! constrained `numeric(p,s)` (none when `s <= 0`), so that PostgreSQL's `numeric_recv` has
//! nothing to round, or with the scale as written for an unconstrained `numeric`.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::types::Decimal128Type;

use super::number::{Lexed, Special, Syntax, lex, special};
use super::{CellError, Cells, primitive, trim_space};
use crate::{PgType, TextFormat};

mod canonical;
mod unscaled;

#[cfg(test)]
mod tests;

use canonical::{Bounds, canonical_column};
use unscaled::to_unscaled;

/// PostgreSQL refuses exponents beyond this (`NUMERIC_MAX_PRECISION`).
const MAX_EXPONENT: i64 = 1000;

const NOT_A_NUMBER: &str = "not a number";
const BAD_EXPONENT: &str = "not a number (exponent beyond ±1000)";
const INFINITY: &str = "infinity is not supported for numeric";

pub(super) fn coerce(
    cells: Cells,
    ty: &PgType,
    fmt: &TextFormat,
    errors: &mut Vec<CellError>,
) -> ArrayRef {
    let syntax = Syntax::new(fmt);
    match ty.arrow_type() {
        arrow_schema::DataType::Decimal128(p, s) => {
            let reasons = Reasons::new(ty, p.into(), s.into());
            let array =
                primitive::<Decimal128Type>(cells, errors, |text| match read(text, &syntax)? {
                    Reading::NaN => Err(reasons.nan.clone()),
                    Reading::Number(lexed) => to_unscaled(&lexed, p, s).map_err(|e| reasons.of(e)),
                });
            Arc::new(array.with_data_type(ty.arrow_type()))
        }
        _ => {
            let bounds = Bounds::of(ty);
            Arc::new(canonical_column(cells, &syntax, bounds.as_ref(), errors))
        }
    }
}

/// What a `numeric` value's text reads as, before the column's bounds are applied.
enum Reading<'a> {
    NaN,
    /// A finite number whose exponent PostgreSQL accepts.
    Number(Lexed<'a>),
}

/// The reading both paths share: trims `text` and refuses infinities, text that is not a
/// number and exponents beyond ±`MAX_EXPONENT`.
fn read<'a>(text: &'a str, syntax: &Syntax) -> Result<Reading<'a>, &'static str> {
    let text = trim_space(text);
    match special(text) {
        Some(Special::NaN) => return Ok(Reading::NaN),
        Some(Special::Infinity | Special::NegInfinity) => return Err(INFINITY),
        None => {}
    }
    let lexed = lex(text, syntax).ok_or(NOT_A_NUMBER)?;
    if lexed.exp.abs() > MAX_EXPONENT {
        return Err(BAD_EXPONENT);
    }
    Ok(Reading::Number(lexed))
}

/// Why a number does not fit `numeric(p,s)`.
#[derive(Debug, PartialEq)]
pub(super) enum Misfit {
    /// Nonzero digits beyond the scale: storing it would round.
    Scale,
    /// More significant digits than the precision allows.
    Precision,
}

/// The messages of one column's misfits, built once.
struct Reasons {
    scale: String,
    precision: String,
    nan: String,
}

impl Reasons {
    fn new(ty: &PgType, p: i64, s: i64) -> Reasons {
        let scale = match s {
            0 => format!("decimal places not allowed for {ty}"),
            s if s > 0 => format!("more than {s} decimal places for {ty}"),
            s => format!(
                "not a multiple of 1{} for {ty}",
                "0".repeat(s.unsigned_abs() as usize)
            ),
        };
        let before = p - s;
        let precision = if before > 0 {
            format!("too many digits for {ty} (at most {before} before the decimal point)")
        } else {
            let limit = match before.unsigned_abs() as usize {
                0 => "1".to_owned(),
                zeros => format!("0.{}1", "0".repeat(zeros - 1)),
            };
            format!("too many digits for {ty} (absolute value must be below {limit})")
        };
        let nan = format!("nan is not supported for {ty}, only for unconstrained numeric");
        Reasons {
            scale,
            precision,
            nan,
        }
    }

    fn of(&self, misfit: Misfit) -> String {
        match misfit {
            Misfit::Scale => self.scale.clone(),
            Misfit::Precision => self.precision.clone(),
        }
    }
}

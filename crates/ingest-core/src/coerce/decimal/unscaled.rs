//! The `Decimal128` path: `numeric(p,s)` with `p <= 38` as an exact unscaled `i128`.

use super::{MAX_EXPONENT, Misfit};
use crate::coerce::number::Lexed;

/// The unscaled `i128` of `lexed` (from `read`: its exponent is within ±`MAX_EXPONENT`) in
/// `numeric(p,s)`, `p <= 38`; exact or refused.
pub(super) fn to_unscaled(lexed: &Lexed, p: u8, s: i8) -> Result<i128, Misfit> {
    debug_assert!(lexed.exp.abs() <= MAX_EXPONENT);
    let max = 10i128.pow(u32::from(p)) - 1;
    // Fraction digits as written once the exponent is applied (negative: a power of ten).
    let written_scale = lexed.frac.len() as i64 - lexed.exp;
    let scale = i64::from(s);
    let total = lexed.digit_count();
    // Trailing digits beyond the scale: they must all be zero.
    let dropped = usize::try_from(written_scale - scale)
        .unwrap_or(0)
        .min(total);
    let kept = total - dropped;
    let mut unscaled: i128 = 0;
    let mut too_big = false;
    for (i, d) in lexed.digits().enumerate() {
        if i >= kept {
            if d != 0 {
                return Err(Misfit::Scale);
            }
        } else if !too_big {
            // Up to 10^38 - 1 so far: ten times that overflows an i128.
            match unscaled
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d)))
            {
                Some(v) if v <= max => unscaled = v,
                _ => too_big = true,
            }
        }
    }
    if too_big {
        return Err(Misfit::Precision);
    }
    if scale > written_scale && unscaled != 0 {
        let factor = u32::try_from(scale - written_scale)
            .ok()
            .and_then(|k| 10i128.checked_pow(k));
        unscaled = factor
            .and_then(|f| unscaled.checked_mul(f))
            .filter(|v| *v <= max)
            .ok_or(Misfit::Precision)?;
    }
    Ok(if lexed.negative { -unscaled } else { unscaled })
}

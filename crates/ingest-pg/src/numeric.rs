//! PostgreSQL's binary `numeric`: base-10000 digits with a weight, a sign and a display
//! scale. Written by hand because no maintained crate encodes it from Arrow decimals
//! without going through a float or a string per value.

use bytes::{BufMut, BytesMut};

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// Writes the value body (no length prefix) of `unscaled * 10^-scale`, allocating nothing.
pub(crate) fn put_decimal(buf: &mut BytesMut, unscaled: i128, scale: i8) {
    let mut text = [0u8; 40];
    let mut start = text.len();
    let mut rest = unscaled.unsigned_abs();
    loop {
        start -= 1;
        text[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let digits = &text[start..];
    let view = if scale <= 0 {
        // A negative scale: the value is the digits followed by |scale| zeros.
        let zeros = if unscaled == 0 {
            0
        } else {
            scale.unsigned_abs() as usize
        };
        Digits {
            int: digits,
            int_zeros: zeros,
            frac_zeros: 0,
            frac: b"",
        }
    } else if digits.len() > scale as usize {
        let (int, frac) = digits.split_at(digits.len() - scale as usize);
        Digits {
            int,
            int_zeros: 0,
            frac_zeros: 0,
            frac,
        }
    } else {
        let frac_zeros = scale as usize - digits.len();
        Digits {
            int: b"",
            int_zeros: 0,
            frac_zeros,
            frac: digits,
        }
    };
    view.put(buf, unscaled < 0, scale.max(0) as u16);
}

/// Writes the value body of a canonical decimal string (`-123.4500`, `NaN`): an optional
/// `-`, ASCII digits, an optional `.` and digits.
pub(crate) fn put_decimal_text(buf: &mut BytesMut, text: &str) {
    if text == "NaN" {
        buf.put_u16(0);
        buf.put_i16(0);
        buf.put_u16(NUMERIC_NAN);
        buf.put_u16(0);
        return;
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let view = Digits {
        int: int.as_bytes(),
        int_zeros: 0,
        frac_zeros: 0,
        frac: frac.as_bytes(),
    };
    view.put(buf, negative, frac.len() as u16);
}

/// A decimal number as ASCII digits: `int`, then `int_zeros` zeros, the point, then
/// `frac_zeros` zeros and `frac`. Lets both paths be read digit by digit in place.
struct Digits<'a> {
    int: &'a [u8],
    int_zeros: usize,
    frac_zeros: usize,
    frac: &'a [u8],
}

impl Digits<'_> {
    /// The digit at decimal power `p` (0 is the units).
    fn digit(&self, p: i64) -> i16 {
        let d = if p >= 0 {
            let from_right = p as usize;
            match from_right.checked_sub(self.int_zeros) {
                Some(i) if i < self.int.len() => self.int[self.int.len() - 1 - i],
                _ => b'0',
            }
        } else {
            let i = (-p - 1) as usize;
            match i.checked_sub(self.frac_zeros) {
                Some(j) if j < self.frac.len() => self.frac[j],
                _ => b'0',
            }
        };
        (d - b'0') as i16
    }

    /// The base-10000 digit `g` (powers 4g..4g+3).
    fn group(&self, g: i64) -> i16 {
        (0..4)
            .rev()
            .fold(0, |acc, k| acc * 10 + self.digit(4 * g + k))
    }

    /// Writes ndigits, weight, sign, dscale and the groups, without the zero groups
    /// PostgreSQL does not store at either end.
    fn put(&self, buf: &mut BytesMut, negative: bool, dscale: u16) {
        let top = (self.int.len() + self.int_zeros) as i64 - 1;
        let bottom = -((self.frac_zeros + self.frac.len()) as i64);
        let (hi, lo) = (top.div_euclid(4), bottom.div_euclid(4));
        let first = (lo..=hi).rev().find(|&g| self.group(g) != 0);
        let Some(first) = first else {
            buf.put_u16(0);
            buf.put_i16(0);
            buf.put_u16(NUMERIC_POS);
            buf.put_u16(dscale);
            return;
        };
        let last = (lo..=first).find(|&g| self.group(g) != 0).unwrap_or(first);
        buf.put_u16((first - last + 1) as u16);
        buf.put_i16(first as i16);
        buf.put_u16(if negative { NUMERIC_NEG } else { NUMERIC_POS });
        buf.put_u16(dscale);
        for g in (last..=first).rev() {
            buf.put_i16(self.group(g));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(unscaled: i128, scale: i8) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_decimal(&mut b, unscaled, scale);
        b.to_vec()
    }

    fn words(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn encodes_like_numeric_send() {
        // Expected bytes come from `select numeric_send('…')` on PostgreSQL 15.
        assert_eq!(enc(123456, 2), words(&[2, 0, 0, 2, 1234, 5600])); // 1234.56
        assert_eq!(enc(-5, 2), words(&[1, -1, 0x4000, 2, 500])); // -0.05
        assert_eq!(enc(0, 2), words(&[0, 0, 0, 2])); // 0.00
        assert_eq!(enc(100000000, 0), words(&[1, 2, 0, 0, 1])); // 100000000
        assert_eq!(enc(12345, -2), words(&[2, 1, 0, 0, 123, 4500])); // 1234500
    }

    #[test]
    fn text_and_decimal_paths_agree() {
        let mut a = BytesMut::new();
        put_decimal_text(&mut a, "-1234.5600");
        assert_eq!(a.to_vec(), enc(-12345600, 4));
        let mut n = BytesMut::new();
        put_decimal_text(&mut n, "NaN");
        assert_eq!(n.to_vec(), words(&[0, 0, -16384, 0]));
    }

    /// `unscaled * 10^-scale` written the way a person would: digits, point, fraction.
    fn as_text(unscaled: i128, scale: i8) -> String {
        let digits = unscaled.unsigned_abs().to_string();
        let sign = if unscaled < 0 { "-" } else { "" };
        if scale <= 0 {
            let zeros = if unscaled == 0 {
                0
            } else {
                scale.unsigned_abs() as usize
            };
            return format!("{sign}{digits}{}", "0".repeat(zeros));
        }
        let s = scale as usize;
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        format!("{sign}{int}.{frac}")
    }

    proptest::proptest! {
        #[test]
        fn decimal_and_text_paths_encode_alike(unscaled in proptest::num::i128::ANY, scale in -20i8..=38) {
            let unscaled = unscaled % 10i128.pow(38);
            let mut text = BytesMut::new();
            put_decimal_text(&mut text, &as_text(unscaled, scale));
            // A negative scale has no fraction to show: dscale 0 on both paths.
            proptest::prop_assert_eq!(enc(unscaled, scale), text.to_vec());
        }
    }
}

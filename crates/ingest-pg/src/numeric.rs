//! PostgreSQL's binary `numeric`: base-10000 digits with a weight, a sign and a display
//! scale. Written by hand because no maintained crate encodes it from Arrow decimals
//! without going through a float or a string per value.

use bytes::{BufMut, BytesMut};

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// Writes the value body (no length prefix) of `unscaled * 10^-scale`.
pub fn put_decimal(buf: &mut BytesMut, unscaled: i128, scale: i8) {
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    if scale <= 0 {
        // Negative scale: the value is unscaled * 10^|scale|, an integer.
        let mut int = digits;
        if unscaled != 0 {
            int.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
        }
        put_digits(buf, negative, int.as_bytes(), b"", 0);
    } else {
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (int, frac) = padded.as_bytes().split_at(padded.len() - scale);
        put_digits(buf, negative, int, frac, scale as u16);
    }
}

/// Writes the value body of a canonical decimal string (`-123.4500`, `NaN`): an optional
/// `-`, ASCII digits, an optional `.` and digits.
pub fn put_decimal_text(buf: &mut BytesMut, text: &str) {
    if text == "NaN" {
        buf.put_u16(0);
        buf.put_i16(0);
        buf.put_u16(NUMERIC_NAN);
        buf.put_u16(0);
        return;
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    put_digits(
        buf,
        negative,
        int.as_bytes(),
        frac.as_bytes(),
        frac.len() as u16,
    );
}

/// `int` and `frac` are ASCII digits of the integer and fractional parts.
fn put_digits(buf: &mut BytesMut, negative: bool, int: &[u8], frac: &[u8], dscale: u16) {
    let int = trim_leading_zeros(int);
    // Base-10000 groups: the integer part aligned on its right end, the fraction on its left.
    let int_groups = int.len().div_ceil(4);
    let frac_groups = frac.len().div_ceil(4);
    let mut groups: Vec<i16> = Vec::with_capacity(int_groups + frac_groups);
    let lead = int.len() % 4;
    let mut pos = 0;
    if lead != 0 {
        groups.push(to_group(&int[..lead]));
        pos = lead;
    }
    while pos < int.len() {
        groups.push(to_group(&int[pos..pos + 4]));
        pos += 4;
    }
    for chunk in frac.chunks(4) {
        let mut g = to_group(chunk);
        for _ in chunk.len()..4 {
            g *= 10;
        }
        groups.push(g);
    }
    let mut weight = int_groups as i16 - 1;
    // Strip leading and trailing zero groups: PostgreSQL stores neither.
    let first = groups.iter().position(|&g| g != 0);
    let (groups, sign) = match first {
        None => (&groups[..0], NUMERIC_POS),
        Some(first) => {
            weight -= first as i16;
            let last = groups.iter().rposition(|&g| g != 0).unwrap_or(first);
            (
                &groups[first..=last],
                if negative { NUMERIC_NEG } else { NUMERIC_POS },
            )
        }
    };
    if groups.is_empty() {
        weight = 0;
    }
    buf.put_u16(groups.len() as u16);
    buf.put_i16(weight);
    buf.put_u16(sign);
    buf.put_u16(dscale);
    for &g in groups {
        buf.put_i16(g);
    }
}

fn trim_leading_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

fn to_group(digits: &[u8]) -> i16 {
    digits
        .iter()
        .fold(0i16, |acc, d| acc * 10 + (d - b'0') as i16)
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
}

//! The lexical side of numbers shared by integers, `numeric` and floats: an optional sign,
//! digits with optional thousands separators (only between proper groups of three), one
//! decimal separator and an optional exponent.

use crate::TextFormat;

/// A thousands separator, as UTF-8 bytes (it may be a non-ASCII char such as U+00A0).
#[derive(Clone, Copy)]
pub(super) struct Sep {
    bytes: [u8; 4],
    len: usize,
}

impl Sep {
    /// `None` for separators that cannot work: digits, signs and exponent letters.
    pub(super) fn new(c: char) -> Option<Sep> {
        if c.is_ascii_digit() || matches!(c, '+' | '-' | 'e' | 'E') {
            return None;
        }
        let mut bytes = [0; 4];
        let len = c.encode_utf8(&mut bytes).len();
        Some(Sep { bytes, len })
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Separators of non-integer numbers in one text format.
#[derive(Clone, Copy)]
pub(super) struct Syntax {
    pub(super) decimal: u8,
    /// Dropped when equal to the decimal separator: `1.5` cannot be read both ways.
    pub(super) thousands: Option<Sep>,
}

impl Syntax {
    pub(super) fn new(fmt: &TextFormat) -> Syntax {
        let decimal = if fmt.decimal_comma { b',' } else { b'.' };
        let thousands = fmt
            .thousands
            .filter(|&c| c != decimal as char)
            .and_then(Sep::new);
        Syntax { decimal, thousands }
    }
}

/// A special value of `real`, `double precision` and `numeric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    NaN,
    Infinity,
    NegInfinity,
}

/// PostgreSQL's spellings of the special values, in any case: `NaN` (unsigned), `Infinity`
/// and `inf` with an optional sign. `text` is already trimmed.
pub(super) fn special(text: &str) -> Option<Special> {
    if text.eq_ignore_ascii_case("nan") {
        return Some(Special::NaN);
    }
    let (negative, unsigned) = split_sign(text.as_bytes());
    if !(unsigned.eq_ignore_ascii_case(b"infinity") || unsigned.eq_ignore_ascii_case(b"inf")) {
        return None;
    }
    Some(if negative {
        Special::NegInfinity
    } else {
        Special::Infinity
    })
}

/// Splits a leading `+` or `-` off.
pub(super) fn split_sign(s: &[u8]) -> (bool, &[u8]) {
    match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// Scans the integer part at the start of `s`: digits, or with `sep` groups like
/// `1.234.567` (a first group of 1 to 3 digits not starting with 0, then groups of exactly 3).
/// Returns the bytes consumed and the digits among them; `None` when a separator is misplaced.
pub(super) fn scan_int_part(s: &[u8], sep: Option<Sep>) -> Option<(usize, usize)> {
    let first = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(sep) = sep else {
        return Some((first, first));
    };
    let sep = sep.as_bytes();
    if !s[first..].starts_with(sep) {
        return Some((first, first));
    }
    if first == 0 {
        // Nothing to group: the caller sees a separator where it expects a digit.
        return Some((0, 0));
    }
    if first > 3 || s[0] == b'0' {
        return None;
    }
    let (mut at, mut digits) = (first, first);
    while s[at..].starts_with(sep) {
        let group = at + sep.len();
        let is_group = s.len() >= group + 3
            && s[group..group + 3].iter().all(u8::is_ascii_digit)
            && !s.get(group + 3).is_some_and(u8::is_ascii_digit);
        if !is_group {
            return None;
        }
        at = group + 3;
        digits += 3;
    }
    Some((at, digits))
}

/// A number split into its parts, borrowed from the text.
pub(super) struct Lexed<'a> {
    pub(super) negative: bool,
    /// Integer-part digits, with thousands separators still in place.
    int: &'a [u8],
    pub(super) int_digits: usize,
    /// Fraction digits.
    pub(super) frac: &'a [u8],
    /// The exponent, saturated at ±`EXP_LIMIT`.
    pub(super) exp: i64,
    /// Whether thousands separators occur (the text is then not Rust float syntax).
    pub(super) has_separators: bool,
}

/// Exponents are saturated here; far beyond any type's range.
const EXP_LIMIT: i64 = 1_000_000_000;

impl Lexed<'_> {
    /// All digits, integer part then fraction, as values 0-9.
    pub(super) fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        let int = self.int.iter().filter(|b| b.is_ascii_digit());
        int.chain(self.frac.iter()).map(|b| b - b'0')
    }

    pub(super) fn digit_count(&self) -> usize {
        self.int_digits + self.frac.len()
    }

    pub(super) fn is_zero(&self) -> bool {
        self.digits().all(|d| d == 0)
    }
}

/// Lexes an already trimmed number: `[+-]digits[.digits][e[+-]digits]`, with at least one
/// digit around the decimal separator (`.5` and `5.` are numbers, `.` is not).
pub(super) fn lex<'a>(s: &'a str, syntax: &Syntax) -> Option<Lexed<'a>> {
    let (negative, body) = split_sign(s.as_bytes());
    let (int_len, int_digits) = scan_int_part(body, syntax.thousands)?;
    let int = &body[..int_len];
    let mut rest = &body[int_len..];
    let mut frac: &[u8] = &[];
    if rest.first() == Some(&syntax.decimal) {
        let n = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        frac = &rest[1..1 + n];
        rest = &rest[1 + n..];
    }
    if int_digits + frac.len() == 0 {
        return None;
    }
    let mut exp = 0i64;
    if let Some((b'e' | b'E', after)) = rest.split_first() {
        let (exp_negative, digits) = split_sign(after);
        let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for &d in &digits[..n] {
            exp = (exp * 10 + i64::from(d - b'0')).min(EXP_LIMIT);
        }
        if exp_negative {
            exp = -exp;
        }
        rest = &digits[n..];
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Lexed {
        negative,
        int,
        int_digits,
        frac,
        exp,
        has_separators: int_len != int_digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(decimal_comma: bool, thousands: Option<char>) -> Syntax {
        let fmt = TextFormat {
            decimal_comma,
            thousands,
            ..TextFormat::default()
        };
        Syntax::new(&fmt)
    }

    fn parts(s: &str, syn: &Syntax) -> Option<(bool, String, i64)> {
        let lx = lex(s, syn)?;
        let digits: String = lx.digits().map(|d| char::from(b'0' + d)).collect();
        Some((lx.negative, format!("{digits}/{}", lx.frac.len()), lx.exp))
    }

    #[test]
    fn grouping() {
        let dot = Sep::new('.');
        assert_eq!(scan_int_part(b"1.234.567", dot), Some((9, 7)));
        assert_eq!(scan_int_part(b"123", dot), Some((3, 3)));
        assert_eq!(scan_int_part(b"1234567", dot), Some((7, 7)));
        assert_eq!(scan_int_part(b"12.34", dot), None);
        assert_eq!(scan_int_part(b"1234.567", dot), None);
        assert_eq!(scan_int_part(b"1.2345", dot), None);
        assert_eq!(scan_int_part(b"1.234.", dot), None);
        assert_eq!(scan_int_part(b"0.123", dot), None);
        assert_eq!(scan_int_part(b"1.234,5", dot), Some((5, 4)));
        let nbsp = Sep::new('\u{a0}');
        assert_eq!(scan_int_part("1\u{a0}000".as_bytes(), nbsp), Some((6, 4)));
    }

    #[test]
    fn lexing() {
        let plain = syntax(false, None);
        assert_eq!(parts("-1.50", &plain), Some((true, "150/2".into(), 0)));
        assert_eq!(parts(".5", &plain), Some((false, "5/1".into(), 0)));
        assert_eq!(parts("5.", &plain), Some((false, "5/0".into(), 0)));
        assert_eq!(parts("+1.5e-3", &plain), Some((false, "15/1".into(), -3)));
        assert_eq!(
            parts("1E9999999999999", &plain),
            Some((false, "1/0".into(), EXP_LIMIT))
        );
        for bad in [
            ".", "", "-", "1e", "1.2.3", "1,5", "e5", "1 000", "--1", "0x10",
        ] {
            assert!(lex(bad, &plain).is_none(), "{bad}");
        }
        let br = syntax(true, Some('.'));
        assert_eq!(parts("1.234,50", &br), Some((false, "123450/2".into(), 0)));
        assert!(lex("1.5", &br).is_none());
        assert!(lex("1,2,3", &br).is_none());
        // A thousands separator equal to the decimal point is ignored.
        let same = syntax(false, Some('.'));
        assert_eq!(parts("1.234", &same), Some((false, "1234/3".into(), 0)));
    }

    #[test]
    fn specials() {
        for (text, expected) in [
            ("NaN", Some(Special::NaN)),
            ("nan", Some(Special::NaN)),
            ("Infinity", Some(Special::Infinity)),
            ("+INFINITY", Some(Special::Infinity)),
            ("inf", Some(Special::Infinity)),
            ("+Inf", Some(Special::Infinity)),
            ("-infinity", Some(Special::NegInfinity)),
            ("-INF", Some(Special::NegInfinity)),
            ("-nan", None),
            ("+nan", None),
            ("--inf", None),
            ("infinityx", None),
            ("in", None),
            ("", None),
        ] {
            assert_eq!(special(text), expected, "{text}");
        }
    }
}

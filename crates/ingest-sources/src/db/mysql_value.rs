//! A MariaDB/MySQL value (binary protocol) as the text the load coerces into the target's
//! PostgreSQL type, exactly: no float on the way for decimals, microseconds kept, zero
//! dates (which PostgreSQL has no value for) as NULL, binary strings as bytea hex.

use std::fmt::Write;

use mysql_async::Value;
use mysql_async::consts::{ColumnType, ColumnType as T};

/// The character set of binary strings (BLOB, BINARY, VARBINARY, `CAST(.. AS BINARY)`).
const BINARY_CHARSET: u16 = 63;

/// How a column's values are written, from its metadata: what the value alone does not
/// say (a DATETIME at midnight is sent like a DATE; bytes may be text, bits or binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Text,
    /// `\x` and hex, as PostgreSQL's bytea input reads it.
    Binary,
    /// BIT(n): big-endian bytes, written as their integer.
    Bit,
    Date,
    DateTime,
}

impl Shape {
    pub(crate) fn of(column_type: ColumnType, charset: u16) -> Shape {
        match column_type {
            T::MYSQL_TYPE_BIT => Shape::Bit,
            T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => Shape::Date,
            T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_TIMESTAMP => Shape::DateTime,
            // Geometry is WKB, a vector its floats' bytes.
            T::MYSQL_TYPE_GEOMETRY | T::MYSQL_TYPE_VECTOR => Shape::Binary,
            // DECIMAL has the binary charset too, but its bytes are its digits; JSON is
            // text whatever its charset says.
            T::MYSQL_TYPE_STRING
            | T::MYSQL_TYPE_VAR_STRING
            | T::MYSQL_TYPE_VARCHAR
            | T::MYSQL_TYPE_TINY_BLOB
            | T::MYSQL_TYPE_BLOB
            | T::MYSQL_TYPE_MEDIUM_BLOB
            | T::MYSQL_TYPE_LONG_BLOB
                if charset == BINARY_CHARSET =>
            {
                Shape::Binary
            }
            _ => Shape::Text,
        }
    }
}

/// What [`write`] made of a value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Null,
    /// The text was appended.
    Text,
    /// Bytes of a text column that are not UTF-8: their lossy form was appended (to show
    /// in the reject), the row cannot be loaded as it is.
    NotUtf8,
}

/// Appends `value`'s text to `out`.
pub(crate) fn write(shape: Shape, value: &Value, out: &mut String) -> Field {
    match *value {
        Value::NULL => return Field::Null,
        Value::Int(v) => write!(out, "{v}"),
        Value::UInt(v) => write!(out, "{v}"),
        // Display is the shortest text that reads back to the same float.
        Value::Float(v) => write!(out, "{v}"),
        Value::Double(v) => write!(out, "{v}"),
        Value::Date(y, mo, d, h, mi, s, us) => {
            if y == 0 || mo == 0 || d == 0 {
                return Field::Null;
            }
            let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
            if shape == Shape::Date {
                return Field::Text;
            }
            write!(out, " {h:02}:{mi:02}:{s:02}").and_then(|()| micros(out, us))
        }
        Value::Time(negative, days, h, mi, s, us) => {
            let hours = days * 24 + u32::from(h);
            let sign = if negative { "-" } else { "" };
            write!(out, "{sign}{hours:02}:{mi:02}:{s:02}").and_then(|()| micros(out, us))
        }
        Value::Bytes(ref bytes) => return write_bytes(shape, bytes, out),
    }
    .expect("writing to a String cannot fail");
    Field::Text
}

fn micros(out: &mut String, us: u32) -> std::fmt::Result {
    if us == 0 {
        Ok(())
    } else {
        write!(out, ".{us:06}")
    }
}

fn write_bytes(shape: Shape, bytes: &[u8], out: &mut String) -> Field {
    match shape {
        Shape::Bit if bytes.len() <= 8 => {
            let v = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            write!(out, "{v}").expect("writing to a String cannot fail");
        }
        Shape::Binary | Shape::Bit => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.reserve(2 + 2 * bytes.len());
            out.push_str("\\x");
            for b in bytes {
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        // DECIMAL's digits as the server sends them, JSON, strings, ENUM, SET.
        Shape::Text | Shape::Date | Shape::DateTime => match std::str::from_utf8(bytes) {
            Ok(text) => out.push_str(text),
            Err(_) => {
                out.push_str(&String::from_utf8_lossy(bytes));
                return Field::NotUtf8;
            }
        },
    }
    Field::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(shape: Shape, value: Value) -> Option<String> {
        let mut out = String::new();
        match write(shape, &value, &mut out) {
            Field::Null => None,
            Field::Text => Some(out),
            Field::NotUtf8 => Some(format!("NOT UTF-8: {out}")),
        }
    }

    #[test]
    fn values_are_written_exactly() {
        let t = |v| text(Shape::Text, v);
        assert_eq!(t(Value::UInt(u64::MAX)).unwrap(), "18446744073709551615");
        assert_eq!(t(Value::Int(i64::MIN)).unwrap(), "-9223372036854775808");
        assert_eq!(t(Value::Double(0.1)).unwrap(), "0.1");
        assert_eq!(t(Value::Double(-2.5e-7)).unwrap(), "-0.00000025");
        assert_eq!(t(Value::Float(0.1)).unwrap(), "0.1");
        assert_eq!(t(Value::Double(3.0)).unwrap(), "3");
        assert_eq!(
            t(Value::Bytes(b"-9999999999999999.9999".to_vec())).unwrap(),
            "-9999999999999999.9999"
        );
        assert_eq!(t(Value::NULL), None);
        assert_eq!(
            t(Value::Bytes(vec![b'a', 0xff])).unwrap(),
            "NOT UTF-8: a\u{fffd}"
        );
    }

    #[test]
    fn dates_and_times_keep_their_microseconds_and_zero_dates_are_null() {
        let dt = |v| text(Shape::DateTime, v);
        assert_eq!(
            dt(Value::Date(2026, 1, 2, 3, 4, 5, 6)).unwrap(),
            "2026-01-02 03:04:05.000006"
        );
        assert_eq!(
            dt(Value::Date(2026, 1, 2, 0, 0, 0, 0)).unwrap(),
            "2026-01-02 00:00:00"
        );
        assert_eq!(
            text(Shape::Date, Value::Date(2026, 1, 2, 0, 0, 0, 0)).unwrap(),
            "2026-01-02"
        );
        assert_eq!(dt(Value::Date(0, 0, 0, 0, 0, 0, 0)), None);
        assert_eq!(text(Shape::Date, Value::Date(2026, 5, 0, 0, 0, 0, 0)), None);
        assert_eq!(
            dt(Value::Time(true, 1, 10, 0, 0, 500_000)).unwrap(),
            "-34:00:00.500000"
        );
        assert_eq!(dt(Value::Time(false, 0, 1, 2, 3, 0)).unwrap(), "01:02:03");
    }

    #[test]
    fn binary_strings_are_bytea_hex_and_bits_integers() {
        assert_eq!(
            Shape::of(ColumnType::MYSQL_TYPE_BLOB, BINARY_CHARSET),
            Shape::Binary
        );
        assert_eq!(Shape::of(ColumnType::MYSQL_TYPE_BLOB, 45), Shape::Text);
        assert_eq!(
            Shape::of(ColumnType::MYSQL_TYPE_NEWDECIMAL, BINARY_CHARSET),
            Shape::Text
        );
        assert_eq!(
            text(Shape::Binary, Value::Bytes(vec![0x0a, 0x1b, 0xff])).unwrap(),
            "\\x0a1bff"
        );
        assert_eq!(text(Shape::Binary, Value::Bytes(vec![])).unwrap(), "\\x");
        assert_eq!(
            text(Shape::Bit, Value::Bytes(vec![0x01, 0x02])).unwrap(),
            "258"
        );
    }
}

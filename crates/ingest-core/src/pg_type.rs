use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, TimeUnit};

/// Precision above which `numeric` values travel as canonical decimal text instead of
/// `Decimal128` (which holds at most 38 digits).
const MAX_DECIMAL128_PRECISION: u8 = 38;

/// The `Decimal128(p, s)` holding `numeric(precision, scale)`, when Arrow allows one:
/// `1 <= p <= 38`, `s` fits an `i8` and a positive `s` is at most `p` (negative scales are
/// allowed). Other constrained `numeric`s travel as canonical text.
fn decimal128(precision: u16, scale: i16) -> Option<(u8, i8)> {
    let p = u8::try_from(precision)
        .ok()
        .filter(|p| (1..=MAX_DECIMAL128_PRECISION).contains(p))?;
    let s = i8::try_from(scale).ok()?;
    (s <= 0 || s.unsigned_abs() <= p).then_some((p, s))
}

/// A PostgreSQL column type that the engine can validate and encode.
#[derive(Debug, Clone, PartialEq)]
pub enum PgType {
    Int2,
    Int4,
    Int8,
    /// `numeric(p, s)`; both `None` for an unconstrained `numeric`. PostgreSQL allows a
    /// precision of 1 to 1000 and a scale of -1000 to 1000; `numeric(p)` has scale `None`
    /// (that is, 0).
    Numeric {
        precision: Option<u16>,
        scale: Option<i16>,
    },
    Float4,
    Float8,
    Bool,
    Text,
    /// `varchar(n)`; `None` for `varchar` without a limit.
    Varchar {
        max_chars: Option<u32>,
    },
    /// `char(n)`: trailing blanks beyond `n` are allowed, as PostgreSQL allows them.
    /// `None` for `bpchar` without a length (typmod -1), which has no limit.
    Bpchar {
        chars: Option<u32>,
    },
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Uuid,
    Json,
    Jsonb,
    Bytea,
    /// A user enum; `labels` are the catalog's, in sort order.
    Enum {
        name: String,
        labels: Vec<String>,
    },
    /// A one-dimensional array; `element_oid` goes into the binary array header.
    Array {
        element: Box<PgType>,
        element_oid: u32,
    },
    /// Any other type (interval, inet, ranges, xml, types of extensions, domains over
    /// them...): its values are read by the server's own input function, which gives
    /// their binary form (`name` as `format_type()` prints it, with its modifier).
    Other {
        name: String,
    },
}

impl PgType {
    /// `numeric(precision, scale)`.
    pub fn numeric(precision: u16, scale: i16) -> PgType {
        PgType::Numeric {
            precision: Some(precision),
            scale: Some(scale),
        }
    }

    /// The Arrow type values of this column have once coerced.
    pub fn arrow_type(&self) -> DataType {
        match self {
            PgType::Int2 => DataType::Int16,
            PgType::Int4 => DataType::Int32,
            PgType::Int8 => DataType::Int64,
            PgType::Numeric {
                precision: Some(p),
                scale,
            } => match decimal128(*p, scale.unwrap_or(0)) {
                Some((p, s)) => DataType::Decimal128(p, s),
                None => DataType::Utf8,
            },
            PgType::Numeric {
                precision: None, ..
            } => DataType::Utf8,
            PgType::Float4 => DataType::Float32,
            PgType::Float8 => DataType::Float64,
            PgType::Bool => DataType::Boolean,
            PgType::Text
            | PgType::Varchar { .. }
            | PgType::Bpchar { .. }
            | PgType::Json
            | PgType::Jsonb
            | PgType::Enum { .. } => DataType::Utf8,
            PgType::Date => DataType::Date32,
            PgType::Time => DataType::Time64(TimeUnit::Microsecond),
            PgType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            PgType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            PgType::Uuid => DataType::FixedSizeBinary(16),
            PgType::Bytea => DataType::Binary,
            PgType::Array { element, .. } => {
                DataType::List(Arc::new(Field::new("item", element.arrow_type(), true)))
            }
            // The value's binary form, as the type's send function gives it.
            PgType::Other { .. } => DataType::Binary,
        }
    }
}

impl fmt::Display for PgType {
    /// The type as `format_type()` would print it, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgType::Int2 => f.write_str("smallint"),
            PgType::Int4 => f.write_str("integer"),
            PgType::Int8 => f.write_str("bigint"),
            PgType::Numeric {
                precision: Some(p),
                scale,
            } => {
                write!(f, "numeric({p},{})", scale.unwrap_or(0))
            }
            PgType::Numeric { .. } => f.write_str("numeric"),
            PgType::Float4 => f.write_str("real"),
            PgType::Float8 => f.write_str("double precision"),
            PgType::Bool => f.write_str("boolean"),
            PgType::Text => f.write_str("text"),
            PgType::Varchar { max_chars: Some(n) } => write!(f, "character varying({n})"),
            PgType::Varchar { max_chars: None } => f.write_str("character varying"),
            PgType::Bpchar { chars: Some(n) } => write!(f, "character({n})"),
            PgType::Bpchar { chars: None } => f.write_str("bpchar"),
            PgType::Date => f.write_str("date"),
            PgType::Time => f.write_str("time without time zone"),
            PgType::Timestamp => f.write_str("timestamp without time zone"),
            PgType::Timestamptz => f.write_str("timestamp with time zone"),
            PgType::Uuid => f.write_str("uuid"),
            PgType::Json => f.write_str("json"),
            PgType::Jsonb => f.write_str("jsonb"),
            PgType::Bytea => f.write_str("bytea"),
            PgType::Enum { name, .. } => f.write_str(name),
            PgType::Array { element, .. } => write!(f, "{element}[]"),
            PgType::Other { name } => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::{Decimal128Type, validate_decimal_precision_and_scale};

    fn numeric(p: u16, s: i16) -> PgType {
        PgType::numeric(p, s)
    }

    #[test]
    fn numeric_arrow_types() {
        assert_eq!(numeric(12, 2).arrow_type(), DataType::Decimal128(12, 2));
        assert_eq!(numeric(38, 38).arrow_type(), DataType::Decimal128(38, 38));
        assert_eq!(numeric(2, -3).arrow_type(), DataType::Decimal128(2, -3));
        assert_eq!(
            numeric(38, -128).arrow_type(),
            DataType::Decimal128(38, -128)
        );
        let p5 = PgType::Numeric {
            precision: Some(5),
            scale: None,
        };
        assert_eq!(p5.arrow_type(), DataType::Decimal128(5, 0));
        // Beyond Decimal128: text.
        for ty in [
            numeric(39, 0),
            numeric(40, 2),
            numeric(1000, 0),
            numeric(1000, 1000),
            numeric(3, 5),
            numeric(38, -129),
            numeric(10, -1000),
            PgType::Numeric {
                precision: None,
                scale: None,
            },
        ] {
            assert_eq!(ty.arrow_type(), DataType::Utf8, "{ty}");
        }
    }

    #[test]
    fn decimal128_only_where_arrow_allows_it() {
        for p in 0..=40u16 {
            for s in -130..=45i16 {
                let arrow_ok = match (u8::try_from(p), i8::try_from(s)) {
                    (Ok(p), Ok(s)) => {
                        validate_decimal_precision_and_scale::<Decimal128Type>(p, s).is_ok()
                    }
                    _ => false,
                };
                let is_decimal = matches!(numeric(p, s).arrow_type(), DataType::Decimal128(..));
                assert_eq!(is_decimal, arrow_ok, "numeric({p},{s})");
            }
        }
    }

    #[test]
    fn display() {
        assert_eq!(numeric(1000, -1000).to_string(), "numeric(1000,-1000)");
        assert_eq!(numeric(40, 2).to_string(), "numeric(40,2)");
        let p5 = PgType::Numeric {
            precision: Some(5),
            scale: None,
        };
        assert_eq!(p5.to_string(), "numeric(5,0)");
        let free = PgType::Numeric {
            precision: None,
            scale: None,
        };
        assert_eq!(free.to_string(), "numeric");
        assert_eq!(
            PgType::Bpchar { chars: Some(3) }.to_string(),
            "character(3)"
        );
        assert_eq!(PgType::Bpchar { chars: None }.to_string(), "bpchar");
    }
}

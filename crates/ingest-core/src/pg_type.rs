use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, TimeUnit};

/// Precision above which `numeric` values travel as canonical decimal text instead of
/// `Decimal128` (which holds at most 38 digits).
pub const MAX_DECIMAL128_PRECISION: u8 = 38;

/// A PostgreSQL column type that the engine can validate and encode.
#[derive(Debug, Clone, PartialEq)]
pub enum PgType {
    Int2,
    Int4,
    Int8,
    /// `numeric(p, s)`; both `None` for an unconstrained `numeric`.
    Numeric {
        precision: Option<u8>,
        scale: Option<i8>,
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
    Bpchar {
        chars: u32,
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
}

impl PgType {
    /// The Arrow type values of this column have once coerced.
    pub fn arrow_type(&self) -> DataType {
        match self {
            PgType::Int2 => DataType::Int16,
            PgType::Int4 => DataType::Int32,
            PgType::Int8 => DataType::Int64,
            PgType::Numeric {
                precision: Some(p),
                scale,
            } if *p <= MAX_DECIMAL128_PRECISION => DataType::Decimal128(*p, scale.unwrap_or(0)),
            PgType::Numeric { .. } => DataType::Utf8,
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
            PgType::Bpchar { chars } => write!(f, "character({chars})"),
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
        }
    }
}

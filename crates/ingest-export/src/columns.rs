//! What each column of the exported rows becomes in Arrow (and so in Parquet): the
//! PostgreSQL type and type modifier the query's row description gives, mapped to the
//! type that keeps its values exactly.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use tokio_postgres::types::{Kind, Type};

/// How a column's binary COPY value is read.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// numeric(precision, scale) as decimal128
    Decimal {
        precision: u8,
        scale: i8,
    },
    /// numeric as its text (`--numeric-as text`)
    NumericText,
    /// Unconstrained numeric before the data says how wide a decimal it needs.
    NumericUnsized,
    /// text, varchar, char, name, and enums (their label)
    Text,
    Enum,
    Json,
    /// jsonb: a version byte, then the text
    Jsonb,
    Bytea,
    Uuid,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    /// A one-dimensional array of any of the above.
    List(Box<ColumnKind>),
}

/// An exported column: its name, how it is read, and its Arrow field.
#[derive(Debug, Clone)]
pub struct ExportColumn {
    pub name: String,
    pub kind: ColumnKind,
}

/// How unconstrained `numeric` (no precision and scale) is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NumericAs {
    /// decimal128 as wide as the data needs (a pass over the column finds out); refused,
    /// with a hint, when that is more than 38 digits
    #[default]
    Decimal,
    /// As its exact text
    Text,
}

#[derive(Debug, thiserror::Error)]
#[error("column {column:?} is {type_name}, which Parquet export does not take yet; {hint}")]
pub struct UnsupportedType {
    pub column: String,
    pub type_name: String,
    pub hint: String,
}

impl ExportColumn {
    /// The column of a row description: its name, type and type modifier.
    pub fn of(
        name: &str,
        ty: &Type,
        typmod: i32,
        numeric_as: NumericAs,
    ) -> Result<ExportColumn, UnsupportedType> {
        let unsupported = |hint: &str| UnsupportedType {
            column: name.to_string(),
            type_name: ty.name().to_string(),
            hint: hint.to_string(),
        };
        let cast_hint = format!("cast it in --query (e.g. {}::text)", name);
        let kind = match *ty {
            Type::BOOL => ColumnKind::Bool,
            Type::INT2 => ColumnKind::Int2,
            Type::INT4 => ColumnKind::Int4,
            Type::INT8 => ColumnKind::Int8,
            Type::FLOAT4 => ColumnKind::Float4,
            Type::FLOAT8 => ColumnKind::Float8,
            Type::NUMERIC if typmod >= 4 => {
                let precision = (((typmod - 4) >> 16) & 0xffff) as u8;
                let scale = ((typmod - 4) & 0xffff) as i16;
                if precision > 38 || !(0..=38).contains(&scale) {
                    return Err(unsupported(&format!(
                        "numeric({precision},{scale}) does not fit decimal128; {cast_hint}"
                    )));
                }
                // numeric(2,5) holds values below 0.001: decimal128 wants scale <= precision.
                ColumnKind::Decimal {
                    precision: precision.max(scale as u8),
                    scale: scale as i8,
                }
            }
            Type::NUMERIC => match numeric_as {
                NumericAs::Text => ColumnKind::NumericText,
                NumericAs::Decimal => ColumnKind::NumericUnsized,
            },
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => ColumnKind::Text,
            Type::JSON => ColumnKind::Json,
            Type::JSONB => ColumnKind::Jsonb,
            Type::BYTEA => ColumnKind::Bytea,
            Type::UUID => ColumnKind::Uuid,
            Type::DATE => ColumnKind::Date,
            Type::TIMESTAMP => ColumnKind::Timestamp,
            Type::TIMESTAMPTZ => ColumnKind::Timestamptz,
            Type::TIME => ColumnKind::Time,
            _ => match ty.kind() {
                Kind::Enum(_) => ColumnKind::Enum,
                Kind::Array(element) => {
                    let element = ExportColumn::of(name, element, typmod, numeric_as)?.kind;
                    match element {
                        ColumnKind::List(_) => return Err(unsupported(&cast_hint)),
                        ColumnKind::NumericUnsized => {
                            return Err(UnsupportedType {
                                column: name.to_string(),
                                type_name: "an array of numeric without precision and scale".into(),
                                hint: format!(
                                    "pass --numeric-as text, or cast it in --query (e.g. {name}::numeric(18,2)[])"
                                ),
                            });
                        }
                        element => ColumnKind::List(Box::new(element)),
                    }
                }
                // A domain is exported as its base type.
                Kind::Domain(base) => return ExportColumn::of(name, base, typmod, numeric_as),
                _ => return Err(unsupported(&cast_hint)),
            },
        };
        Ok(ExportColumn {
            name: name.to_string(),
            kind,
        })
    }

    pub fn field(&self) -> Field {
        field_of(&self.name, &self.kind)
    }
}

/// The Arrow field of a value of `kind` (a list's items are fields too).
fn field_of(name: &str, kind: &ColumnKind) -> Field {
    use arrow_schema::extension::{Json, Uuid};
    let data_type = match kind {
        ColumnKind::Bool => DataType::Boolean,
        ColumnKind::Int2 => DataType::Int16,
        ColumnKind::Int4 => DataType::Int32,
        ColumnKind::Int8 => DataType::Int64,
        ColumnKind::Float4 => DataType::Float32,
        ColumnKind::Float8 => DataType::Float64,
        ColumnKind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
        ColumnKind::NumericText
        | ColumnKind::NumericUnsized
        | ColumnKind::Text
        | ColumnKind::Json
        | ColumnKind::Jsonb => DataType::Utf8,
        ColumnKind::Enum => {
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        }
        ColumnKind::Bytea => DataType::Binary,
        ColumnKind::Uuid => DataType::FixedSizeBinary(16),
        ColumnKind::Date => DataType::Date32,
        ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnKind::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnKind::Time => DataType::Time64(TimeUnit::Microsecond),
        ColumnKind::List(element) => DataType::List(Arc::new(field_of("item", element))),
    };
    let field = Field::new(name, data_type, true);
    // Arrow's canonical extension types become Parquet's UUID and JSON logical types.
    match kind {
        ColumnKind::Uuid => field.with_extension_type(Uuid),
        ColumnKind::Json | ColumnKind::Jsonb => field.with_extension_type(Json::default()),
        _ => field,
    }
}

/// The Arrow type of a value of `kind`.
pub fn field_of_kind(kind: &ColumnKind) -> DataType {
    field_of("item", kind).data_type().clone()
}

pub fn schema(columns: &[ExportColumn]) -> Arc<Schema> {
    Arc::new(Schema::new(
        columns.iter().map(ExportColumn::field).collect::<Vec<_>>(),
    ))
}

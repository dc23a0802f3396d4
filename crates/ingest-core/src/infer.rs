//! The PostgreSQL type a column should have, judged from its values: for text sources (CSV,
//! JSON) the narrowest type every sampled value fits, tried with the very coercion a load
//! uses, so a sampled value never fails to load into the type inferred from it; for typed
//! sources (Parquet, Avro) the type the file declares.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, StringArray};
use arrow_schema::{DataType, Field};

use crate::coerce::coerce_column;
use crate::{PgType, TextFormat};

/// Digits a `numeric` column keeps beyond the widest integer part sampled, so a later
/// row a little larger still fits ("widened safely").
const SPARE_INTEGER_DIGITS: u16 = 6;

/// How much larger than the largest sampled integer a column's type must reach when only
/// part of the file was sampled: ids counting past 32,767 after the sample are common.
const INTEGER_HEADROOM: i128 = 100;

/// What the sample of one text column allows, gathered batch by batch.
#[derive(Debug, Clone)]
pub struct TextColumnGuess {
    /// Non-null values seen.
    seen: u64,
    int: Option<(i64, i64)>,
    all_int: bool,
    /// Widest integer part and scale of the values, while all are numbers.
    numeric: Option<(u16, u16)>,
    all_numeric: bool,
    all_float: bool,
    all_bool: bool,
    all_date: bool,
    all_timestamp: bool,
    any_offset: bool,
    all_time: bool,
    all_uuid: bool,
    all_json: bool,
}

impl Default for TextColumnGuess {
    fn default() -> Self {
        TextColumnGuess {
            seen: 0,
            int: None,
            all_int: true,
            numeric: None,
            all_numeric: true,
            all_float: true,
            all_bool: true,
            all_date: true,
            all_timestamp: true,
            any_offset: false,
            all_time: true,
            all_uuid: true,
            all_json: true,
        }
    }
}

impl TextColumnGuess {
    /// Takes in one batch of the column's raw text.
    pub fn observe(&mut self, raw: &StringArray, fmt: &TextFormat) {
        let values = non_null(raw, fmt);
        if values.is_empty() {
            return;
        }
        self.seen += values.len() as u64;
        let fits = |ty: &PgType| coerce_column(&values, ty, fmt).errors.is_empty();
        if self.all_int {
            self.all_int = self.observe_ints(&values, fmt);
        }
        if self.all_numeric && !self.all_int {
            self.all_numeric = self.observe_numerics(&values, fmt);
        }
        // `a = a && fits(..)`, not `a &= fits(..)`: a type already ruled out costs no pass.
        self.all_float = self.all_float && (self.all_numeric || fits(&PgType::Float8));
        self.all_bool = self.all_bool && fits(&PgType::Bool);
        self.all_date = self.all_date && fits(&PgType::Date);
        if self.all_timestamp {
            self.all_timestamp = fits(&PgType::Timestamptz);
            self.any_offset |= values.iter().flatten().any(has_offset);
        }
        self.all_time = self.all_time && fits(&PgType::Time);
        self.all_uuid = self.all_uuid && fits(&PgType::Uuid);
        self.all_json = self.all_json
            && values
                .iter()
                .flatten()
                .all(|v| v.trim_start().starts_with(['{', '[']))
            && fits(&PgType::Jsonb);
    }

    fn observe_ints(&mut self, values: &StringArray, fmt: &TextFormat) -> bool {
        let coerced = coerce_column(values, &PgType::Int8, fmt);
        if !coerced.errors.is_empty() {
            return false;
        }
        let ints = coerced.array.as_primitive::<Int64Type>();
        for v in ints.iter().flatten() {
            self.int = Some(match self.int {
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
                None => (v, v),
            });
        }
        // Integers are numbers too: a later batch with a fraction makes them numeric.
        self.observe_numerics(values, fmt)
    }

    fn observe_numerics(&mut self, values: &StringArray, fmt: &TextFormat) -> bool {
        let free = PgType::Numeric {
            precision: None,
            scale: None,
        };
        let coerced = coerce_column(values, &free, fmt);
        if !coerced.errors.is_empty() {
            return false;
        }
        // Unconstrained numerics travel as canonical text: `-123.4500`, `NaN`.
        for v in coerced.array.as_string::<i32>().iter().flatten() {
            let Some((int, scale)) = digits(v) else {
                return false;
            };
            self.numeric = Some(match self.numeric {
                Some((i, s)) => (i.max(int), s.max(scale)),
                None => (int, scale),
            });
        }
        true
    }

    /// The narrowest type every value observed fits; `text` when none were seen. With
    /// `whole` false (a sample of the file), integers get a type reaching a hundred times
    /// the largest one seen.
    pub fn pg_type(&self, whole: bool) -> PgType {
        if self.seen == 0 {
            return PgType::Text;
        }
        if self.all_int
            && let Some((lo, hi)) = self.int
        {
            let headroom = if whole { 1 } else { INTEGER_HEADROOM };
            let (lo, hi) = (i128::from(lo) * headroom, i128::from(hi) * headroom);
            let within = |min: i64, max: i64| lo >= min.into() && hi <= max.into();
            return if within(i16::MIN.into(), i16::MAX.into()) {
                PgType::Int2
            } else if within(i32::MIN.into(), i32::MAX.into()) {
                PgType::Int4
            } else {
                PgType::Int8
            };
        }
        if self.all_bool {
            return PgType::Bool;
        }
        if self.all_numeric
            && let Some((int, scale)) = self.numeric
        {
            let precision = (int + scale + SPARE_INTEGER_DIGITS).clamp(1, 1000);
            return PgType::numeric(precision, scale as i16);
        }
        if self.all_float {
            return PgType::Float8;
        }
        if self.all_date {
            return PgType::Date;
        }
        if self.all_timestamp {
            return match self.any_offset {
                true => PgType::Timestamptz,
                false => PgType::Timestamp,
            };
        }
        if self.all_time {
            return PgType::Time;
        }
        if self.all_uuid {
            return PgType::Uuid;
        }
        if self.all_json {
            return PgType::Jsonb;
        }
        PgType::Text
    }
}

/// The column's values that are not NULL under `fmt`, as one array.
fn non_null(raw: &StringArray, fmt: &TextFormat) -> StringArray {
    raw.iter()
        .filter(|v| match (v, &fmt.null) {
            (None, _) => false,
            (Some(v), Some(null)) => v != null,
            (Some(_), None) => true,
        })
        .collect()
}

/// Integer digits and scale of a canonical numeric (`-0.50` has 1 and 2); `None` for
/// `NaN` and infinities, which only an unconstrained numeric holds.
fn digits(canonical: &str) -> Option<(u16, u16)> {
    let unsigned = canonical.trim_start_matches('-');
    if !unsigned.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let int = int.trim_start_matches('0').len().max(1);
    Some((int as u16, frac.len() as u16))
}

/// Whether a timestamp's text ends in a zone: `Z`, `+03`, `-03:00`, `+0530`, or a zone
/// name after the time (`... UTC`).
fn has_offset(text: &str) -> bool {
    let t = text.trim();
    if t.ends_with(['Z', 'z']) || t.ends_with(" UTC") || t.ends_with(" GMT") {
        return true;
    }
    // An offset is the last sign after the time of day (a date's dashes come before it).
    let Some(colon) = t.find(':') else {
        return false;
    };
    t[colon..].rfind(['+', '-']).is_some_and(|i| {
        t[colon + i + 1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':')
    })
}

/// Why a typed column has no PostgreSQL type to be created with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column:?}: {data_type} has no PostgreSQL type to create it with")]
pub struct NoPgType {
    pub column: String,
    pub data_type: String,
}

/// The PostgreSQL type a typed source's field becomes: ints by width, decimals with their
/// precision and scale, timestamps with or without zone, lists as arrays, structs and maps
/// as `jsonb`.
pub fn pg_type_of_field(field: &Field) -> Result<PgType, NoPgType> {
    if field
        .extension_type_name()
        .is_some_and(|n| n == "arrow.uuid")
    {
        return Ok(PgType::Uuid);
    }
    if field
        .extension_type_name()
        .is_some_and(|n| n == "arrow.json")
    {
        return Ok(PgType::Jsonb);
    }
    pg_type_of(field.data_type()).ok_or_else(|| NoPgType {
        column: field.name().clone(),
        data_type: field.data_type().to_string(),
    })
}

fn pg_type_of(data_type: &DataType) -> Option<PgType> {
    use DataType as D;
    Some(match data_type {
        D::Int8 | D::Int16 | D::UInt8 => PgType::Int2,
        D::Int32 | D::UInt16 => PgType::Int4,
        D::Int64 | D::UInt32 => PgType::Int8,
        D::UInt64 => PgType::numeric(20, 0),
        D::Float16 | D::Float32 => PgType::Float4,
        D::Float64 => PgType::Float8,
        D::Decimal32(p, s) | D::Decimal64(p, s) | D::Decimal128(p, s) | D::Decimal256(p, s) => {
            PgType::numeric((*p).into(), (*s).into())
        }
        D::Boolean => PgType::Bool,
        D::Utf8 | D::LargeUtf8 | D::Utf8View | D::Null => PgType::Text,
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => PgType::Bytea,
        D::Date32 | D::Date64 => PgType::Date,
        D::Timestamp(_, None) => PgType::Timestamp,
        D::Timestamp(_, Some(_)) => PgType::Timestamptz,
        D::Time32(_) | D::Time64(_) => PgType::Time,
        D::List(item) | D::LargeList(item) | D::FixedSizeList(item, _) | D::ListView(item) => {
            match pg_type_of(item.data_type())? {
                // Arrays of arrays and of rows are JSON in PostgreSQL terms.
                PgType::Array { .. } | PgType::Jsonb => PgType::Jsonb,
                // The oid is the catalog's to give, once the table exists.
                element => PgType::Array {
                    element: Box::new(element),
                    element_oid: 0,
                },
            }
        }
        D::Struct(_) | D::Map(..) | D::Union(..) => PgType::Jsonb,
        D::Dictionary(_, value) => pg_type_of(value)?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(values: &[&str], fmt: &TextFormat) -> PgType {
        let mut g = TextColumnGuess::default();
        g.observe(&StringArray::from(values.to_vec()), fmt);
        g.pg_type(true)
    }

    #[test]
    fn text_columns_get_the_narrowest_type_that_fits() {
        let f = TextFormat::default();
        assert_eq!(guess(&["1", "2", "-300"], &f), PgType::Int2);
        assert_eq!(guess(&["1", "70000"], &f), PgType::Int4);
        assert_eq!(guess(&["1", "7000000000"], &f), PgType::Int8);
        assert_eq!(guess(&["1.5", "22.25", "3"], &f), PgType::numeric(10, 2));
        assert_eq!(guess(&["true", "f", "sim", "não"], &f), PgType::Bool);
        assert_eq!(guess(&["2025-01-02", "1999-12-31"], &f), PgType::Date);
        assert_eq!(
            guess(&["2025-01-02 03:04:05", "2025-01-02T03:04"], &f),
            PgType::Timestamp
        );
        assert_eq!(
            guess(&["2025-01-02 03:04:05-03", "2025-01-02 03:04:05"], &f),
            PgType::Timestamptz
        );
        assert_eq!(guess(&["12:34:56", "00:00"], &f), PgType::Time);
        assert_eq!(
            guess(&["8d3e8b63-0b1e-4a7b-9d3c-2f1f0c6e4f10"], &f),
            PgType::Uuid
        );
        assert_eq!(guess(&[r#"{"a": 1}"#, "[1, 2]"], &f), PgType::Jsonb);
        assert_eq!(guess(&["abc", "1"], &f), PgType::Text);
        assert_eq!(guess(&["", ""], &f), PgType::Text);
        // Empty fields are NULL: they constrain nothing.
        assert_eq!(guess(&["", "5", ""], &f), PgType::Int2);
    }

    #[test]
    fn a_sample_leaves_integers_room_to_grow() {
        let f = TextFormat::default();
        let mut g = TextColumnGuess::default();
        g.observe(&StringArray::from(vec!["1", "10000"]), &f);
        assert_eq!(g.pg_type(true), PgType::Int2);
        assert_eq!(g.pg_type(false), PgType::Int4);
        let mut g = TextColumnGuess::default();
        g.observe(&StringArray::from(vec!["1", "300"]), &f);
        assert_eq!(g.pg_type(false), PgType::Int2);
        let mut g = TextColumnGuess::default();
        g.observe(&StringArray::from(vec!["50000000"]), &f);
        assert_eq!(g.pg_type(false), PgType::Int8);
    }

    #[test]
    fn the_locale_applies() {
        let br = TextFormat::pt_br();
        assert_eq!(guess(&["1.234,56", "7,5"], &br), PgType::numeric(12, 2));
        assert_eq!(guess(&["02/01/2025", "31/12/1999"], &br), PgType::Date);
        assert_eq!(
            guess(&["02/01/2025 10:30", "31/12/1999 23:59:59"], &br),
            PgType::Timestamp
        );
    }

    #[test]
    fn a_later_batch_widens_or_gives_up() {
        let f = TextFormat::default();
        let mut g = TextColumnGuess::default();
        g.observe(&StringArray::from(vec!["1", "2"]), &f);
        assert_eq!(g.pg_type(true), PgType::Int2);
        g.observe(&StringArray::from(vec!["2.5"]), &f);
        assert_eq!(g.pg_type(true), PgType::numeric(8, 1));
        g.observe(&StringArray::from(vec!["n/a"]), &f);
        assert_eq!(g.pg_type(true), PgType::Text);
    }

    #[test]
    fn offsets_are_told_from_dates() {
        assert!(has_offset("2025-01-02 03:04:05+05:30"));
        assert!(has_offset("2025-01-02T03:04:05Z"));
        assert!(has_offset("2025-01-02 03:04:05-03"));
        assert!(!has_offset("2025-01-02 03:04:05"));
        assert!(!has_offset("2025-01-02"));
    }

    #[test]
    fn typed_fields_map_exactly() {
        use arrow_schema::TimeUnit;
        let of = |d: DataType| pg_type_of_field(&Field::new("c", d, true)).unwrap();
        assert_eq!(of(DataType::Int64), PgType::Int8);
        assert_eq!(of(DataType::Int16), PgType::Int2);
        assert_eq!(of(DataType::Decimal128(12, 2)), PgType::numeric(12, 2));
        assert_eq!(
            of(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            )),
            PgType::Timestamptz
        );
        assert_eq!(
            of(DataType::Timestamp(TimeUnit::Nanosecond, None)),
            PgType::Timestamp
        );
        let list = DataType::List(Field::new("item", DataType::Int64, true).into());
        assert_eq!(of(list).to_string(), "bigint[]");
        let row = DataType::Struct(vec![Field::new("a", DataType::Int32, true)].into());
        assert_eq!(of(row), PgType::Jsonb);
        assert!(
            pg_type_of_field(&Field::new("d", DataType::Duration(TimeUnit::Second), true)).is_err()
        );
    }
}

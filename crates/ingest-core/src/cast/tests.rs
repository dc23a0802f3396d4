use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::*;
use arrow_schema::Fields;

use super::*;

fn fmt_in(zone: &str) -> TextFormat {
    TextFormat {
        timezone: zone.parse().unwrap(),
        ..TextFormat::default()
    }
}

fn rows(c: &Coerced) -> Vec<usize> {
    c.errors.iter().map(|e| e.row).collect()
}

#[test]
fn integers_that_do_not_fit_reject_their_row_only() {
    let a = Int64Array::from(vec![Some(1), Some(1 << 40), None, Some(-7)]);
    let c = cast_column(&a, &PgType::Int4, &TextFormat::default());
    assert_eq!(rows(&c), [1]);
    assert!(
        c.errors[0].reason.starts_with("does not fit integer"),
        "{:?}",
        c.errors
    );
    let out = c.array.as_primitive::<Int32Type>();
    assert_eq!(
        out.iter().collect::<Vec<_>>(),
        [Some(1), None, None, Some(-7)]
    );
}

#[test]
fn decimals_rescale_and_overflow() {
    let a = Decimal128Array::from(vec![Some(12345), Some(999_999_999_999), None])
        .with_precision_and_scale(14, 2)
        .unwrap();
    let c = cast_column(&a, &PgType::numeric(10, 2), &TextFormat::default());
    assert_eq!(rows(&c), [1]);
    let out = c.array.as_primitive::<arrow_array::types::Decimal128Type>();
    assert_eq!(out.value(0), 12345);
    assert_eq!(out.data_type(), &DataType::Decimal128(10, 2));
    // Unconstrained numeric goes through text, digits kept.
    let unconstrained = PgType::Numeric {
        precision: None,
        scale: None,
    };
    let c = cast_column(&a, &unconstrained, &TextFormat::default());
    assert!(c.errors.is_empty());
    assert_eq!(c.array.as_string::<i32>().value(1), "9999999999.99");
}

#[test]
fn strings_are_parsed_as_csv_fields_are_but_empty_is_not_null() {
    let a = StringArray::from(vec![Some("12"), Some(""), None, Some("x")]);
    let c = cast_column(&a, &PgType::Int8, &TextFormat::default());
    assert_eq!(rows(&c), [1, 3]);
    let c = cast_column(&a, &PgType::Text, &TextFormat::default());
    assert!(c.errors.is_empty());
    let out = c.array.as_string::<i32>();
    assert!(out.is_valid(1) && out.value(1).is_empty() && out.is_null(2));
}

#[test]
fn dictionary_strings_load_into_an_enum() {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    b.append_value("ok");
    b.append_value("bad");
    b.append_null();
    let a = b.finish();
    let ty = PgType::Enum {
        name: "mood".into(),
        labels: vec!["ok".into(), "sad".into()],
    };
    let c = cast_column(&a, &ty, &TextFormat::default());
    assert_eq!(rows(&c), [1]);
}

#[test]
fn timestamps_follow_postgres_zone_rules() {
    // 2024-01-01 12:00:00 as a naive value and as a UTC instant (milliseconds).
    let ms = 1_704_110_400_000i64;
    let naive = TimestampMillisecondArray::from(vec![ms]);
    let zoned = TimestampMillisecondArray::from(vec![ms]).with_timezone("UTC");
    let sp = fmt_in("America/Sao_Paulo"); // UTC-3, no DST in 2024
    let micros = |c: &Coerced| {
        c.array
            .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
            .value(0)
    };
    // naive → timestamptz: local time in the session's zone.
    let c = cast_column(&naive, &PgType::Timestamptz, &sp);
    assert_eq!(micros(&c), (ms + 3 * 3_600_000) * 1000);
    assert_eq!(c.array.data_type(), &PgType::Timestamptz.arrow_type());
    // instant → timestamp: the wall clock in the session's zone.
    let c = cast_column(&zoned, &PgType::Timestamp, &sp);
    assert_eq!(micros(&c), (ms - 3 * 3_600_000) * 1000);
    // same kind: unchanged.
    assert_eq!(
        micros(&cast_column(&zoned, &PgType::Timestamptz, &sp)),
        ms * 1000
    );
    assert_eq!(
        micros(&cast_column(&naive, &PgType::Timestamp, &sp)),
        ms * 1000
    );
    // INT96 comes as nanoseconds.
    let ns = TimestampNanosecondArray::from(vec![ms * 1_000_000]);
    assert_eq!(
        micros(&cast_column(&ns, &PgType::Timestamp, &sp)),
        ms * 1000
    );
    // A date is midnight.
    let d = Date32Array::from(vec![19723]); // 2024-01-01
    assert_eq!(
        micros(&cast_column(&d, &PgType::Timestamp, &sp)),
        1_704_067_200_000_000
    );
}

#[test]
fn nested_values_become_json() {
    let fields = Fields::from(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Utf8, true),
    ]);
    let s = StructArray::new(
        fields,
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None])),
            Arc::new(StringArray::from(vec![Some("x\"y"), Some("z")])),
        ],
        None,
    );
    let c = cast_column(&s, &PgType::Jsonb, &TextFormat::default());
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let out = c.array.as_string::<i32>();
    assert_eq!(out.value(0), r#"{"a":1,"b":"x\"y"}"#);
    assert_eq!(out.value(1), r#"{"a":null,"b":"z"}"#);
}

#[test]
fn lists_load_into_arrays_and_json() {
    let mut b = ListBuilder::new(arrow_array::builder::Int32Builder::new());
    b.append_value([Some(1), None, Some(3)]);
    b.append_null();
    let a = b.finish();
    let ty = PgType::Array {
        element: Box::new(PgType::Int8),
        element_oid: 20,
    };
    let c = cast_column(&a, &ty, &TextFormat::default());
    assert!(c.errors.is_empty());
    let list = c.array.as_list::<i32>();
    assert_eq!(
        list.value(0)
            .as_primitive::<Int64Type>()
            .iter()
            .collect::<Vec<_>>(),
        [Some(1), None, Some(3)]
    );
    assert!(list.is_null(1));
    let c = cast_column(&a, &PgType::Json, &TextFormat::default());
    assert_eq!(c.array.as_string::<i32>().value(0), "[1,null,3]");
}

#[test]
fn what_cannot_load_is_known_before_reading() {
    assert!(castable(&DataType::Int64, &PgType::Int2));
    assert!(castable(&DataType::Utf8View, &PgType::Uuid));
    assert!(castable(&DataType::Date32, &PgType::Timestamptz));
    assert!(!castable(&DataType::Boolean, &PgType::Date));
    assert!(!castable(&DataType::Binary, &PgType::Timestamptz));
    let st = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Int64, true)]));
    assert!(castable(&st, &PgType::Jsonb));
    assert!(!castable(&st, &PgType::Int4));
}

#[test]
fn numbers_are_never_rounded_into_their_column() {
    let f = Float64Array::from(vec![Some(1.005), Some(1.25), Some(2.0), None]);
    let c = cast_column(&f, &PgType::numeric(10, 2), &TextFormat::default());
    assert_eq!(rows(&c), [0], "1.005 needs rounding to fit numeric(10,2)");
    let out = c.array.as_primitive::<arrow_array::types::Decimal128Type>();
    assert_eq!((out.value(1), out.value(2)), (125, 200));
    // float4 0.1 is 0.1, not 0.100000001490116...
    let f32s = Float32Array::from(vec![0.1f32]);
    let c = cast_column(&f32s, &PgType::numeric(20, 10), &TextFormat::default());
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(
        c.array
            .as_primitive::<arrow_array::types::Decimal128Type>()
            .value(0),
        1_000_000_000
    );
    // A decimal with more scale: only trailing zeros may go.
    let d = Decimal128Array::from(vec![12340, 12345])
        .with_precision_and_scale(10, 3)
        .unwrap();
    let c = cast_column(&d, &PgType::numeric(10, 2), &TextFormat::default());
    assert_eq!(rows(&c), [1]);
    // Into integers: whole values only, never truncated.
    let c = cast_column(&f, &PgType::Int4, &TextFormat::default());
    assert_eq!(rows(&c), [0, 1]);
    assert!(c.errors[0].reason.contains("fractional part"));
    assert_eq!(c.array.as_primitive::<Int32Type>().value(2), 2);
    let d = Decimal128Array::from(vec![300, 250])
        .with_precision_and_scale(5, 2)
        .unwrap();
    let c = cast_column(&d, &PgType::Int8, &TextFormat::default());
    assert_eq!(rows(&c), [1]);
    assert_eq!(c.array.as_primitive::<Int64Type>().value(0), 3);
}

#[test]
fn every_type_has_a_text_form() {
    let fields = Fields::from(vec![Field::new("a", DataType::Int64, true)]);
    let s = StructArray::new(fields, vec![Arc::new(Int64Array::from(vec![7]))], None);
    let c = cast_column(&s, &PgType::Text, &TextFormat::default());
    assert_eq!(c.array.as_string::<i32>().value(0), r#"{"a":7}"#);
    let u = FixedSizeBinaryArray::try_from_iter(vec![vec![0u8, 255, 16]].into_iter()).unwrap();
    let c = cast_column(&u, &PgType::Text, &TextFormat::default());
    assert!(c.errors.is_empty());
    assert_eq!(c.array.as_string::<i32>().value(0), "\\x00ff10");
}

#[test]
fn an_instant_has_its_date_in_the_session_zone() {
    // 2024-01-01 02:00 UTC is still 2023-12-31 in São Paulo.
    let ts = TimestampMillisecondArray::from(vec![1_704_074_400_000i64]).with_timezone("UTC");
    let c = cast_column(&ts, &PgType::Date, &fmt_in("America/Sao_Paulo"));
    assert_eq!(
        c.array
            .as_primitive::<arrow_array::types::Date32Type>()
            .value(0),
        19722
    );
    let c = cast_column(&ts, &PgType::Date, &fmt_in("UTC"));
    assert_eq!(
        c.array
            .as_primitive::<arrow_array::types::Date32Type>()
            .value(0),
        19723
    );
}

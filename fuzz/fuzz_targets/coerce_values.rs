//! Text coercion of one value into every type (numbers in both locales, dates, times,
//! timestamps with and without zones, booleans, uuid, bytea, JSON, and arrays, whose
//! literals nest): a value is coerced or refused with a reason, never a panic.
#![no_main]

use arrow_array::StringArray;
use ingest_core::coerce::coerce_column;
use ingest_core::{PgType, TextFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let int_array = |element: PgType| PgType::Array {
        element: Box::new(element),
        element_oid: 0,
    };
    let types = [
        PgType::Int2,
        PgType::Int4,
        PgType::Int8,
        PgType::numeric(12, 2),
        PgType::numeric(1000, 500),
        PgType::numeric(5, -3),
        PgType::Numeric {
            precision: None,
            scale: None,
        },
        PgType::Float4,
        PgType::Float8,
        PgType::Bool,
        PgType::Date,
        PgType::Time,
        PgType::Timestamp,
        PgType::Timestamptz,
        PgType::Uuid,
        PgType::Bytea,
        PgType::Jsonb,
        PgType::Varchar { max_chars: Some(5) },
        int_array(PgType::Int4),
        int_array(PgType::Date),
        int_array(PgType::Text),
        int_array(PgType::numeric(6, 2)),
    ];
    let ty = &types[which as usize % types.len()];
    let format = if which & 0x80 == 0 {
        TextFormat::default()
    } else {
        TextFormat::pt_br()
    };
    let values = StringArray::from(vec![text, text]);
    let coerced = coerce_column(&values, ty, &format);
    assert_eq!(coerced.array.len(), 2);
    assert!(coerced.errors.len() <= 2);
});

//! Coercion throughput, by hand: `cargo bench -p ingest-core --bench coerce`.
//!
//! Coerces 1M raw text values per column type and prints millions of values per second.

use std::time::Instant;

use arrow_array::StringArray;
use ingest_core::{PgType, TextFormat, coerce_column};

fn main() {
    let n = 1_000_000;
    let iso = TextFormat::default();
    let sp = TextFormat {
        timezone: chrono_tz::Tz::America__Sao_Paulo,
        ..TextFormat::pt_br()
    };
    type Make = Box<dyn Fn(usize) -> String>;
    let columns: [(&str, PgType, &TextFormat, Make); 8] = [
        (
            "int8",
            PgType::Int8,
            &iso,
            Box::new(|i| (i * 7919).to_string()),
        ),
        (
            "numeric(12,2)",
            PgType::Numeric {
                precision: Some(12),
                scale: Some(2),
            },
            &iso,
            Box::new(|i| format!("{}.{:02}", i, i % 100)),
        ),
        (
            "float8",
            PgType::Float8,
            &iso,
            Box::new(|i| format!("{}.{}", i, i % 1000)),
        ),
        (
            "date",
            PgType::Date,
            &iso,
            Box::new(|i| format!("20{:02}-{:02}-{:02}", i % 100, i % 12 + 1, i % 28 + 1)),
        ),
        (
            "timestamptz",
            PgType::Timestamptz,
            &iso,
            Box::new(|i| {
                format!(
                    "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 24,
                    i % 60,
                    i % 60,
                    i % 1_000_000
                )
            }),
        ),
        (
            "tstz pt-BR",
            PgType::Timestamptz,
            &sp,
            Box::new(|i| {
                format!(
                    "{:02}/{:02}/2024 {:02}:{:02}:{:02}",
                    i % 28 + 1,
                    i % 12 + 1,
                    i % 24,
                    i % 60,
                    i % 60
                )
            }),
        ),
        (
            "tstz ISO in SP",
            PgType::Timestamptz,
            &sp,
            Box::new(|i| {
                format!(
                    "2024-{:02}-{:02} {:02}:{:02}",
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 24,
                    i % 60
                )
            }),
        ),
        (
            "varchar(40)",
            PgType::Varchar {
                max_chars: Some(40),
            },
            &iso,
            Box::new(|i| format!("customer number {i}")),
        ),
    ];
    for (name, ty, fmt, make) in columns {
        let raw: StringArray = (0..n).map(|i| Some(make(i))).collect();
        let start = Instant::now();
        let out = coerce_column(&raw, &ty, fmt);
        let elapsed = start.elapsed();
        assert!(out.errors.is_empty(), "{name}: {:?}", &out.errors[..1]);
        println!(
            "{name:>14}: {:>6.1} M values/s",
            n as f64 / elapsed.as_secs_f64() / 1e6
        );
    }
}

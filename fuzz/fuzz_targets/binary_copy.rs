//! Export's decoder of PostgreSQL binary COPY: whatever the server (or a broken stream)
//! sends, it decodes or says why, fed in chunks the input chooses.
#![no_main]

use ingest_export::binary_copy::BatchDecoder;
use ingest_export::columns::{ColumnKind, ExportColumn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[kinds, chunk], stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let all = [
        ColumnKind::Bool,
        ColumnKind::Int2,
        ColumnKind::Int4,
        ColumnKind::Int8,
        ColumnKind::Float8,
        ColumnKind::Decimal {
            precision: 12,
            scale: 2,
        },
        ColumnKind::NumericText,
        ColumnKind::Text,
        ColumnKind::Jsonb,
        ColumnKind::Bytea,
        ColumnKind::Uuid,
        ColumnKind::Date,
        ColumnKind::Timestamptz,
        ColumnKind::Time,
        ColumnKind::List(Box::new(ColumnKind::Int4)),
        ColumnKind::List(Box::new(ColumnKind::Text)),
    ];
    let columns: Vec<ExportColumn> = (0..1 + kinds as usize % 3)
        .map(|i| ExportColumn {
            name: format!("c{i}"),
            kind: all[(kinds as usize / 3 + i * 5) % all.len()].clone(),
        })
        .collect();
    let mut decoder = BatchDecoder::new(columns, 1 + chunk as usize % 17);
    for piece in stream.chunks(1 + chunk as usize) {
        if decoder.feed(piece, &mut |_| {}).is_err() {
            return;
        }
    }
    let _ = decoder.finish();
});

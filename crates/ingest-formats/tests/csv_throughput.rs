//! Throughput check, not run by default:
//! `cargo test --release -p ingest-formats --test csv_throughput -- --ignored --nocapture`

use std::time::Instant;

use ingest_formats::csv::{CsvDecoder, CsvOptions};

#[test]
#[ignore = "timing; run in release"]
fn million_rows_nine_fields() {
    decode_million(CsvOptions::default());
}

#[test]
#[ignore = "timing; run in release"]
fn million_rows_nine_fields_windows_1252() {
    decode_million(CsvOptions {
        encoding: Some(encoding_rs::WINDOWS_1252),
        ..CsvOptions::default()
    });
}

fn decode_million(options: CsvOptions) {
    let rows = 1_000_000;
    let mut input = b"id,name,email,city,amount,created,flag,note,code\n".to_vec();
    for i in 0..rows {
        input.extend(
            format!(
                "{i},name {i},user{i}@example.com,São Paulo,{}.{:02},2024-05-{:02} 12:34:56,true,\"a, \"\"quoted\"\" note\",C{:05}\n",
                i % 100_000,
                i % 100,
                i % 28 + 1,
                i % 99_999
            )
            .bytes(),
        );
    }
    let start = Instant::now();
    let mut decoder = CsvDecoder::new(options.clone());
    let (mut records, mut batches) = (0, 0);
    for chunk in input.chunks(1 << 20) {
        let mut off = 0;
        while off < chunk.len() {
            off += decoder.decode(&chunk[off..]).unwrap();
            if off < chunk.len() {
                let batch = decoder.flush().unwrap().unwrap();
                records += batch.num_rows();
                batches += 1;
            }
        }
    }
    decoder.finish().unwrap();
    if let Some(batch) = decoder.flush().unwrap() {
        records += batch.num_rows();
        batches += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(records, rows);
    println!(
        "{:?}: {rows} rows, {:.1} MB, {batches} batches in {elapsed:.3?}: {:.0} MB/s, {:.2} M rows/s",
        options.encoding.map(|e| e.name()),
        input.len() as f64 / 1e6,
        input.len() as f64 / 1e6 / elapsed.as_secs_f64(),
        rows as f64 / 1e6 / elapsed.as_secs_f64()
    );
}

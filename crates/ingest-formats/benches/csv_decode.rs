//! CSV decoder throughput, by hand: `cargo bench -p ingest-formats --bench csv_decode`.
//!
//! Decodes 1M rows of nine fields (UTF-8, then Windows-1252) and prints MB/s and rows/s.

use std::time::Instant;

use ingest_formats::csv::{CsvDecoder, CsvOptions};

fn main() {
    decode_million(CsvOptions::default());
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

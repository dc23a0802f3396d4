//! A local Parquet file of arbitrary bytes through ingest's reader: the footer (and its
//! lenient re-read), the page checks, the decoding. Refused or read, never a panic; and
//! when read, never fewer rows than the row groups say (the reader checks that itself).
#![no_main]

use std::io::Write;

use ingest_formats::{ParquetSource, RecordSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::tempfile().expect("a temporary file");
    file.write_all(data).expect("written");
    let Ok(mut source) = ParquetSource::open(file, data.len() as u64) else {
        return;
    };
    let _ = source.header();
    for _ in 0..10_000 {
        match source.next_batch() {
            Ok(Some(_)) => {}
            _ => return,
        }
    }
});

//! A local Parquet file of arbitrary bytes through ingest's reader: the footer (and its
//! lenient re-read), the page checks, the decoding. Refused or read, never a panic that
//! escapes the reader; and when read, never fewer rows than the row groups say (the reader
//! checks that itself). The reader runs the parquet crate's decoding under `catch_unwind`
//! (a panic it still has becomes the file's error): libFuzzer's panic hook, which aborts
//! on any panic, caught or not, is replaced by one that leaves caught panics alone, so
//! only one that escapes fails the run.
#![no_main]

use std::io::Write;

use ingest_formats::{ParquetSource, RecordSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: {
    std::panic::set_hook(Box::new(|_| {}));
}, |data: &[u8]| {
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

//! The JSON/NDJSON decoder (the record splitter and the typed text it hands on), fed in
//! chunks whose size the first byte chooses.
#![no_main]

use ingest_formats::json::{JsonDecoder, JsonOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, file)) = data.split_first() else {
        return;
    };
    let mut decoder = JsonDecoder::new(JsonOptions {
        max_record_bytes: 1 << 16,
        batch_rows: 1 + chunk as usize % 9,
    });
    let step = 1 + chunk as usize;
    let mut rest = file;
    while !rest.is_empty() {
        let take = step.min(rest.len());
        match decoder.decode(&rest[..take]) {
            Ok(n) => {
                rest = &rest[n..];
                if n < take {
                    decoder.flush();
                }
            }
            Err(_) => return,
        }
    }
    if decoder.finish().is_ok() {
        while decoder.flush().is_some() {}
    }
});

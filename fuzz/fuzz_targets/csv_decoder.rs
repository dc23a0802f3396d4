//! The CSV decoder under every option set: the first bytes choose the options, the rest is
//! the file, fed in chunks whose sizes the input also chooses. Must never panic, hang or
//! allocate without bound; any outcome (rows, rejects, an error) is fine.
#![no_main]

use ingest_formats::csv::{CsvDecoder, CsvOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[flags, delimiter, chunk], file)) = data.split_first_chunk::<3>() else {
        return;
    };
    let encodings = [
        None,
        Some(encoding_rs::WINDOWS_1252),
        Some(encoding_rs::UTF_16LE),
    ];
    let options = CsvOptions {
        delimiter: [b',', b';', b'\t', b'|', 0xe9][delimiter as usize % 5],
        quote: if flags & 1 == 0 { b'"' } else { b'\'' },
        escape: (flags & 2 != 0).then_some(b'\\'),
        has_header: flags & 4 == 0,
        null: (flags & 8 != 0).then(|| "NULL".to_string()),
        encoding: encodings[(flags >> 4) as usize % 3],
        max_record_bytes: 1 << 16,
        batch_rows: 1 + (flags as usize >> 6) * 7,
    };
    let mut decoder = CsvDecoder::new(options);
    let step = 1 + chunk as usize;
    let mut rest = file;
    while !rest.is_empty() {
        let take = step.min(rest.len());
        match decoder.decode(&rest[..take]) {
            Ok(n) => {
                rest = &rest[n..];
                if n < take && decoder.flush().is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
    if decoder.finish().is_ok() {
        while let Ok(Some(_)) = decoder.flush() {}
    }
});

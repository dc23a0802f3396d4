//! The xlsx reader on arbitrary bytes: the zip guard, calamine's parsing, the cell
//! conversion. Limits are small so a zip bomb is refused, never inflated.
#![no_main]

use ingest_formats::xlsx::{XlsxLimits, XlsxSheet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = XlsxLimits {
        max_file_bytes: 1 << 20,
        max_unpacked_bytes: 8 << 20,
    };
    if let Ok(mut sheet) = XlsxSheet::open(data.to_vec(), None, None, limits) {
        while let Ok(Some(_)) = sheet.next_batch() {}
    }
});

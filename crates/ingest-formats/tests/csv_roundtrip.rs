//! Random tables written as properly quoted CSV decode back to the same fields and line
//! numbers, however the bytes are chunked.

mod common;

use common::run_chunked;
use ingest_formats::csv::{CsvError, CsvOptions};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Source {
    Utf8,
    Utf8Bom,
    Utf16LeBom,
    Windows1252,
}

/// How a record ends.
#[derive(Debug, Clone, Copy)]
enum Terminator {
    Lf,
    CrLf,
    /// Old Mac / Excel "CSV (Macintosh)".
    Cr,
}

impl Terminator {
    fn as_str(self) -> &'static str {
        match self {
            Terminator::Lf => "\n",
            Terminator::CrLf => "\r\n",
            Terminator::Cr => "\r",
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    ncols: usize,
    has_header: bool,
    delimiter: u8,
    /// Quotes escaped with `\` instead of doubled.
    backslash: bool,
    source: Source,
    table: Vec<Vec<String>>,
    /// Per record.
    terminators: Vec<Terminator>,
    trailing_newline: bool,
    batch_rows: usize,
    chunks: Vec<usize>,
}

fn field() -> impl Strategy<Value = String> {
    let chars = vec![
        'a', 'b', 'z', ' ', ',', ';', '\t', '|', '"', '\\', '\n', '\r', 'é', 'ç', '€', '😀',
    ];
    prop::collection::vec(prop::sample::select(chars), 0..6).prop_map(String::from_iter)
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..5, 0usize..12).prop_flat_map(|(ncols, nrows)| {
        (
            any::<bool>(),
            prop::sample::select(vec![b',', b';', b'\t', b'|']),
            any::<bool>(),
            prop::sample::select(vec![
                Source::Utf8,
                Source::Utf8Bom,
                Source::Utf16LeBom,
                Source::Windows1252,
            ]),
            prop::collection::vec(prop::collection::vec(field(), ncols), nrows),
            prop::collection::vec(
                prop::sample::select(vec![Terminator::Lf, Terminator::CrLf, Terminator::Cr]),
                nrows + 1,
            ),
            any::<bool>(),
            1usize..5,
            prop::collection::vec(1usize..24, 1..8),
        )
            .prop_map(
                move |(
                    has_header,
                    delimiter,
                    backslash,
                    source,
                    table,
                    terminators,
                    trailing_newline,
                    batch_rows,
                    chunks,
                )| Case {
                    ncols,
                    has_header,
                    delimiter,
                    backslash,
                    source,
                    table,
                    terminators,
                    trailing_newline,
                    batch_rows,
                    chunks,
                },
            )
    })
}

fn write_field(out: &mut String, field: &str, delimiter: char, backslash: bool) {
    let needs_quotes = field.is_empty()
        || field.contains([delimiter, '"', '\r', '\n'])
        || (backslash && field.contains('\\'));
    if !needs_quotes {
        out.push_str(field);
        return;
    }
    out.push('"');
    for c in field.chars() {
        match c {
            '"' if backslash => out.push_str("\\\""),
            '\\' if backslash => out.push_str("\\\\"),
            '"' => out.push_str("\"\""),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Line breaks in `text` as an editor counts them: LF, CRLF and a lone CR.
fn line_breaks(text: &str) -> u64 {
    (text.matches('\r').count() + text.matches('\n').count() - text.matches("\r\n").count()) as u64
}

/// The CSV text, and the 1-based line each data record starts on.
fn write(case: &Case, ncols: usize, header: &[String]) -> (String, Vec<u64>) {
    let delimiter = char::from(case.delimiter);
    let mut records: Vec<&[String]> = Vec::new();
    if case.has_header {
        records.push(header);
    }
    records.extend(case.table.iter().map(Vec::as_slice));
    let mut text = String::new();
    let mut lines = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let line = 1 + line_breaks(&text);
        if !case.has_header || i > 0 {
            lines.push(line);
        }
        for (c, field) in record.iter().enumerate() {
            if c > 0 {
                text.push(delimiter);
            }
            write_field(&mut text, field, delimiter, case.backslash);
        }
        if i + 1 < records.len() || case.trailing_newline {
            text.push_str(case.terminators[i].as_str());
        }
    }
    assert_eq!(header.len(), ncols);
    (text, lines)
}

fn encode(text: &str, source: Source) -> Option<Vec<u8>> {
    Some(match source {
        Source::Utf8 => text.as_bytes().to_vec(),
        Source::Utf8Bom => [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat(),
        Source::Utf16LeBom => "\u{feff}"
            .encode_utf16()
            .chain(text.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect(),
        Source::Windows1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            if unmappable {
                return None;
            }
            bytes.into_owned()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn roundtrip(case in case()) {
        let ncols = case.ncols;
        let header: Vec<String> = (0..ncols).map(|i| format!("h{i}")).collect();
        let (text, lines) = write(&case, ncols, &header);
        let Some(bytes) = encode(&text, case.source) else {
            return Ok(());
        };
        let options = CsvOptions {
            delimiter: case.delimiter,
            escape: case.backslash.then_some(b'\\'),
            has_header: case.has_header,
            encoding: match case.source {
                Source::Utf8 | Source::Utf8Bom => None,
                Source::Utf16LeBom => Some(encoding_rs::UTF_16LE),
                Source::Windows1252 => Some(encoding_rs::WINDOWS_1252),
            },
            batch_rows: case.batch_rows,
            ..CsvOptions::default()
        };
        let result = run_chunked(&bytes, &options, &case.chunks);
        if !case.has_header && case.table.is_empty() {
            prop_assert_eq!(result.unwrap_err(), CsvError::Empty);
            return Ok(());
        }
        let decoded = result.unwrap();
        if case.has_header {
            prop_assert_eq!(&decoded.header, &header);
        } else {
            let names: Vec<String> = (1..=ncols).map(|i| format!("column_{i}")).collect();
            prop_assert_eq!(&decoded.header, &names);
        }
        prop_assert!(decoded.rejects.is_empty());
        prop_assert_eq!(&decoded.rows, &case.table);
        prop_assert_eq!(&decoded.lines, &lines);
        if options.encoding.is_none() {
            let (last, full) = decoded.batch_sizes.split_last().unwrap_or((&0, &[]));
            prop_assert!(full.iter().all(|&n| n == case.batch_rows));
            prop_assert!(*last <= case.batch_rows);
        }
    }
}

/// Arbitrary (often malformed) input from the bytes that matter to the tokeniser.
fn messy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let bytes = vec![
        b'a', b'b', b',', b';', b'"', b'\\', b'\r', b'\n', b' ', 0xEF, 0xBB, 0xBF, 0xC3, 0xA9,
        0xFF, 0,
    ];
    prop::collection::vec(prop::sample::select(bytes), 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever the input, chunking changes nothing: same records, lines, rejects or error.
    #[test]
    fn chunking_is_invisible(
        input in messy_bytes(),
        has_header in any::<bool>(),
        backslash in any::<bool>(),
        semicolon in any::<bool>(),
        windows_1252 in any::<bool>(),
        max_record_bytes in 4usize..40,
        batch_rows in 1usize..4,
        chunks in prop::collection::vec(1usize..9, 1..6),
    ) {
        let options = CsvOptions {
            delimiter: if semicolon { b';' } else { b',' },
            escape: backslash.then_some(b'\\'),
            has_header,
            encoding: windows_1252.then_some(encoding_rs::WINDOWS_1252),
            max_record_bytes,
            batch_rows,
            ..CsvOptions::default()
        };
        let whole = run_chunked(&input, &options, &[input.len().max(1)]);
        let chunked = run_chunked(&input, &options, &chunks);
        match (whole, chunked) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.header, b.header);
                prop_assert_eq!(a.rows, b.rows);
                prop_assert_eq!(a.lines, b.lines);
                prop_assert_eq!(a.rejects, b.rejects);
            }
            (a, b) => prop_assert_eq!(a, b),
        }
    }
}

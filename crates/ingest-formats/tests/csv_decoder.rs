//! `CsvDecoder` through its public API, each input fed whole and in chunks of 1..=7 bytes.

mod common;

use common::{Decoded, run};
use ingest_formats::RecordReject;
use ingest_formats::csv::{CsvDecoder, CsvError, CsvOptions};

/// Decodes `input` whole and in every chunk size 1..=7; all must agree.
fn decode_with(input: &[u8], options: &CsvOptions) -> Result<Decoded, CsvError> {
    let whole = run(input, options, input.len().max(1));
    for chunk in 1..=7 {
        let got = run(input, options, chunk);
        match (&whole, &got) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.header, b.header, "chunk {chunk}");
                assert_eq!(a.rows, b.rows, "chunk {chunk}");
                assert_eq!(a.lines, b.lines, "chunk {chunk}");
                assert_eq!(a.rejects, b.rejects, "chunk {chunk}");
                if options.encoding.is_none() {
                    assert_eq!(a.batch_sizes, b.batch_sizes, "chunk {chunk}");
                }
            }
            _ => assert_eq!(whole, got, "chunk {chunk}"),
        }
    }
    whole
}

fn decode(input: &[u8]) -> Result<Decoded, CsvError> {
    decode_with(input, &CsvOptions::default())
}

fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn header_and_rows() {
    let d = decode(b"id,name\n1,ana\n2,bruno\n").unwrap();
    assert_eq!(d.header, names(&["id", "name"]));
    assert_eq!(d.rows, rows(&[&["1", "ana"], &["2", "bruno"]]));
    assert_eq!(d.lines, [2, 3]);
    assert!(d.rejects.is_empty());
}

#[test]
fn header_names_are_trimmed() {
    let d = decode(b" id ,\tname\t, \"x y\" \n1,2,3\n").unwrap();
    assert_eq!(d.header, names(&["id", "name", "\"x y\""]));
    let d = decode(b"\" id \",name\n1,2\n").unwrap();
    assert_eq!(d.header, names(&["id", "name"]));
}

#[test]
fn no_header() {
    let options = CsvOptions {
        has_header: false,
        ..CsvOptions::default()
    };
    let d = decode_with(b"1,ana,x\n2,bruno,y\n", &options).unwrap();
    assert_eq!(d.header, names(&["column_1", "column_2", "column_3"]));
    assert_eq!(d.rows, rows(&[&["1", "ana", "x"], &["2", "bruno", "y"]]));
    assert_eq!(d.lines, [1, 2]);
}

#[test]
fn quoted_fields() {
    let input = b"a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\"\",\"three\r\nlines\nhere\",z\nlast,\"\"\"\",q\n";
    let d = decode(input).unwrap();
    assert_eq!(
        d.rows,
        rows(&[
            &["x,y", "say \"hi\"", "two\nlines"],
            &["", "three\r\nlines\nhere", "z"],
            &["last", "\"", "q"],
        ])
    );
    assert_eq!(d.lines, [2, 4, 7]);
}

#[test]
fn multiline_header() {
    let d = decode(b"\"a\nb\",c\n1,2\n").unwrap();
    assert_eq!(d.header, names(&["a\nb", "c"]));
    assert_eq!(d.lines, [3]);
}

#[test]
fn line_terminators() {
    let expected = rows(&[&["1", "2"], &["3", "4"]]);
    for input in [
        &b"a,b\n1,2\n3,4\n"[..],
        b"a,b\r\n1,2\r\n3,4\r\n",
        b"a,b\r\n1,2\n3,4\r\n",
        b"a,b\n1,2\r\n3,4",
        b"a,b\r\n1,2\r\n3,4",
        b"a,b\n1,2\n3,4",
    ] {
        let d = decode(input).unwrap();
        assert_eq!(d.header, names(&["a", "b"]));
        assert_eq!(d.rows, expected, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(d.lines, [2, 3], "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn cr_only_line_endings() {
    let d = decode(b"id,v\r1,a\r2,b\rx,c\r").unwrap();
    assert_eq!(d.header, names(&["id", "v"]));
    assert_eq!(d.rows, rows(&[&["1", "a"], &["2", "b"], &["x", "c"]]));
    assert_eq!(d.lines, [2, 3, 4]);
    // Without a final terminator.
    let d = decode(b"id,v\r1,a\r2,b").unwrap();
    assert_eq!(d.lines, [2, 3]);
    // Blank lines are counted too.
    let d = decode(b"\ra,b\r\r1,2\r\r\r3,4\r\r").unwrap();
    assert_eq!(d.header, names(&["a", "b"]));
    assert_eq!(d.rows, rows(&[&["1", "2"], &["3", "4"]]));
    assert_eq!(d.lines, [4, 7]);
}

#[test]
fn cr_inside_quoted_fields() {
    let d = decode(b"a,b\r1,\"x\ry\"\r2,\"p\r\nq\r\"\r3,z\r").unwrap();
    assert_eq!(
        d.rows,
        rows(&[&["1", "x\ry"], &["2", "p\r\nq\r"], &["3", "z"]])
    );
    assert_eq!(d.lines, [2, 4, 7]);
    // In an LF file as well: a lone CR in a field is a line break to an editor.
    let d = decode(b"a,b\n1,\"x\ry\"\n2,\"p\r\nq\"\n3,z\n").unwrap();
    assert_eq!(d.lines, [2, 4, 6]);
    // And in a multi-line header.
    let d = decode(b"\"a\rb\",c\r1,2\r").unwrap();
    assert_eq!(d.header, names(&["a\rb", "c"]));
    assert_eq!(d.lines, [3]);
}

#[test]
fn mixed_line_endings() {
    let d = decode(b"a,b\r\n1,2\r3,4\n5,6\r\n7,8").unwrap();
    assert_eq!(
        d.rows,
        rows(&[&["1", "2"], &["3", "4"], &["5", "6"], &["7", "8"]])
    );
    assert_eq!(d.lines, [2, 3, 4, 5]);
    // A CR before a CRLF is a line of its own (an empty one).
    let d = decode(b"a\r\r\n1\n\n\r2\r\r\n").unwrap();
    assert_eq!(d.rows, rows(&[&["1"], &["2"]]));
    assert_eq!(d.lines, [3, 6]);
}

#[test]
fn crlf_split_across_calls() {
    // One CRLF fed as two calls is one line break, blank lines and a full batch between the
    // CR and the LF included (`decode_with` also tries every chunk size 1..=7).
    for batch_rows in [1, 2, 16384] {
        let options = CsvOptions {
            batch_rows,
            ..CsvOptions::default()
        };
        let d = decode_with(b"a\r\n1\r\n2\r\n\r\n3\r\n", &options).unwrap();
        assert_eq!(d.lines, [2, 3, 5]);
        let d = decode_with(b"a\r1\r2\r\r3\r", &options).unwrap();
        assert_eq!(d.lines, [2, 3, 5]);
    }
    let mut decoder = CsvDecoder::new(CsvOptions::default());
    for piece in [
        &b"a\r"[..],
        b"\n1\r",
        b"\n\"x\r",
        b"\ny\"\r",
        b"\n2\r",
        b"3",
    ] {
        assert_eq!(decoder.decode(piece).unwrap(), piece.len());
    }
    decoder.finish().unwrap();
    let batch = decoder.flush().unwrap().unwrap();
    assert_eq!(batch.lines, [2, 3, 5, 6]);
}

#[test]
fn cr_only_line_numbers_in_errors_and_rejects() {
    assert_eq!(
        decode(b"a,b\r1,2\r3,\"abc\r4,5\r").unwrap_err(),
        CsvError::UnterminatedQuote { line: 3 }
    );
    assert_eq!(
        decode(b"a,b\r1,2\r\rx,caf\xe9\r").unwrap_err(),
        CsvError::InvalidUtf8 {
            line: 4,
            column: "b".into(),
            byte: 0xe9
        }
    );
    let options = CsvOptions {
        max_record_bytes: 10,
        ..CsvOptions::default()
    };
    assert_eq!(
        decode_with(b"a,b\r1,2\r\"x\ry\"\r123456,7890\r", &options).unwrap_err(),
        CsvError::RecordTooLarge { line: 5, limit: 10 }
    );
    let d = decode(b"a,b\r1\r2,3\r\"x\ry\",4,5\r").unwrap();
    assert_eq!(d.lines, [3]);
    assert_eq!(d.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
}

#[test]
fn cr_only_transcoded() {
    let options = CsvOptions {
        encoding: Some(encoding_rs::WINDOWS_1252),
        ..CsvOptions::default()
    };
    let d = decode_with(
        b"nome,pre\xe7o\r\x61\xe7\xe3\x6f,\x80 5\r\"x\ry\xe9\",z\r\rw,1",
        &options,
    )
    .unwrap();
    assert_eq!(d.header, names(&["nome", "preço"]));
    assert_eq!(
        d.rows,
        rows(&[&["ação", "€ 5"], &["x\ryé", "z"], &["w", "1"]])
    );
    assert_eq!(d.lines, [2, 3, 6]);

    let text = "\u{feff}a,b\ração,\"x\ry\"\r\r\n😀,z\r";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let options = CsvOptions {
        encoding: Some(encoding_rs::UTF_16LE),
        ..CsvOptions::default()
    };
    let d = decode_with(&bytes, &options).unwrap();
    assert_eq!(d.rows, rows(&[&["ação", "x\ry"], &["😀", "z"]]));
    assert_eq!(d.lines, [2, 5]);
}

#[test]
fn blank_lines_are_skipped_but_counted() {
    let d = decode(b"\na,b\n\n1,2\r\n\r\n\r\n3,4\n\n\n").unwrap();
    assert_eq!(d.header, names(&["a", "b"]));
    assert_eq!(d.rows, rows(&[&["1", "2"], &["3", "4"]]));
    assert_eq!(d.lines, [4, 7]);
    // A line holding only an empty quoted field is an empty line too (with several columns).
    let d = decode(b"a,b\n1,2\n\"\"\n3,4\n").unwrap();
    assert_eq!(d.rows, rows(&[&["1", "2"], &["3", "4"]]));
    assert_eq!(d.lines, [2, 4]);
    assert!(d.rejects.is_empty());
    // With one column it is an empty value.
    let d = decode(b"a\n1\n\"\"\n3\n").unwrap();
    assert_eq!(d.rows, rows(&[&["1"], &[""], &["3"]]));
}

#[test]
fn other_delimiters() {
    let options = CsvOptions {
        delimiter: b';',
        ..CsvOptions::default()
    };
    let d = decode_with(b"a;b\n1,5;\"x;y\"\n", &options).unwrap();
    assert_eq!(d.rows, rows(&[&["1,5", "x;y"]]));

    let options = CsvOptions {
        delimiter: b'\t',
        ..CsvOptions::default()
    };
    let d = decode_with(b"a\tb\tc\n1\t\t3\n\"\t\"\tx, y\t \n", &options).unwrap();
    assert_eq!(d.rows, rows(&[&["1", "", "3"], &["\t", "x, y", " "]]));
    assert_eq!(d.lines, [2, 3]);
}

#[test]
fn escape_character() {
    let options = CsvOptions {
        escape: Some(b'\\'),
        ..CsvOptions::default()
    };
    let d = decode_with(
        b"a,b\n\"say \\\"hi\\\"\",\"back\\\\slash\"\n\"x\\\ny\",plain\\text\n",
        &options,
    )
    .unwrap();
    assert_eq!(
        d.rows,
        rows(&[&["say \"hi\"", "back\\slash"], &["x\ny", "plain\\text"]])
    );
    assert_eq!(d.lines, [2, 3]);
    // An escape equal to the quote is plain doubling.
    let options = CsvOptions {
        escape: Some(b'"'),
        ..CsvOptions::default()
    };
    let d = decode_with(b"a\n\"x\"\"y\"\n", &options).unwrap();
    assert_eq!(d.rows, rows(&[&["x\"y"]]));
}

#[test]
fn ragged_rows_are_rejected() {
    let input = b"a,b,c\n1,2,3\n4,5\n\"multi\nline\",7,8,9\n10,11,12\n13";
    let d = decode(input).unwrap();
    assert_eq!(d.rows, rows(&[&["1", "2", "3"], &["10", "11", "12"]]));
    assert_eq!(d.lines, [2, 6]);
    assert_eq!(
        d.rejects,
        [
            RecordReject {
                column: None,
                line: 3,
                reason: "expected 3 fields, found 2".into(),
                raw: "4,5".into(),
            },
            RecordReject {
                column: None,
                line: 4,
                reason: "expected 3 fields, found 4".into(),
                raw: "multi\nline,7,8,9".into(),
            },
            RecordReject {
                column: None,
                line: 7,
                reason: "expected 3 fields, found 1".into(),
                raw: "13".into(),
            },
        ]
    );
}

#[test]
fn rejected_raw_is_truncated() {
    let mut input = b"a,b\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 700));
    input.push(b',');
    input.extend("é".repeat(400).bytes());
    input.extend(b",z\n");
    let d = decode(&input).unwrap();
    assert_eq!(d.rejects.len(), 1);
    let raw = &d.rejects[0].raw;
    assert!(raw.len() <= 1024 + '…'.len_utf8(), "{}", raw.len());
    assert!(raw.len() > 1000);
    assert!(raw.starts_with("xxx"));
    assert!(raw.ends_with("é…"));
}

#[test]
fn unterminated_quote_at_eof() {
    assert_eq!(
        decode(b"a,b\n1,2\n3,\"abc\n4,5\n").unwrap_err(),
        CsvError::UnterminatedQuote { line: 3 }
    );
    assert_eq!(
        decode(b"a,b\n1,\"ab\"\"").unwrap_err(),
        CsvError::UnterminatedQuote { line: 2 }
    );
    assert_eq!(
        decode(b"a,b\n\n1,\"").unwrap_err(),
        CsvError::UnterminatedQuote { line: 3 }
    );
    assert_eq!(
        decode(b"\"a,b\n").unwrap_err(),
        CsvError::UnterminatedQuote { line: 1 }
    );
    // Closed quotes at EOF without a newline are fine.
    let d = decode(b"a,b\n1,\"x\ny\"").unwrap();
    assert_eq!(d.rows, rows(&[&["1", "x\ny"]]));
    let d = decode(b"a,b\n1,\"\"").unwrap();
    assert_eq!(d.rows, rows(&[&["1", ""]]));

    let options = CsvOptions {
        escape: Some(b'\\'),
        ..CsvOptions::default()
    };
    assert_eq!(
        decode_with(b"a,b\n1,\"x\\\"", &options).unwrap_err(),
        CsvError::UnterminatedQuote { line: 2 }
    );
    let d = decode_with(b"a,b\n1,\"x\\\\\"", &options).unwrap();
    assert_eq!(d.rows, rows(&[&["1", "x\\"]]));
}

#[test]
fn invalid_utf8() {
    assert_eq!(
        decode(b"a,b\n1,2\nx,caf\xe9\n").unwrap_err(),
        CsvError::InvalidUtf8 {
            line: 3,
            column: "b".into(),
            byte: 0xe9
        }
    );
    // A character split across two fields is not valid in either.
    assert_eq!(
        decode(b"a,b\n\xc3,\xa7\n").unwrap_err(),
        CsvError::InvalidUtf8 {
            line: 2,
            column: "a".into(),
            byte: 0xc3
        }
    );
    // In the header, and in a ragged record past the header's width.
    assert_eq!(
        decode(b"a,\xff\n").unwrap_err(),
        CsvError::InvalidUtf8 {
            line: 1,
            column: "column_2".into(),
            byte: 0xff
        }
    );
    assert_eq!(
        decode(b"a,b\n1,2,\xff\n").unwrap_err(),
        CsvError::InvalidUtf8 {
            line: 2,
            column: "column_3".into(),
            byte: 0xff
        }
    );
    // Truncated at EOF.
    assert_eq!(
        decode(b"a\n\xe2\x82").unwrap_err(),
        CsvError::InvalidUtf8 {
            line: 2,
            column: "a".into(),
            byte: 0xe2
        }
    );
    let d = decode("a,b\nação,€ 😀\n".as_bytes()).unwrap();
    assert_eq!(d.rows, rows(&[&["ação", "€ 😀"]]));
}

#[test]
fn error_is_sticky() {
    let mut decoder = CsvDecoder::new(CsvOptions::default());
    let err = decoder.decode(b"a\n\xff\n1\n").unwrap_err();
    assert_eq!(decoder.decode(b"2\n").unwrap_err(), err);
    assert_eq!(decoder.finish().unwrap_err(), err);
}

#[test]
fn windows_1252() {
    let options = CsvOptions {
        encoding: Some(encoding_rs::WINDOWS_1252),
        ..CsvOptions::default()
    };
    let d = decode_with(
        b"nome,pre\xe7o\n\x61\xe7\xe3\x6f,\x80 5\n\"x\ny\xe9\",z",
        &options,
    )
    .unwrap();
    assert_eq!(d.header, names(&["nome", "preço"]));
    assert_eq!(d.rows, rows(&[&["ação", "€ 5"], &["x\nyé", "z"]]));
    assert_eq!(d.lines, [2, 3]);
}

#[test]
fn utf16le() {
    let text = "\u{feff}a,b\r\nação,\"x\ny\"\r\n😀,z\r\n";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let options = CsvOptions {
        encoding: Some(encoding_rs::UTF_16LE),
        ..CsvOptions::default()
    };
    let d = decode_with(&bytes, &options).unwrap();
    assert_eq!(d.header, names(&["a", "b"]));
    assert_eq!(d.rows, rows(&[&["ação", "x\ny"], &["😀", "z"]]));
    assert_eq!(d.lines, [2, 4]);
}

#[test]
fn utf16_read_as_utf8_is_a_nul_error() {
    let bytes: Vec<u8> = "a,b\n1,2\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(
        decode(&bytes).unwrap_err(),
        CsvError::NulByte {
            line: 1,
            column: "column_1".into()
        }
    );
}

#[test]
fn explicit_utf8_is_validated() {
    let options = CsvOptions {
        encoding: Some(encoding_rs::UTF_8),
        ..CsvOptions::default()
    };
    assert!(matches!(
        decode_with(b"a\n\xff\n", &options),
        Err(CsvError::InvalidUtf8 { line: 2, .. })
    ));
    let d = decode_with(b"\xef\xbb\xbfa\n\xc3\xa9\n", &options).unwrap();
    assert_eq!(d.header, names(&["a"]));
    assert_eq!(d.rows, rows(&[&["é"]]));
}

#[test]
fn bom_is_stripped() {
    let d = decode(b"\xef\xbb\xbfid,name\n1,x\n").unwrap();
    assert_eq!(d.header, names(&["id", "name"]));
    assert_eq!(d.rows, rows(&[&["1", "x"]]));
    assert_eq!(d.lines, [2]);
    // Only the leading one.
    let d = decode("a\n\u{feff}x\n".as_bytes()).unwrap();
    assert_eq!(d.rows, rows(&[&["\u{feff}x"]]));
    // Something that starts like a BOM but is not one is data.
    assert!(matches!(
        decode(b"\xef\xbbx\n"),
        Err(CsvError::InvalidUtf8 {
            line: 1,
            byte: 0xef,
            ..
        })
    ));
    assert!(matches!(
        decode(b"\xef"),
        Err(CsvError::InvalidUtf8 {
            line: 1,
            byte: 0xef,
            ..
        })
    ));
}

/// A NUL inside one field rejects that record only (a NUL in the header still fails the
/// file: see `utf16_read_as_utf8_is_a_nul_error`).
#[test]
fn nul_byte_rejects_its_record() {
    let d = decode(b"a,b\n1,2\n3,x\0y\n4,z\n").unwrap();
    assert_eq!(d.rows, rows(&[&["1", "2"], &["4", "z"]]));
    assert_eq!(d.lines, [2, 4]);
    assert_eq!(
        d.rejects,
        [RecordReject {
            column: Some("b".into()),
            line: 3,
            reason: "NUL byte in the value; PostgreSQL text cannot hold it".into(),
            raw: "x\0y".into(),
        }]
    );
}

#[test]
fn record_too_large() {
    let options = CsvOptions {
        max_record_bytes: 10,
        ..CsvOptions::default()
    };
    // Exactly at the limit (the terminator does not count).
    let d = decode_with(b"a,b\n1234,12345\r\n12345,1234", &options).unwrap();
    assert_eq!(d.rows.len(), 2);
    assert_eq!(
        decode_with(b"a,b\n1,2\n123456,7890\n", &options).unwrap_err(),
        CsvError::RecordTooLarge { line: 3, limit: 10 }
    );
    assert_eq!(
        decode_with(b"a,b\n1,2\n123456,7890", &options).unwrap_err(),
        CsvError::RecordTooLarge { line: 3, limit: 10 }
    );
    assert_eq!(
        decode_with(b"abcdefghijk\n", &options).unwrap_err(),
        CsvError::RecordTooLarge { line: 1, limit: 10 }
    );
    // Blank lines before a record are not part of it.
    let d = decode_with(b"a,b\n\n\n\n\n\n\n\n\n\n\n\n1,2\n", &options).unwrap();
    assert_eq!(d.lines, [13]);
}

#[test]
fn runaway_quote_fails_early() {
    let options = CsvOptions {
        max_record_bytes: 1000,
        ..CsvOptions::default()
    };
    let mut decoder = CsvDecoder::new(options);
    decoder.decode(b"a,b\n1,2\n3,\"oops\n").unwrap();
    let chunk = [b'x'; 100];
    let mut result = Ok(0);
    for _ in 0..11 {
        result = decoder.decode(&chunk);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(
        result.unwrap_err(),
        CsvError::RecordTooLarge {
            line: 3,
            limit: 1000
        }
    );
    // One huge slice is refused without buffering it all.
    let mut decoder = CsvDecoder::new(CsvOptions {
        max_record_bytes: 1000,
        ..CsvOptions::default()
    });
    let mut huge = b"a\n\"".to_vec();
    huge.resize(10 << 20, b'y');
    assert_eq!(
        decoder.decode(&huge).unwrap_err(),
        CsvError::RecordTooLarge {
            line: 2,
            limit: 1000
        }
    );
}

#[test]
fn empty_input() {
    for input in [&b""[..], b"\xef\xbb\xbf", b"\n", b"\r\n\r\n\n"] {
        assert_eq!(decode(input).unwrap_err(), CsvError::Empty, "{input:?}");
    }
    let options = CsvOptions {
        has_header: false,
        ..CsvOptions::default()
    };
    assert_eq!(decode_with(b"", &options).unwrap_err(), CsvError::Empty);
    let options = CsvOptions {
        encoding: Some(encoding_rs::UTF_16LE),
        ..CsvOptions::default()
    };
    assert_eq!(
        decode_with(b"\xff\xfe", &options).unwrap_err(),
        CsvError::Empty
    );
}

#[test]
fn header_only() {
    for input in [&b"a,b\n"[..], b"a,b", b"\xef\xbb\xbfa,b\r\n\r\n"] {
        let d = decode(input).unwrap();
        assert_eq!(d.header, names(&["a", "b"]));
        assert!(d.rows.is_empty());
        assert!(d.batch_sizes.is_empty());
    }
}

#[test]
fn bad_headers() {
    assert_eq!(
        decode(b"id,Name,x, name \n1,2,3,4\n").unwrap_err(),
        CsvError::DuplicateHeader {
            name: "name".into(),
            first: 2,
            second: 4
        }
    );
    assert_eq!(
        decode(b"a,,b\n").unwrap_err(),
        CsvError::EmptyHeader { index: 2 }
    );
    assert_eq!(
        decode(b"a,b,  \n").unwrap_err(),
        CsvError::EmptyHeader { index: 3 }
    );
    // Without a header row, the first record is data, whatever it holds.
    let options = CsvOptions {
        has_header: false,
        ..CsvOptions::default()
    };
    let d = decode_with(b"x,,x\n", &options).unwrap();
    assert_eq!(d.rows, rows(&[&["x", "", "x"]]));
}

#[test]
fn batches_split_at_batch_rows() {
    let mut input = b"n,sq\n".to_vec();
    for i in 1..=10 {
        input.extend(format!("{i},{}\n", i * i).bytes());
    }
    let options = CsvOptions {
        batch_rows: 3,
        ..CsvOptions::default()
    };
    let d = decode_with(&input, &options).unwrap();
    assert_eq!(d.batch_sizes, [3, 3, 3, 1]);
    assert_eq!(d.lines, (2..=11).collect::<Vec<u64>>());
    assert_eq!(d.rows[9], ["10", "100"]);

    // Rejects count towards a batch, and a file ending without newline still splits.
    let input = b"a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n11,12";
    let d = decode_with(input, &options).unwrap();
    assert_eq!(d.batch_sizes, [3, 3]);
    assert_eq!(d.lines, [2, 4, 6, 7]);
    assert_eq!(d.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 5]);

    // Transcoded input splits too (the last batch may run over after `finish`).
    let options = CsvOptions {
        batch_rows: 3,
        encoding: Some(encoding_rs::WINDOWS_1252),
        ..CsvOptions::default()
    };
    let mut input = b"n\n".to_vec();
    for i in 0..10_000 {
        input.extend(format!("{i}").bytes());
        input.extend(b"\xe9\n");
    }
    let d = run(&input, &options, 1000).unwrap();
    assert_eq!(d.rows.len(), 10_000);
    assert_eq!(d.rows[9_999], ["9999é"]);
    assert_eq!(d.lines, (2..=10_001).collect::<Vec<u64>>());
    assert!(d.batch_sizes.len() > 3000);
    assert!(
        d.batch_sizes[..d.batch_sizes.len() - 1]
            .iter()
            .all(|&n| n == 3)
    );
}

#[test]
fn bytes_read_tracks_the_source() {
    let mut decoder = CsvDecoder::new(CsvOptions {
        batch_rows: 2,
        ..CsvOptions::default()
    });
    let input = b"a\n1\n2\n3\n";
    let n = decoder.decode(input).unwrap();
    assert_eq!(n, 6, "stops after two records");
    let batch = decoder.flush().unwrap().unwrap();
    assert_eq!(batch.bytes_read, 6);
    assert_eq!(batch.lines, [2, 3]);
    assert_eq!(decoder.decode(&input[n..]).unwrap(), 2);
    decoder.finish().unwrap();
    let batch = decoder.flush().unwrap().unwrap();
    assert_eq!(batch.bytes_read, 8);
    assert_eq!(batch.lines, [4]);
    assert!(decoder.flush().unwrap().is_none());
}

#[test]
fn header_is_known_before_any_batch() {
    let mut decoder = CsvDecoder::new(CsvOptions::default());
    assert!(decoder.header().is_none());
    decoder.decode(b"x,y\n1,").unwrap();
    assert_eq!(decoder.header().unwrap(), ["x", "y"]);
    assert!(decoder.flush().unwrap().is_none());
}

/// Regression: batches were cut only at 256 MiB of field data, so a file of wide rows
/// kept over half a gigabyte in flight between the stages.
#[test]
fn wide_rows_make_small_batches() {
    let field = "x".repeat(1 << 20);
    let mut input = String::from("id,note\n");
    for i in 0..20 {
        input.push_str(&format!("{i},{field}\n"));
    }
    let mut decoder = CsvDecoder::new(CsvOptions::default());
    let (mut rows, mut largest) = (0, 0);
    let mut take = |batch: ingest_formats::TextBatch| {
        let bytes: usize = batch.columns.iter().map(|c| c.values().len()).sum();
        largest = largest.max(bytes);
        rows += batch.num_rows();
    };
    let mut rest = input.as_bytes();
    while !rest.is_empty() {
        let n = decoder.decode(rest).unwrap();
        rest = &rest[n..];
        if !rest.is_empty() {
            take(decoder.flush().unwrap().unwrap());
        }
    }
    decoder.finish().unwrap();
    while let Some(batch) = decoder.flush().unwrap() {
        take(batch);
    }
    assert_eq!(rows, 20);
    assert!(largest <= 6 << 20, "a batch held {largest} bytes of fields");
}

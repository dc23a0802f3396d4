use super::*;

/// Decodes `input` fed in chunks of `chunk` bytes; returns the keys and all batches.
fn decode(
    input: &[u8],
    chunk: usize,
    batch_rows: usize,
) -> Result<(Vec<String>, Vec<TextBatch>), JsonError> {
    let mut d = JsonDecoder::new(JsonOptions {
        batch_rows,
        ..JsonOptions::default()
    });
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        let mut pos = 0;
        while pos < piece.len() {
            pos += d.decode(&piece[pos..])?;
            if d.is_full() {
                out.extend(d.flush());
            }
        }
    }
    d.finish()?;
    out.extend(d.flush());
    Ok((d.keys().to_vec(), out))
}

use arrow_array::Array;

fn cells(b: &TextBatch, col: usize) -> Vec<Option<String>> {
    let a = &b.columns[col];
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect()
}

const NDJSON: &str = concat!(
    "{\"id\": 1, \"name\": \"Ana\", \"amount\": 12345678901234567890.12, \"ok\": true}\n",
    "{\"id\": 2, \"name\": \"Jos\\u00e9 \\\"Zé\\\"\", \"tags\": [1, {\"a\": \"}\"}], \"ok\": null}\r\n",
    "\n",
    "{\"name\": \"\", \"id\": 3}\n",
);

#[test]
fn ndjson_values_become_text_and_keys_columns() {
    for chunk in [1, 2, 3, 7, 64, 4096] {
        let (keys, batches) = decode(NDJSON.as_bytes(), chunk, 100).unwrap();
        assert_eq!(
            keys,
            ["id", "name", "amount", "ok", "tags"],
            "chunk {chunk}"
        );
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.lines, [1, 2, 4]);
        let s = |v: &str| Some(v.to_string());
        assert_eq!(cells(b, 0), [s("1"), s("2"), s("3")]);
        assert_eq!(cells(b, 1), [s("Ana"), s("José \"Zé\""), s("")]);
        assert_eq!(cells(b, 2), [s("12345678901234567890.12"), None, None]);
        assert_eq!(cells(b, 3), [s("true"), None, None]);
        assert_eq!(cells(b, 4), [None, s("[1, {\"a\": \"}\"}]"), None]);
    }
}

#[test]
fn a_json_array_of_objects() {
    let input = b"\xEF\xBB\xBF[\n  {\"a\": 1},\n  {\"a\": \"x,]\"}\n]\n";
    let (keys, batches) = decode(input, 5, 100).unwrap();
    assert_eq!(keys, ["a"]);
    assert_eq!(batches[0].lines, [2, 3]);
    assert_eq!(
        cells(&batches[0], 0),
        [Some("1".into()), Some("x,]".into())]
    );
}

#[test]
fn bad_records_are_rejected_with_their_line() {
    let input = b"{\"a\": 1}\n[1, 2]\n{\"a\": }\n{\"a\": 2, \"a\": 3}\n42\n{\"a\": 4}\n";
    let (_, batches) = decode(input, 3, 100).unwrap();
    let b = &batches[0];
    assert_eq!(b.lines, [1, 6]);
    let rejects: Vec<(u64, &str)> = b
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(rejects.len(), 4, "{rejects:?}");
    assert_eq!(rejects[0], (2, "not a JSON object"));
    assert_eq!(rejects[1].0, 3);
    assert!(rejects[1].1.starts_with("invalid JSON"), "{rejects:?}");
    assert_eq!(rejects[2], (4, "key \"a\" appears twice in the record"));
    assert_eq!(rejects[3], (5, "not a JSON object"));
}

#[test]
fn a_key_first_seen_after_the_first_batch_is_a_reject() {
    let input = b"{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3, \"b\": 1}\n";
    let (keys, batches) = decode(input, 100, 2).unwrap();
    assert_eq!(keys, ["a"]);
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1].rejects.len(), 1);
    assert!(batches[1].rejects[0].reason.contains("key \"b\""));
}

#[test]
fn structural_errors() {
    assert_eq!(
        decode(b"[{\"a\": 1}", 4, 10).unwrap_err(),
        JsonError::UnclosedArray { line: 1 }
    );
    assert_eq!(
        decode(b"{\"a\": 1}\n{\"a\": \"x", 4, 10).unwrap_err(),
        JsonError::Unterminated { line: 2 }
    );
    assert!(matches!(
        decode(b"[{}] x", 4, 10).unwrap_err(),
        JsonError::AfterArray { .. }
    ));
    assert!(matches!(
        decode(b"[{} {}]", 4, 10).unwrap_err(),
        JsonError::BetweenRecords { .. }
    ));
    let long = format!("{{\"a\": \"{}\"}}", "x".repeat(100));
    let mut d = JsonDecoder::new(JsonOptions {
        max_record_bytes: 50,
        ..JsonOptions::default()
    });
    assert!(matches!(
        d.decode(long.as_bytes()),
        Err(JsonError::TooLong { line: 1, limit: 50 })
    ));
}

#[test]
fn empty_input_has_no_records() {
    let (keys, batches) = decode(b" \n", 1, 10).unwrap();
    assert!(keys.is_empty() && batches.is_empty());
    let (_, batches) = decode(b"[]", 1, 10).unwrap();
    assert!(batches.is_empty());
}

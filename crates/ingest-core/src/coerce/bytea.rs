//! `bytea` in PostgreSQL's hex form: `\x` then pairs of hex digits, any case, with
//! whitespace allowed between pairs as PostgreSQL allows it. The escape form is refused.

use std::sync::Arc;

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::{ArrayRef, BinaryArray};
use arrow_buffer::OffsetBuffer;

use super::{CellError, Cells, null_buffer};

const NOT_HEX: &str = "not a bytea in hex form (\\x...)";

pub(super) fn coerce(cells: Cells, errors: &mut Vec<CellError>) -> ArrayRef {
    let len = cells.len();
    // Decoded bytes are fewer than the text's: the input's size bounds the buffer.
    let mut values = Vec::with_capacity(cells.raw.value_data().len() / 2);
    let mut offsets: Vec<i32> = Vec::with_capacity(len + 1);
    offsets.push(0);
    let mut valid = BooleanBufferBuilder::new(len);
    for row in 0..len {
        let start = values.len();
        let ok = match cells.get(row) {
            None => false,
            Some(text) => match decode(text.as_bytes(), &mut values) {
                Ok(()) => true,
                Err(reason) => {
                    values.truncate(start);
                    errors.push(CellError {
                        row,
                        reason: reason.to_owned(),
                    });
                    false
                }
            },
        };
        valid.append(ok);
        offsets.push(i32::try_from(values.len()).expect("decoded bytes fit the input's offsets"));
    }
    let offsets = OffsetBuffer::new(offsets.into());
    Arc::new(BinaryArray::new(offsets, values.into(), null_buffer(valid)))
}

fn decode(text: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let hex = text.strip_prefix(b"\\x").ok_or(NOT_HEX)?;
    let mut i = 0;
    while i < hex.len() {
        if matches!(hex[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let high = nibble(hex[i]).ok_or(NOT_HEX)?;
        let low = match hex.get(i + 1) {
            None => return Err("odd number of hex digits in bytea"),
            Some(&b) => nibble(b).ok_or(NOT_HEX)?,
        };
        out.push(high << 4 | low);
        i += 2;
    }
    Ok(())
}

fn nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{NULL, run};
    use super::NOT_HEX;
    use crate::{PgType, TextFormat};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    #[test]
    fn hex_form() {
        let fmt = TextFormat::default();
        let values = [
            "\\x",
            "\\x0a1B",
            "\\xDEADbeef",
            "\\x0a 1b\n2c",
            NULL,
            "\\x0a1",
            "0a1b",
            "\\X0a",
            "\\x0g",
            "abc\\000",
            "\\x0a1",
        ];
        let (a, e) = run(&PgType::Bytea, &fmt, &values);
        let a = a.as_binary::<i32>();
        assert_eq!(a.value(0), b"");
        assert!(a.is_valid(0), "empty bytea is not NULL");
        assert_eq!(a.value(1), [0x0a, 0x1b]);
        assert_eq!(a.value(2), [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(a.value(3), [0x0a, 0x1b, 0x2c]);
        let odd = "odd number of hex digits in bytea";
        assert_eq!(
            e,
            [
                (5, odd),
                (6, NOT_HEX),
                (7, NOT_HEX),
                (8, NOT_HEX),
                (9, NOT_HEX),
                (10, odd)
            ]
        );
        assert_eq!(
            a.value_offsets().last(),
            Some(&9),
            "refused values leave no bytes"
        );
    }
}

//! `uuid`: the forms the `uuid` crate reads (hyphenated, 32 hex digits, `{braced}`,
//! `urn:uuid:`), any case, into 16 bytes.

use std::sync::Arc;

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::{ArrayRef, FixedSizeBinaryArray};
use uuid::Uuid;

use super::{CellError, Cells, null_buffer};

const REASON: &str = "not a uuid (expected 8-4-4-4-12 hex digits)";

pub(super) fn coerce(cells: Cells, errors: &mut Vec<CellError>) -> ArrayRef {
    let len = cells.len();
    let mut bytes = Vec::with_capacity(len * 16);
    let mut valid = BooleanBufferBuilder::new(len);
    for row in 0..len {
        let parsed = cells.get(row).and_then(|text| match Uuid::try_parse(text) {
            Ok(uuid) => Some(uuid),
            Err(_) => {
                errors.push(CellError {
                    row,
                    reason: REASON.to_owned(),
                });
                None
            }
        });
        bytes.extend_from_slice(parsed.map_or([0u8; 16], Uuid::into_bytes).as_slice());
        valid.append(parsed.is_some());
    }
    Arc::new(FixedSizeBinaryArray::new(
        16,
        bytes.into(),
        null_buffer(valid),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::run;
    use super::REASON;
    use crate::{PgType, TextFormat};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    #[test]
    fn forms() {
        let fmt = TextFormat::default();
        let want: [u8; 16] = [
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ];
        let forms = [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ];
        let (a, e) = run(&PgType::Uuid, &fmt, &forms);
        assert!(e.is_empty(), "{e:?}");
        let a = a.as_fixed_size_binary();
        assert!((0..forms.len()).all(|i| a.value(i) == want));
        let bad = [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "x",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ",
            "",
        ];
        let (a, e) = run(&PgType::Uuid, &fmt, &bad);
        assert_eq!(e, [(0, REASON), (1, REASON), (2, REASON), (3, REASON)]);
        assert_eq!(a.null_count(), 5);
    }
}

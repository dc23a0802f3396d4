//! Checks on, and text taken from, the fields of one completed record: valid UTF-8 without
//! NUL bytes, the header's names, and a rejected record's raw text.

use std::collections::HashMap;

use crate::csv::CsvError;

/// How much of a rejected record is kept in `RecordReject::raw`.
const REJECT_RAW_LIMIT: usize = 1024;

/// What is wrong with a record's text: the field (0-based) and, for UTF-8, the first bad byte.
pub(super) enum TextFault {
    Utf8 { field: usize, byte: u8 },
    Nul { field: usize },
}

impl TextFault {
    pub(super) fn into_error(self, line: u64, header: Option<&[String]>) -> CsvError {
        let name = |field: usize| match header.and_then(|h| h.get(field)) {
            Some(name) => name.clone(),
            None => format!("column_{}", field + 1),
        };
        match self {
            TextFault::Utf8 { field, byte } => CsvError::InvalidUtf8 {
                line,
                column: name(field),
                byte,
            },
            TextFault::Nul { field } => CsvError::NulByte {
                line,
                column: name(field),
            },
        }
    }
}

/// Checks that each field of a record is valid UTF-8 without NUL bytes: the fields back to
/// back must be valid UTF-8 and each field boundary a char boundary. Without `check_utf8`
/// (the fields are known to be valid UTF-8), only NUL bytes are looked for.
pub(super) fn check_text(data: &[u8], ends: &[usize], check_utf8: bool) -> Result<(), TextFault> {
    let field_of = |pos: usize| ends.partition_point(|&end| end <= pos);
    if check_utf8 {
        if let Err(err) = std::str::from_utf8(data) {
            let pos = err.valid_up_to();
            return Err(TextFault::Utf8 {
                field: field_of(pos),
                byte: data[pos],
            });
        }
        let is_continuation = |b: u8| b & 0xC0 == 0x80;
        for &end in ends {
            if end < data.len() && is_continuation(data[end]) {
                // A character split between two fields: report its lead byte.
                let mut pos = end;
                while pos > 0 && is_continuation(data[pos]) {
                    pos -= 1;
                }
                return Err(TextFault::Utf8 {
                    field: field_of(pos),
                    byte: data[pos],
                });
            }
        }
    } else {
        debug_assert!(
            std::str::from_utf8(data).is_ok()
                && ends
                    .iter()
                    .all(|&end| end >= data.len() || data[end] & 0xC0 != 0x80),
            "fields assumed valid UTF-8 are not"
        );
    }
    if let Some(pos) = memchr::memchr(0, data) {
        return Err(TextFault::Nul {
            field: field_of(pos),
        });
    }
    Ok(())
}

/// The header's names, trimmed; empty or (case-insensitively) repeated names are errors.
pub(super) fn header_names(data: &[u8], ends: &[usize]) -> Result<Vec<String>, CsvError> {
    let mut names = Vec::with_capacity(ends.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(ends.len());
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        let position = i + 1;
        // Valid UTF-8 (see `check_text`).
        let name = String::from_utf8_lossy(&data[start..end]);
        start = end;
        let name = name.trim();
        if name.is_empty() {
            return Err(CsvError::EmptyHeader { index: position });
        }
        if let Some(&first) = seen.get(&name.to_lowercase()) {
            return Err(CsvError::DuplicateHeader {
                name: name.to_owned(),
                first,
                second: position,
            });
        }
        seen.insert(name.to_lowercase(), position);
        names.push(name.to_owned());
    }
    Ok(names)
}

/// A rejected record's fields joined by the delimiter, cut to about `REJECT_RAW_LIMIT` bytes.
pub(super) fn join_raw(data: &[u8], ends: &[usize], delimiter: u8) -> String {
    let mut raw = Vec::with_capacity((data.len() + ends.len()).min(REJECT_RAW_LIMIT + 4));
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        if raw.len() > REJECT_RAW_LIMIT {
            break;
        }
        if i > 0 {
            raw.push(delimiter);
        }
        let take = end.min(start + REJECT_RAW_LIMIT + 4);
        raw.extend_from_slice(&data[start..take]);
        start = end;
    }
    let truncated = raw.len() > REJECT_RAW_LIMIT;
    if truncated {
        let mut cut = REJECT_RAW_LIMIT;
        while cut > 0 && raw[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        raw.truncate(cut);
    }
    let mut raw = String::from_utf8_lossy(&raw).into_owned();
    if truncated {
        raw.push('…');
    }
    raw
}

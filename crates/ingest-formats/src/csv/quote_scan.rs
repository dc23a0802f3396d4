//! A replay of csv-core's quoting rules over the raw bytes of one record, to tell whether the
//! record ends inside a quoted field (csv-core itself silently closes such a field at EOF).

/// The quoting configuration, as handed to csv-core.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quoting {
    pub(super) delimiter: u8,
    pub(super) quote: u8,
    /// Never equal to `quote` (a quote escaping itself is `double_quote`).
    pub(super) escape: Option<u8>,
    pub(super) double_quote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    Unquoted,
    Quoted,
    /// After the escape byte inside quotes: the next byte is literal.
    Escaped,
    /// After a quote inside quotes: either its closing quote or the first of a doubled pair.
    AfterQuote,
}

/// Whether `raw` (the bytes of one record, from its first byte, without a terminator after
/// it) stops inside a quoted field. Mirrors the transitions of csv-core's NFA
/// (`InQuotedField`, `InEscapedQuote`, `InDoubleEscapedQuote`).
pub(super) fn ends_inside_quotes(raw: &[u8], q: Quoting) -> bool {
    let mut state = State::StartField;
    for &b in raw {
        state = step(state, b, q);
    }
    matches!(state, State::Quoted | State::Escaped)
}

/// Calls `quoted(i)` for each field `i` of the record in `raw` that starts with a quote.
/// PostgreSQL's CSV rule: a quoted field is never the NULL marker (`""` is an empty
/// string, `,,` is NULL).
pub(super) fn quoted_fields<'a>(
    raw: impl IntoIterator<Item = &'a u8>,
    q: Quoting,
    mut quoted: impl FnMut(usize),
) {
    let mut state = State::StartField;
    let mut field = 0;
    for &b in raw {
        let next = step(state, b, q);
        if state == State::StartField && next == State::Quoted {
            quoted(field);
        }
        if next == State::StartField {
            field += 1;
        }
        state = next;
    }
}

fn step(state: State, b: u8, q: Quoting) -> State {
    match state {
        State::StartField => {
            if b == q.quote {
                State::Quoted
            } else if b == q.delimiter {
                State::StartField
            } else {
                State::Unquoted
            }
        }
        State::Unquoted => {
            if b == q.delimiter {
                State::StartField
            } else {
                State::Unquoted
            }
        }
        State::Quoted => {
            if b == q.quote {
                State::AfterQuote
            } else if q.escape == Some(b) {
                State::Escaped
            } else {
                State::Quoted
            }
        }
        State::Escaped => State::Quoted,
        State::AfterQuote => {
            if q.double_quote && b == q.quote {
                State::Quoted
            } else if b == q.delimiter {
                State::StartField
            } else {
                State::Unquoted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOUBLING: Quoting = Quoting {
        delimiter: b',',
        quote: b'"',
        escape: None,
        double_quote: true,
    };
    const BACKSLASH: Quoting = Quoting {
        delimiter: b',',
        quote: b'"',
        escape: Some(b'\\'),
        double_quote: false,
    };

    #[test]
    fn doubling() {
        for (raw, open) in [
            (&b"a,b"[..], false),
            (b"a,\"b", true),
            (b"a,\"b\"", false),
            (b"a,\"b\"\"", true),
            (b"a,\"b\"\"\"", false),
            (b"\"\"", false),
            (b"\"", true),
            (b"a\"b", false),
            (b"\"a\nb", true),
            (b"\"a\",\"", true),
            (b"\"a\"x,y", false),
            (b"\"a\\\"", false),
        ] {
            assert_eq!(
                ends_inside_quotes(raw, DOUBLING),
                open,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn which_fields_are_quoted() {
        let found = |raw: &[u8]| {
            let mut v = Vec::new();
            quoted_fields(raw, DOUBLING, |i| v.push(i));
            v
        };
        assert_eq!(found(b"a,\"\",,\"x,y\",\"\"\"\"\n"), [1, 3, 4]);
        assert_eq!(found(b",,"), [] as [usize; 0]);
        assert_eq!(found(b"\"\""), [0]);
    }

    #[test]
    fn escape() {
        for (raw, open) in [
            (&b"\"a\\\"b\""[..], false),
            (b"\"a\\\"", true),
            (b"\"a\\", true),
            (b"\"a\\\\\"", false),
            (b"\"a\"\"", false),
            (b"x,\"a\"", false),
        ] {
            assert_eq!(
                ends_inside_quotes(raw, BACKSLASH),
                open,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}

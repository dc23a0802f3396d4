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
        state = match state {
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
        };
    }
    matches!(state, State::Quoted | State::Escaped)
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

//! Line numbering for error messages and rejects: csv-core's own `line()` counts LF only.

/// Line numbering as an editor shows it: LF, CRLF and a CR not followed by LF each end a line.
/// The input comes in pieces, so a CR is counted as soon as it is seen and an LF only when the
/// byte before it (maybe at the end of the previous piece) was not a CR.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineCounter {
    /// 1-based line of the next byte.
    pub(super) line: u64,
    /// Whether the last byte counted was a CR.
    after_cr: bool,
}

impl LineCounter {
    pub(super) fn new() -> Self {
        LineCounter {
            line: 1,
            after_cr: false,
        }
    }

    pub(super) fn advance(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            let after_cr = match i {
                0 => self.after_cr,
                _ => bytes[i - 1] == b'\r',
            };
            if bytes[i] == b'\r' || !after_cr {
                self.line += 1;
            }
        }
        self.after_cr = last == b'\r';
    }
}

#[cfg(test)]
mod tests {
    use super::LineCounter;

    /// The line after feeding `pieces` one after another.
    fn line_after(pieces: &[&[u8]]) -> u64 {
        let mut counter = LineCounter::new();
        for piece in pieces {
            counter.advance(piece);
        }
        counter.line
    }

    #[test]
    fn line_breaks() {
        assert_eq!(line_after(&[b""]), 1);
        assert_eq!(line_after(&[b"a\nb\n"]), 3);
        assert_eq!(line_after(&[b"a\r\nb\r\n"]), 3);
        assert_eq!(line_after(&[b"a\rb\r"]), 3);
        assert_eq!(line_after(&[b"\r\r\n\n\r"]), 5);
        assert_eq!(line_after(&[b"\n\r"]), 3);
    }

    #[test]
    fn crlf_split_between_pieces() {
        assert_eq!(line_after(&[b"a\r", b"\nb"]), 2);
        assert_eq!(line_after(&[b"a\r", b"", b"\nb"]), 2);
        assert_eq!(line_after(&[b"a\r", b"b\n"]), 3);
        assert_eq!(line_after(&[b"\r", b"\r", b"\n", b"\n"]), 4);
        assert_eq!(line_after(&[b"\n", b"\n"]), 3);
    }
}

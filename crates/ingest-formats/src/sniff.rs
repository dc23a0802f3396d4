//! A look at the head of a file for whether it is UTF-8, before an encoding is chosen.
//!
//! Valid UTF-8 with multi-byte characters is very unlikely to be anything else (Windows-1252
//! text would need its accented letters to come in exactly UTF-8's lead and continuation
//! pattern), so a locale's legacy default (e.g. Windows-1252 for pt-BR) should give way to it.

pub(crate) const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// What [`sniff_encoding`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A UTF-8 BOM, or valid UTF-8 with at least one multi-byte character.
    Utf8,
    /// No evidence either way: all ASCII (an incomplete sequence cut off at the very end,
    /// with no whole multi-byte character before it, proves nothing either).
    Ascii,
    /// Not valid UTF-8: some legacy single- or multi-byte encoding (or UTF-16 and the like).
    NotUtf8,
}

/// Classifies `head`, the first bytes of a file (any length, possibly cut in the middle of a
/// character).
///
/// A multi-byte sequence cut off at the very end of `head` is allowed; it counts as neither a
/// multi-byte character nor an invalid byte, since the lead byte alone (e.g. `0xE7`, "ç" in
/// Windows-1252) is also what a legacy encoding would put there.
pub fn sniff_encoding(head: &[u8]) -> Sniffed {
    if head.starts_with(&UTF8_BOM) {
        return Sniffed::Utf8;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => head,
        // Only a sequence cut off by the end of `head`.
        Err(err) if err.error_len().is_none() => &head[..err.valid_up_to()],
        Err(_) => return Sniffed::NotUtf8,
    };
    if valid.is_ascii() {
        Sniffed::Ascii
    } else {
        Sniffed::Utf8
    }
}

#[cfg(test)]
mod tests {
    use super::{Sniffed, sniff_encoding};

    #[test]
    fn bom() {
        assert_eq!(sniff_encoding(b"\xef\xbb\xbfid,name\n"), Sniffed::Utf8);
        assert_eq!(sniff_encoding(b"\xef\xbb\xbf"), Sniffed::Utf8);
        // What follows the BOM is not looked at.
        assert_eq!(sniff_encoding(b"\xef\xbb\xbfa\xe7\xe3o"), Sniffed::Utf8);
    }

    #[test]
    fn pure_ascii() {
        assert_eq!(sniff_encoding(b"id,name\n1,ana\r\n"), Sniffed::Ascii);
        assert_eq!(sniff_encoding(b""), Sniffed::Ascii);
    }

    #[test]
    fn utf8_text() {
        assert_eq!(
            sniff_encoding("id,nome\n1,ação\n".as_bytes()),
            Sniffed::Utf8
        );
        assert_eq!(sniff_encoding("€ 😀".as_bytes()), Sniffed::Utf8);
    }

    #[test]
    fn windows_1252_text() {
        assert_eq!(sniff_encoding(b"\x61\xe7\xe3\x6f"), Sniffed::NotUtf8);
        assert_eq!(
            sniff_encoding(b"id,nome\n1,\x61\xe7\xe3\x6f\n"),
            Sniffed::NotUtf8
        );
    }

    #[test]
    fn utf8_cut_at_the_end() {
        let text = "ação, €".as_bytes();
        // "€" is three bytes: cut after one and after two of them.
        assert_eq!(sniff_encoding(&text[..text.len() - 1]), Sniffed::Utf8);
        assert_eq!(sniff_encoding(&text[..text.len() - 2]), Sniffed::Utf8);
        // "ç" cut after its lead byte.
        assert_eq!(sniff_encoding(&"aç".as_bytes()[..2]), Sniffed::Ascii);
        // A BOM cut short is no evidence either.
        assert_eq!(sniff_encoding(b"\xef\xbb"), Sniffed::Ascii);
    }

    #[test]
    fn invalid_byte_in_the_middle() {
        assert_eq!(sniff_encoding(b"a\xffb"), Sniffed::NotUtf8);
        // After valid multi-byte characters too.
        assert_eq!(
            sniff_encoding(b"a\xc3\xa7\xc3\xa3o \xe9 x"),
            Sniffed::NotUtf8
        );
        // A lead byte followed by something other than a continuation byte.
        assert_eq!(sniff_encoding(b"a\xe7b"), Sniffed::NotUtf8);
    }
}

//! Splitting one array value into element texts: PostgreSQL's literal `{a,"b,c",NULL}` or a
//! JSON array `[1, "x", null]`. Elements go into a reused buffer as ranges, `None` for NULL.

use std::ops::Range;

use serde::de::IgnoredAny;

use super::{is_space, trim_space};

pub(super) const MULTI_DIMENSIONAL: &str = "only one-dimensional arrays are supported";

/// The elements of one array value: their text in `text`, each a range of it or NULL.
#[derive(Default)]
pub(super) struct Elements {
    pub(super) text: String,
    pub(super) items: Vec<Option<Range<usize>>>,
}

impl Elements {
    fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = Option<&str>> {
        self.items.iter().map(|r| r.clone().map(|r| &self.text[r]))
    }
}

/// Splits `value` into `out` (cleared first). With `comma_numbers`, JSON numbers get a
/// decimal comma, to be read by a text format that has one.
pub(super) fn split(value: &str, comma_numbers: bool, out: &mut Elements) -> Result<(), String> {
    out.clear();
    let value = trim_space(value);
    if value.starts_with('[') {
        split_json(value, comma_numbers, out)
    } else {
        split_literal(value, out).map_err(|detail| match detail {
            MULTI_DIMENSIONAL => detail.to_owned(),
            _ => format!("malformed array literal: {detail}"),
        })
    }
}

fn split_literal(s: &str, out: &mut Elements) -> Result<(), &'static str> {
    let mut chars = s.char_indices().peekable();
    if chars.next().map(|(_, c)| c) != Some('{') {
        return Err("expected {a,b,...} or a json array");
    }
    let skip_space = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
        while chars.next_if(|&(_, c)| is_space(c)).is_some() {}
    };
    skip_space(&mut chars);
    if chars.next_if(|&(_, c)| c == '}').is_none() {
        loop {
            skip_space(&mut chars);
            let start = out.text.len();
            match chars.peek().map(|&(_, c)| c) {
                None => return Err("missing closing brace"),
                Some('{') => return Err(MULTI_DIMENSIONAL),
                Some(',' | '}') => return Err("empty element"),
                Some('"') => {
                    chars.next();
                    loop {
                        match chars.next().map(|(_, c)| c) {
                            None => return Err("unterminated quoted element"),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some((_, c)) => out.text.push(c),
                                None => return Err("unterminated quoted element"),
                            },
                            Some(c) => out.text.push(c),
                        }
                    }
                    skip_space(&mut chars);
                    out.items.push(Some(start..out.text.len()));
                }
                Some(_) => {
                    // Unquoted: up to a delimiter, trailing unescaped blanks dropped.
                    let (mut end, mut escaped) = (start, false);
                    while let Some(&(_, c)) = chars.peek() {
                        match c {
                            ',' | '}' => break,
                            '"' => return Err("quote inside an unquoted element"),
                            '{' => return Err("brace inside an unquoted element"),
                            '\\' => {
                                chars.next();
                                let (_, escaped_char) =
                                    chars.next().ok_or("missing closing brace")?;
                                out.text.push(escaped_char);
                                (end, escaped) = (out.text.len(), true);
                                continue;
                            }
                            c => {
                                out.text.push(c);
                                if !is_space(c) {
                                    end = out.text.len();
                                }
                            }
                        }
                        chars.next();
                    }
                    out.text.truncate(end);
                    if !escaped && out.text[start..].eq_ignore_ascii_case("null") {
                        out.text.truncate(start);
                        out.items.push(None);
                    } else {
                        out.items.push(Some(start..end));
                    }
                }
            }
            match chars.next().map(|(_, c)| c) {
                Some(',') => continue,
                Some('}') => break,
                Some(_) => return Err("expected , or } after a quoted element"),
                None => return Err("missing closing brace"),
            }
        }
    }
    match chars.next() {
        None => Ok(()),
        Some(_) => Err("text after the closing brace"),
    }
}

fn split_json(s: &str, comma_numbers: bool, out: &mut Elements) -> Result<(), String> {
    serde_json::from_str::<IgnoredAny>(s).map_err(|e| format!("invalid json array: {e}"))?;
    // Valid JSON: top-level elements are found by depth, skipping strings.
    let bytes = s.as_bytes();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 1);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    json_element(&s[start..i], comma_numbers, out)?;
                }
            }
            b',' if depth == 1 => {
                json_element(&s[start..i], comma_numbers, out)?;
                start = i + 1;
            }
            _ => {}
        }
    }
    Ok(())
}

fn json_element(raw: &str, comma_numbers: bool, out: &mut Elements) -> Result<(), String> {
    let raw = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let start = out.text.len();
    match raw.as_bytes().first() {
        // `[]`: no element at all.
        None => return Ok(()),
        Some(b'[') => return Err(MULTI_DIMENSIONAL.to_owned()),
        Some(b'"') => {
            let text: String =
                serde_json::from_str(raw).map_err(|e| format!("invalid json array: {e}"))?;
            out.text.push_str(&text);
        }
        Some(b'n') => {
            out.items.push(None);
            return Ok(());
        }
        Some(b'-' | b'0'..=b'9') if comma_numbers => out
            .text
            .extend(raw.chars().map(|c| if c == '.' { ',' } else { c })),
        // true, false, numbers, objects: as written.
        Some(_) => out.text.push_str(raw),
    }
    out.items.push(Some(start..out.text.len()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(value: &str) -> Result<Vec<Option<String>>, String> {
        let mut out = Elements::default();
        split(value, false, &mut out)?;
        Ok(out.iter().map(|e| e.map(str::to_owned)).collect())
    }

    fn some(items: &[&str]) -> Vec<Option<String>> {
        items.iter().map(|s| Some((*s).to_owned())).collect()
    }

    #[test]
    fn postgres_literals() {
        assert_eq!(elements("{}"), Ok(vec![]));
        assert_eq!(elements(" { } "), Ok(vec![]));
        assert_eq!(elements("{a,b,c}"), Ok(some(&["a", "b", "c"])));
        assert_eq!(elements("{ a , b c ,\tc\t}"), Ok(some(&["a", "b c", "c"])));
        assert_eq!(
            elements(r#"{"c,d","with \"quote\"","back\\slash"}"#),
            Ok(some(&["c,d", r#"with "quote""#, r"back\slash"]))
        );
        assert_eq!(
            elements(r#"{NULL,null,"NULL",N\ULL, NuLl }"#),
            Ok(vec![
                None,
                None,
                Some("NULL".into()),
                Some("NULL".into()),
                None
            ])
        );
        assert_eq!(elements(r#"{"", " x "}"#), Ok(some(&["", " x "])));
        assert_eq!(elements(r"{a\,b,c\ }"), Ok(some(&["a,b", "c "])));
        assert_eq!(elements("{ção,日本}"), Ok(some(&["ção", "日本"])));
    }

    #[test]
    fn malformed_literals() {
        assert_eq!(elements("{{1,2},{3,4}}"), Err(MULTI_DIMENSIONAL.to_owned()));
        assert_eq!(elements("{1,{2}}"), Err(MULTI_DIMENSIONAL.to_owned()));
        let malformed = [
            ("1,2", "expected {a,b,...} or a json array"),
            ("{1,2", "missing closing brace"),
            ("{1,,2}", "empty element"),
            ("{,}", "empty element"),
            ("{1,}", "empty element"),
            (r#"{"ab"c}"#, "expected , or } after a quoted element"),
            (r#"{"abc}"#, "unterminated quoted element"),
            (r#"{ab"c"}"#, "quote inside an unquoted element"),
            ("{1,2} x", "text after the closing brace"),
            ("[1:2]={1,2}", ""),
        ];
        for (value, detail) in malformed {
            let err = elements(value).unwrap_err();
            if detail.is_empty() {
                assert!(err.starts_with("invalid json array"), "{value}: {err}");
            } else {
                assert_eq!(err, format!("malformed array literal: {detail}"), "{value}");
            }
        }
    }

    #[test]
    fn json_arrays() {
        assert_eq!(elements("[]"), Ok(vec![]));
        assert_eq!(elements(" [ ] "), Ok(vec![]));
        assert_eq!(
            elements(r#"[1, -2.50, "x", null, true, "a,\"b\"", {"k": [1, 2]}, 1e400]"#),
            Ok(vec![
                Some("1".into()),
                Some("-2.50".into()),
                Some("x".into()),
                None,
                Some("true".into()),
                Some(r#"a,"b""#.into()),
                Some(r#"{"k": [1, 2]}"#.into()),
                Some("1e400".into())
            ])
        );
        assert_eq!(
            elements(r#"["null", "]", "\u00e7"]"#),
            Ok(some(&["null", "]", "ç"]))
        );
        assert_eq!(elements("[[1,2],[3]]"), Err(MULTI_DIMENSIONAL.to_owned()));
        assert!(
            elements("[1,")
                .unwrap_err()
                .starts_with("invalid json array: ")
        );
        let mut out = Elements::default();
        split("[1.5, 2]", true, &mut out).unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), [Some("1,5"), Some("2")]);
    }
}

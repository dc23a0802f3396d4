//! `$n` parameters written into the SQL as literals, since `COPY (query) TO STDOUT` takes
//! no bind parameters. Only real placeholders are replaced: not a `$1` inside a string, a
//! quoted identifier, a comment or a dollar-quoted body, nor the `$` of an identifier
//! such as `price$1`. Digits are read whole, so `$10` is never taken for `$1` and a `0`.

/// Why the parameters cannot be written in.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InlineError {
    #[error("${n} has no value ({given} parameters given)")]
    Missing { n: usize, given: usize },
    #[error("parameter ${n} contains a NUL byte, which PostgreSQL text cannot hold")]
    Nul { n: usize },
}

/// `sql` with each `$n` replaced by `params[n - 1]` as an escape string literal (`E'..'`,
/// which reads the same whatever `standard_conforming_strings` says); PostgreSQL resolves
/// its type from where it stands, as it would a parameter's.
pub(crate) fn inline(sql: &str, params: &[String]) -> Result<String, InlineError> {
    if let Some(n) = params.iter().position(|p| p.contains('\0')) {
        return Err(InlineError::Nul { n: n + 1 });
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + params.iter().map(String::len).sum::<usize>());
    // `sql[copied..at]` is still to be copied as it is.
    let (mut copied, mut at) = (0, 0);
    while at < b.len() {
        let follows_word = at > 0 && is_word(b[at - 1]);
        at = match b[at] {
            b'\'' => {
                // E'..' (not the E ending a word) takes backslash escapes; other strings
                // only '' (standard_conforming_strings is on by default since 9.1).
                let escapes =
                    at > 0 && matches!(b[at - 1], b'e' | b'E') && (at < 2 || !is_word(b[at - 2]));
                quoted(b, at, b'\'', escapes)
            }
            b'"' => quoted(b, at, b'"', false),
            b'-' if b.get(at + 1) == Some(&b'-') => line_end(b, at),
            b'/' if b.get(at + 1) == Some(&b'*') => block_comment(b, at),
            b'$' if !follows_word && b.get(at + 1).is_some_and(u8::is_ascii_digit) => {
                let end = (at + 1..b.len())
                    .find(|&i| !b[i].is_ascii_digit())
                    .unwrap_or(b.len());
                let n: usize = sql[at + 1..end].parse().unwrap_or(usize::MAX);
                let value =
                    n.checked_sub(1)
                        .and_then(|i| params.get(i))
                        .ok_or(InlineError::Missing {
                            n,
                            given: params.len(),
                        })?;
                out.push_str(&sql[copied..at]);
                literal(value, &mut out);
                copied = end;
                end
            }
            b'$' if !follows_word => dollar_quoted(b, at),
            _ => at + 1,
        };
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

/// A character of an identifier (or of a dollar-quote tag): letters, digits, `_`, `$`
/// and any non-ASCII byte.
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The end of a string or identifier opened by `quote` at `at` (a doubled quote is one
/// quote in it).
fn quoted(b: &[u8], at: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = at + 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

fn line_end(b: &[u8], at: usize) -> usize {
    b[at..]
        .iter()
        .position(|&x| x == b'\n')
        .map_or(b.len(), |p| at + p + 1)
}

/// The end of a `/* */` comment, which nest in PostgreSQL.
fn block_comment(b: &[u8], at: usize) -> usize {
    let (mut depth, mut i) = (0usize, at);
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// The end of a `$tag$ .. $tag$` body opened at `at`; just past the `$` when it opens none.
fn dollar_quoted(b: &[u8], at: usize) -> usize {
    let tag_end = (at + 1..b.len()).find(|&i| !is_word(b[i]) || b[i] == b'$');
    let Some(close) = tag_end.filter(|&i| b[i] == b'$') else {
        return at + 1;
    };
    let tag = &b[at..=close];
    b[close + 1..]
        .windows(tag.len())
        .position(|w| w == tag)
        .map_or(b.len(), |p| close + 1 + p + tag.len())
}

fn literal(value: &str, out: &mut String) {
    out.push_str("E'");
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn placeholders_become_escaped_literals() {
        let ten: Vec<String> = (1..=10).map(|i| format!("v{i}")).collect();
        assert_eq!(
            inline("a = $1 and b = $10 and c = $2", &ten).unwrap(),
            "a = E'v1' and b = E'v10' and c = E'v2'"
        );
        assert_eq!(
            inline("name = $1", &p(&["O'Brien \\ co"])).unwrap(),
            "name = E'O''Brien \\\\ co'"
        );
        assert_eq!(
            inline(
                "($1::timestamptz - interval '600 seconds')",
                &p(&["2026-01-02"])
            )
            .unwrap(),
            "(E'2026-01-02'::timestamptz - interval '600 seconds')"
        );
        assert_eq!(
            inline("x = $2", &p(&["a"])),
            Err(InlineError::Missing { n: 2, given: 1 })
        );
        assert_eq!(
            inline("x = $1", &p(&["a\0"])),
            Err(InlineError::Nul { n: 1 })
        );
    }

    #[test]
    fn dollars_that_are_not_placeholders_stay() {
        let one = p(&["v"]);
        for sql in [
            "select 'costs $1', \"col$1\", price$1 from t -- $1\n",
            "select /* $1 /* nested $1 */ $1 */ 1",
            "select $$ $1 $$, $fn$ $1 $fn$",
            "select E'it\\'s $1', 'it''s $1'",
        ] {
            assert_eq!(inline(sql, &one).unwrap(), sql);
        }
        assert_eq!(
            inline("select 'a''$1' || $1 || é$1 || $1", &one).unwrap(),
            "select 'a''$1' || E'v' || é$1 || E'v'"
        );
    }
}

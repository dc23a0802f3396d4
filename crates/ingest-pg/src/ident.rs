//! SQL identifiers: always quoted, never interpolated raw.

/// `"name"` with embedded quotes doubled: safe for any name, including `;`, quotes and
/// unicode.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A comma-separated list of quoted identifiers, each prefixed with `prefix` (e.g. `t.`).
pub fn column_list<'a>(names: impl IntoIterator<Item = &'a str>, prefix: &str) -> String {
    names
        .into_iter()
        .map(|n| format!("{prefix}{}", quote_ident(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_everything_is_wrapped() {
        assert_eq!(quote_ident("orders"), "\"orders\"");
        assert_eq!(
            quote_ident("a\"; drop table x; --"),
            "\"a\"\"; drop table x; --\""
        );
        assert_eq!(quote_ident("ação"), "\"ação\"");
        assert_eq!(qualified("s", "t\""), "\"s\".\"t\"\"\"");
        assert_eq!(column_list(["a", "B"], "t."), "t.\"a\", t.\"B\"");
    }
}

//! How sources are named in messages: a URL loses its password and query string.

use url::Url;

/// Whether `source` names an object in a store rather than a local path.
pub fn is_url(source: &str) -> bool {
    source.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
    })
}

/// `source` as it may appear in messages: a URL loses its password and query string
/// (a presigned URL's signature is a credential too).
pub fn redacted(source: &str) -> String {
    let Ok(mut url) = Url::parse(source) else {
        return redacted_text(source);
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        url.set_query(None);
        return format!("{url}?…");
    }
    url.to_string()
}

/// The string-level redaction for what does not parse as a URL: user info and query go.
fn redacted_text(source: &str) -> String {
    let Some((scheme, rest)) = source.split_once("://") else {
        return source.to_string();
    };
    let (rest, had_query) = match rest.split_once('?') {
        Some((before, _)) => (before, true),
        None => (rest, false),
    };
    let end_of_host = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end_of_host);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let query = if had_query { "?…" } else { "" };
    format!("{scheme}://{authority}{path}{query}")
}

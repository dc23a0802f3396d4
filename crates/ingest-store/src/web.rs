//! An http(s) URL with a query string, fetched with reqwest itself (object_store's HTTP
//! store escapes `?` into the path).

use std::time::Duration;

use tokio::runtime::Handle;
use url::Url;

use crate::body::{BodyRead, stopped_sending, with_causes};
use crate::error::StoreError;
use crate::redact::redacted;
use crate::resolve::{CONNECT_TIMEOUT, install_crypto_provider};

/// An http(s) URL with a query string (a presigned URL, a download link with a token).
/// object_store's HTTP store escapes `?` into the path, so these are fetched with reqwest
/// itself: one streamed GET, with the same timeouts.
#[derive(Clone)]
pub struct WebUrl {
    url: Url,
    /// The path, to tell the format by.
    pub name: String,
    client: reqwest::Client,
}

/// Whether `source` is an http(s) URL that only a plain GET can fetch.
pub fn is_web_url_with_query(source: &str) -> bool {
    Url::parse(source).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.query().is_some())
}

pub fn resolve_web(source: &str, read_timeout: Duration) -> Result<WebUrl, StoreError> {
    install_crypto_provider();
    let display = redacted(source);
    let url = Url::parse(source)
        .map_err(|e| StoreError::Url(format!("{display}: not a valid URL ({e})")))?;
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(read_timeout);
    if !url.username().is_empty() {
        builder = builder.default_headers(basic_auth(&url));
    }
    let client = builder
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    Ok(WebUrl {
        name: url.path().to_string(),
        url: bare,
        client,
    })
}

/// GETs the URL: its body as a blocking reader, and its length (0 when not sent).
pub fn open_web(web: &WebUrl, handle: &Handle) -> Result<(BodyRead, u64), StoreError> {
    let response = handle
        .block_on(web.client.get(web.url.clone()).send())
        .map_err(|e| StoreError::Request(request_error(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(StoreError::Status(status.as_u16()));
    }
    let size = response.content_length().unwrap_or(0);
    let mut response = response;
    let handle = handle.clone();
    let body = BodyRead::new(move || {
        handle
            .block_on(response.chunk())
            .map_err(|e| stopped_sending("server", without_url(&e), &e, e.is_timeout()))
    });
    Ok((body, size))
}

/// A request error and its causes in one line, without the URL (its query may hold a key).
pub fn request_error(e: &reqwest::Error) -> String {
    with_causes(without_url(e), e)
}

/// reqwest's message without its " for url (...)" part.
fn without_url(e: &reqwest::Error) -> String {
    let msg = e.to_string();
    match e.url() {
        Some(_) => msg
            .split(" for url (")
            .next()
            .unwrap_or_default()
            .to_string(),
        None => msg,
    }
}

pub(crate) fn basic_auth(url: &Url) -> reqwest::header::HeaderMap {
    use base64::Engine;
    let user = percent_decode(url.username());
    let pass = percent_decode(url.password().unwrap_or(""));
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(mut v) = reqwest::header::HeaderValue::from_str(&format!("Basic {token}")) {
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    headers
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

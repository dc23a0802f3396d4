//! Where the bytes live: a local path, or an object in a store named by URL (`s3://`,
//! `gs://`, `az://`, `http(s)://`), all through the `object_store` crate.
//!
//! Reading is blocking (stage one runs on its own thread): each chunk of an object's body
//! is awaited with the runtime's handle, so a multi-gigabyte object streams in bounded
//! memory. Credentials come from the environment each store's SDK reads (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`); credentials or signatures in the URL itself are never shown.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::{Arc, Once};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use tokio::runtime::Handle;
use url::Url;

/// Seconds a connection may take to open, and a response to go without sending a byte.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An object in a store.
#[derive(Clone)]
pub struct Remote {
    pub store: Arc<dyn ObjectStore>,
    pub path: ObjectPath,
    /// The object's name, to tell its format by (the path without a query string).
    pub name: String,
}

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Url(String),
    #[error("{}", short(.0))]
    Store(#[from] object_store::Error),
    #[error("{}", http_status(*.0))]
    Status(u16),
    #[error("{0}")]
    Request(String),
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

fn http_status(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    match status {
        404 | 410 => format!("no such object (HTTP {status} {reason})"),
        401 | 403 => format!("access denied: check the credentials (HTTP {status} {reason})"),
        _ => format!("HTTP {status} {reason}"),
    }
}

/// A store error in one line: object_store's messages carry the whole response body.
fn short(e: &object_store::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or_default();
    let first: String = first.chars().take(300).collect();
    match e {
        object_store::Error::NotFound { .. } => format!("no such object ({first})"),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            format!("access denied: check the credentials ({first})")
        }
        _ => first,
    }
}

impl StoreError {
    /// The object is missing or the credentials are refused: the request, not the
    /// network, is wrong.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StoreError::Url(_)
                | StoreError::Status(400..=407 | 409..=428 | 430..=499)
                | StoreError::Store(
                    object_store::Error::NotFound { .. }
                        | object_store::Error::PermissionDenied { .. }
                        | object_store::Error::Unauthenticated { .. }
                )
        )
    }
}

/// The store and path a URL names.
pub fn resolve(source: &str, read_timeout: Duration) -> Result<Remote, StoreError> {
    install_crypto_provider();
    let display = redacted(source);
    let url = Url::parse(source)
        .map_err(|e| StoreError::Url(format!("{display}: not a valid URL ({e})")))?;
    let options = ClientOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_read_timeout(read_timeout)
        // A large object streams for as long as it takes; a stalled one hits the read
        // timeout.
        .with_timeout_disabled();
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let path = |p: &str| {
        ObjectPath::from_url_path(p).map_err(|e| StoreError::Url(format!("{display}: {e}")))
    };
    let (store, object): (Arc<dyn ObjectStore>, ObjectPath) = match url.scheme() {
        "s3" | "s3a" => {
            let endpoint_is_http = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                .iter()
                .find_map(|v| std::env::var(v).ok())
                .is_some_and(|e| e.starts_with("http://"))
                || allow_http_from_env("AWS");
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(bucket_url(&url))
                .with_client_options(options.with_allow_http(endpoint_is_http))
                .with_retry(retry)
                .build()?;
            (Arc::new(store), path(url.path())?)
        }
        "gs" => {
            let store = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(bucket_url(&url))
                .with_client_options(options.with_allow_http(allow_http_from_env("GOOGLE")))
                .with_retry(retry)
                .build()?;
            (Arc::new(store), path(url.path())?)
        }
        "az" | "abfs" | "abfss" | "azure" => {
            let store = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(bucket_url(&url))
                .with_client_options(options.with_allow_http(allow_http_from_env("AZURE")))
                .with_retry(retry)
                .build()?;
            (Arc::new(store), path(url.path())?)
        }
        "http" | "https" => {
            let mut base = url.clone();
            base.set_path("/");
            base.set_query(None);
            let mut options = options.with_allow_http(url.scheme() == "http");
            if !url.username().is_empty() {
                options = options.with_default_headers(basic_auth(&url));
                let _ = base.set_username("");
                let _ = base.set_password(None);
            }
            let store = object_store::http::HttpBuilder::new()
                .with_url(base.as_str())
                .with_client_options(options)
                .with_retry(retry)
                .build()?;
            let object = url.path().trim_start_matches('/');
            (Arc::new(store), path(object)?)
        }
        other => {
            return Err(StoreError::Url(format!(
                "{display}: unknown scheme {other}:// (use a path, file://, s3://, gs://, az://, http:// or https://)"
            )));
        }
    };
    Ok(Remote {
        store,
        path: object,
        name: url.path().to_string(),
    })
}

/// The object a URL names, to write or delete: a store URL as [`resolve`] takes it, or
/// `file://` (an absolute path on this machine's file system).
pub fn object_at(url: &str) -> Result<Remote, StoreError> {
    let Some(path) = url.strip_prefix("file://") else {
        return resolve(url, DEFAULT_READ_TIMEOUT);
    };
    let path =
        ObjectPath::from_absolute_path(path).map_err(|e| StoreError::Url(format!("{url}: {e}")))?;
    Ok(Remote {
        store: Arc::new(object_store::local::LocalFileSystem::new()),
        path,
        name: url.to_string(),
    })
}

/// 12 random hex digits: what keeps two writers' temporary or uploaded names apart.
pub fn unique_tag() -> String {
    let mut tag = [0u8; 6];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut tag);
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes the object a URL names (see [`object_at`]).
pub async fn delete_object(url: &str) -> Result<(), StoreError> {
    let object = object_at(url)?;
    object.store.delete(&object.path).await?;
    Ok(())
}

/// `AWS_ALLOW_HTTP=true` and the like: plain http to an emulator or a local server. (The
/// builders read these too, but the client options set here would override them.)
fn allow_http_from_env(prefix: &str) -> bool {
    std::env::var(format!("{prefix}_ALLOW_HTTP"))
        .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// `scheme://bucket`, which the builders take (the path is given per request).
fn bucket_url(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
}

fn basic_auth(url: &Url) -> reqwest::header::HeaderMap {
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

/// rustls needs one crypto provider for the process: ring (aws-lc-rs is not built).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Starts a GET of the whole object: its body as a blocking reader, and its size. Must be
/// called off the runtime's threads (the caller is on a blocking thread).
pub fn open_stream(remote: &Remote, handle: &Handle) -> Result<(BodyRead, u64), StoreError> {
    let result = handle.block_on(remote.store.get(&remote.path))?;
    let size = result.meta.size;
    let mut stream = result.into_stream();
    let handle = handle.clone();
    let body = BodyRead::new(move || match handle.block_on(stream.next()) {
        Some(Ok(chunk)) => Ok(Some(chunk)),
        Some(Err(e)) => Err(stopped_sending("store", short(&e), &e, false)),
        None => Ok(None),
    });
    Ok((body, size))
}

/// A response body, read chunk by chunk as it arrives: `next` waits for the next chunk
/// (`None` at the end).
pub struct BodyRead {
    next: Box<dyn FnMut() -> io::Result<Option<Bytes>> + Send>,
    chunk: Bytes,
}

impl BodyRead {
    fn new(next: impl FnMut() -> io::Result<Option<Bytes>> + Send + 'static) -> Self {
        BodyRead {
            next: Box::new(next),
            chunk: Bytes::new(),
        }
    }
}

impl Read for BodyRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match (self.next)()? {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

/// `first`, then each cause of `e` not already said, joined by ": " (reqwest and hyper
/// hide "timed out" in a cause).
fn with_causes(first: String, e: &dyn std::error::Error) -> String {
    let mut msg = first;
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg = format!("{msg}: {part}");
        }
        source = s.source();
    }
    msg
}

/// A failed body read as an I/O error whose kind says the connection, not the file,
/// failed (exit code 3), timed out or not.
fn stopped_sending(
    who: &str,
    first: String,
    e: &dyn std::error::Error,
    timed_out: bool,
) -> io::Error {
    let msg = with_causes(first, e);
    let kind = if timed_out || msg.contains("timed out") {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::ConnectionAborted
    };
    io::Error::new(kind, format!("the {who} stopped sending: {msg}"))
}

/// Size of one ranged GET of a large range, and how many run at once.
const PART: u64 = 8 << 20;
const PARALLEL_PARTS: usize = 8;

/// Random access to an object for Parquet: footer first, then each row group's column
/// chunks by range requests.
#[derive(Clone)]
pub struct ObjectRanges {
    pub remote: Remote,
    pub size: u64,
    /// Row groups' byte spans, once the footer is read: the next row group is fetched while
    /// the current one is decoded.
    pub prefetch: Arc<std::sync::Mutex<Prefetch>>,
}

impl ObjectRanges {
    pub fn new(remote: Remote, size: u64) -> Self {
        ObjectRanges {
            remote,
            size,
            prefetch: Arc::default(),
        }
    }
}

type Fetch =
    futures_util::future::Shared<BoxFuture<'static, Result<Bytes, Arc<object_store::Error>>>>;

/// The byte span of each row group, and the fetches of spans started ahead.
#[derive(Default)]
pub struct Prefetch {
    spans: Vec<Range<u64>>,
    started: std::collections::HashMap<usize, Fetch>,
}

impl Prefetch {
    /// Sets the row groups' spans (from the footer).
    pub fn set_spans(&mut self, spans: Vec<Range<u64>>) {
        self.spans = spans;
    }
}

/// Fetches `range` as parallel 8 MiB range requests.
async fn fetch_parts(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    range: Range<u64>,
) -> object_store::Result<Bytes> {
    let parts: Vec<Range<u64>> = (range.start..range.end)
        .step_by(PART as usize)
        .map(|s| s..(s + PART).min(range.end))
        .collect();
    if parts.len() <= 1 {
        return store.get_range(&path, range).await;
    }
    let pieces: Vec<Bytes> = futures_util::stream::iter(parts)
        .map(|r| {
            let (store, path) = (store.clone(), path.clone());
            async move { store.get_range(&path, r).await }
        })
        .buffered(PARALLEL_PARTS)
        .try_collect()
        .await?;
    let mut whole = bytes::BytesMut::with_capacity((range.end - range.start) as usize);
    for p in pieces {
        whole.extend_from_slice(&p);
    }
    Ok(whole.freeze())
}

impl ObjectRanges {
    /// The fetch of row group `rg`'s span, started now if it was not already.
    fn span_fetch(&self, rg: usize) -> Option<Fetch> {
        let mut p = self.prefetch.lock().expect("prefetch");
        let span = p.spans.get(rg)?.clone();
        let (store, path) = (self.remote.store.clone(), self.remote.path.clone());
        let fetch = p.started.entry(rg).or_insert_with(|| {
            let fut: BoxFuture<'static, Result<Bytes, Arc<object_store::Error>>> =
                async move { fetch_parts(store, path, span).await.map_err(Arc::new) }.boxed();
            let shared = fut.shared();
            // Driven on the runtime, so it progresses while the reader decodes.
            tokio::spawn(shared.clone());
            shared
        });
        Some(fetch.clone())
    }

    /// The row group whose span holds all of `ranges`, if one does.
    fn row_group_of(&self, ranges: &[Range<u64>]) -> Option<(usize, u64)> {
        let p = self.prefetch.lock().expect("prefetch");
        let (first, last) = (ranges.first()?, ranges.last()?);
        let lo = ranges.iter().map(|r| r.start).min().unwrap_or(first.start);
        let hi = ranges.iter().map(|r| r.end).max().unwrap_or(last.end);
        p.spans
            .iter()
            .position(|s| s.start <= lo && hi <= s.end)
            .map(|rg| (rg, p.spans[rg].start))
    }

    fn forget(&self, rg: usize) {
        self.prefetch.lock().expect("prefetch").started.remove(&rg);
    }
}

impl parquet::arrow::async_reader::AsyncFileReader for ObjectRanges {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let store = self.remote.store.clone();
        let path = self.remote.path.clone();
        async move { store.get_range(&path, range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            if let Some((rg, base)) = self.row_group_of(&ranges)
                && let Some(fetch) = self.span_fetch(rg)
            {
                // Start the next row group while this one is decoded.
                let _ = self.span_fetch(rg + 1);
                let span = fetch.await;
                self.forget(rg);
                let span = span.map_err(|e| parquet::errors::ParquetError::General(short(&e)))?;
                // A store shortens a range past the end of the object: the file changed
                // under the load, or its footer lies.
                let wanted = ranges.iter().map(|r| r.end - base).max().unwrap_or(0);
                if (span.len() as u64) < wanted {
                    return Err(parquet::errors::ParquetError::General(format!(
                        "the object is shorter than its footer says ({} bytes of a row group, {wanted} expected): was it rewritten during the load?",
                        span.len()
                    )));
                }
                return Ok(ranges
                    .iter()
                    .map(|r| span.slice((r.start - base) as usize..(r.end - base) as usize))
                    .collect());
            }
            let mut out = Vec::with_capacity(ranges.len());
            for range in ranges {
                let (store, path) = (self.remote.store.clone(), self.remote.path.clone());
                out.push(fetch_parts(store, path, range).await.map_err(external)?);
            }
            Ok(out)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<parquet::file::metadata::ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(64 << 10))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

fn external(e: object_store::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

/// The object's size, from a HEAD request.
pub fn size(remote: &Remote, handle: &Handle) -> Result<u64, StoreError> {
    Ok(handle.block_on(remote.store.head(&remote.path))?.size)
}

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

/// A request error and its causes in one line, without the URL (it carries the query).
fn request_error(e: &reqwest::Error) -> String {
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

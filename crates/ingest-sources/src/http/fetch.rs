//! One GET, as a good citizen: within the requests/second budget, authenticated, retried
//! on 429 and 5xx after the server's `Retry-After`, and read up to a size limit.
//!
//! The retry loop is written here rather than with a retry crate because its rules are
//! the server's, not a backoff curve's: `Retry-After` (seconds or an HTTP date) decides
//! the wait, a wait longer than `max_wait` fails the run at once (the queue retries it
//! later) instead of being shortened, and a 401 under OAuth2 refreshes the token once.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use url::Url;

use super::HttpError;
use crate::spec::{ApiKeyPlace, Auth, HttpSource};
use crate::stats::PullStats;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A page larger than this is an error unless the spec says otherwise.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 64 << 20;
/// Waits before retrying a 5xx or a 429 that names no `Retry-After`: 1, 2, 4... seconds.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// A page as the server sent it.
pub struct Response {
    pub body: Vec<u8>,
    pub headers: HeaderMap,
    pub content_type: String,
}

pub struct Fetcher {
    client: reqwest::Client,
    auth: Option<Auth>,
    headers: HeaderMap,
    /// The OAuth2 access token, fetched on the first request and refreshed on a 401.
    token: Option<String>,
    limiter: Option<DefaultDirectRateLimiter>,
    max_attempts: u32,
    max_wait: Duration,
    max_page_bytes: u64,
    stats: Arc<PullStats>,
}

impl Fetcher {
    /// For `source`, whose secrets are already resolved.
    pub fn new(source: &HttpSource, stats: Arc<PullStats>) -> Result<Fetcher, HttpError> {
        ingest_store::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("ingest/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead past the source guard: the API's own URLs only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Config(e.to_string()))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &source.request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                HttpError::Config(format!("request.headers: {name:?} is not a header name"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                HttpError::Config(format!("request.headers.{name}: not a header value"))
            })?;
            headers.insert(name, value);
        }
        let limiter = source
            .rate_limit
            .as_ref()
            .map(|r| {
                // One request per period and no burst: never more than N in any second,
                // the first second included.
                let period = Duration::from_secs_f64(1.0 / r.requests_per_second);
                Quota::with_period(period)
                    .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)))
                    .ok_or_else(|| HttpError::Config("rate_limit: too fast".into()))
            })
            .transpose()?;
        let (max_attempts, max_wait) = match &source.retry {
            Some(r) => (
                r.max_attempts,
                crate::spec::duration(&r.max_wait, "source.retry.max_wait")
                    .map_err(|e| HttpError::Config(e.to_string()))?,
            ),
            None => (6, Duration::from_secs(60)),
        };
        Ok(Fetcher {
            client,
            auth: source.auth.clone(),
            headers,
            token: None,
            limiter,
            max_attempts,
            max_wait,
            max_page_bytes: source.max_page_bytes.unwrap_or(DEFAULT_MAX_PAGE_BYTES),
            stats,
        })
    }

    /// GETs `url` (page `page`, for messages), retrying what a retry may cure.
    pub async fn get(&mut self, url: &Url, page: u64) -> Result<Response, HttpError> {
        let what = || format!("GET {} (page {page})", url.path());
        let described = what();
        let mut attempt = 1;
        let mut refreshed = false;
        let mut backoff = FIRST_BACKOFF;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            let request = self.authorised(self.client.get(url.clone()), url).await?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let response = request.send().await.map_err(|e| HttpError::Unreachable {
                what: what(),
                message: ingest_store::request_error(&e),
            })?;
            let status = response.status();
            if status.is_success() {
                return self.read(response, page, &described).await;
            }
            let code = status.as_u16();
            if code == 401
                && !refreshed
                && matches!(self.auth, Some(Auth::Oauth2ClientCredentials { .. }))
            {
                // The token may have expired: fetch a new one, once.
                self.token = None;
                refreshed = true;
                continue;
            }
            let retryable = code == 429 || status.is_server_error();
            if !retryable {
                let body = excerpt(&response.bytes().await.unwrap_or_default());
                return Err(HttpError::Status {
                    what: what(),
                    status: code,
                    body,
                });
            }
            if attempt >= self.max_attempts {
                return Err(HttpError::GaveUp {
                    what: what(),
                    status: code,
                    attempts: attempt,
                });
            }
            let wait = match retry_after(response.headers()) {
                Some(wait) if wait > self.max_wait => {
                    return Err(HttpError::WaitTooLong {
                        what: what(),
                        status: code,
                        wait,
                        max_wait: self.max_wait,
                    });
                }
                Some(wait) => wait,
                None => {
                    let wait = backoff.min(self.max_wait);
                    backoff *= 2;
                    wait
                }
            };
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            self.stats
                .waited_ms
                .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn authorised(
        &mut self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::RequestBuilder, HttpError> {
        let request = request.headers(self.headers.clone());
        Ok(match &self.auth {
            None => request,
            Some(Auth::Bearer { token }) => request.bearer_auth(token),
            Some(Auth::Basic { username, password }) => {
                request.basic_auth(username, Some(password))
            }
            Some(Auth::ApiKey {
                name,
                value,
                place: ApiKeyPlace::Header,
            }) => request.header(name.as_str(), value.as_str()),
            Some(Auth::ApiKey {
                name,
                value,
                place: ApiKeyPlace::Query,
            }) => {
                let mut with_key = url.clone();
                with_key.query_pairs_mut().append_pair(name, value);
                // The URL is set again with the key; the rest of the request stays.
                let (client, built) = request.build_split();
                let mut built = built.map_err(|e| HttpError::Config(e.to_string()))?;
                *built.url_mut() = with_key;
                reqwest::RequestBuilder::from_parts(client, built)
            }
            Some(Auth::Oauth2ClientCredentials { .. }) => {
                let token = match &self.token {
                    Some(t) => t.clone(),
                    None => {
                        let t = self.fetch_token().await?;
                        self.token = Some(t.clone());
                        t
                    }
                };
                request.header(AUTHORIZATION, format!("Bearer {token}"))
            }
        })
    }

    /// The client-credentials grant (RFC 6749 4.4): the client authenticates with HTTP
    /// Basic, the answer's `access_token` is used until a 401.
    async fn fetch_token(&mut self) -> Result<String, HttpError> {
        let Some(Auth::Oauth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
        }) = &self.auth
        else {
            unreachable!("only called for oauth2_client_credentials");
        };
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let what = || "POST the OAuth2 token URL".to_string();
        let response = self
            .client
            .post(token_url)
            .basic_auth(client_id, Some(client_secret))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| HttpError::Unreachable {
                what: what(),
                message: ingest_store::request_error(&e),
            })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        if status != 200 {
            return Err(HttpError::Status {
                what: what(),
                status,
                body: excerpt(&body),
            });
        }
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
        }
        serde_json::from_slice::<Token>(&body)
            .map(|t| t.access_token)
            .map_err(|e| HttpError::Status {
                what: what(),
                status,
                body: format!("no access_token in the answer ({e})"),
            })
    }

    /// The body, streamed and refused past `max_page_bytes`.
    async fn read(
        &self,
        mut response: reqwest::Response,
        page: u64,
        what: &str,
    ) -> Result<Response, HttpError> {
        let limit = self.max_page_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(HttpError::PageTooLarge { page, limit });
        }
        let headers = response.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(HttpError::PageTooLarge { page, limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(HttpError::Unreachable {
                        what: what.to_string(),
                        message: ingest_store::request_error(&e),
                    });
                }
            }
        }
        Ok(Response {
            body,
            headers,
            content_type,
        })
    }
}

/// `Retry-After` as a wait: seconds, or an HTTP date (a date in the past is no wait).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The start of an error body, on one line, for a message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}

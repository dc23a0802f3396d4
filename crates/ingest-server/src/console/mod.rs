//! The web console, served by `ingest serve` at `/`: upload a file, see what the server
//! detected and the first rows, check it (a dry-run job), load it, follow it, find it
//! again in the jobs list. Pages are askama templates rendered here; the script
//! (`assets/console.js`, vanilla) calls the public API, the same as any client; both
//! assets are compiled into the binary.
//!
//! Who is calling: a signed-in session (its cookie names the token it was opened with) or,
//! with no token in force and on loopback, anyone local. Every form carries a CSRF token;
//! the Content-Security-Policy allows scripts from this server only.

mod i18n;
mod pages;
mod viewer;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use i18n::{Lang, reason_pt};

use crate::api::Shared;

/// The cookie that holds a signed-in session's secret.
pub const SESSION_COOKIE: &str = "ingest_session";
/// In open mode (no tokens), the double-submit CSRF cookie of the console's forms.
pub const CSRF_COOKIE: &str = "ingest_csrf";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The console's pages and assets.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(pages::upload))
        .route("/jobs", get(pages::jobs))
        .route("/jobs/rows", get(pages::job_rows))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/cancel", post(pages::cancel))
        .route("/jobs/{id}/retry", post(pages::retry))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang/{tag}", get(pages::switch_language))
        .route(
            "/assets/console.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/assets/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .layer(axum::middleware::from_fn(security_headers))
}

/// An asset's URL: versioned by its content, so it can be cached for good.
pub fn asset_url(name: &str) -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    let v = VERSION.get_or_init(|| {
        let d = ring::digest::digest(&ring::digest::SHA256, format!("{CSS}{JS}").as_bytes());
        d.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect()
    });
    format!("/assets/{name}?v={v}")
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// What every console response carries: scripts and styles from this server only (no
/// inline script, no framing), no MIME sniffing, no referrer beyond the origin.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The value of cookie `name` in a request's headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A cookie the script cannot read, sent only to this site, only over the connection
/// it came on (HTTPS when the server is behind TLS).
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}"
    ))
    .expect("cookie values are hex or tags")
}

/// A 303 to `to` (after a form).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

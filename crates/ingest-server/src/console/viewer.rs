//! Who is looking at a page, in which language, and the CSRF token their forms carry;
//! signing in and out, and switching languages.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use ring::rand::{SecureRandom, SystemRandom};

use super::i18n::{LANG_COOKIE, Lang, Texts};
use super::{CSRF_COOKIE, SESSION_COOKIE, asset_url, cookie, see_other, set_cookie};
use crate::api::auth::Access;
use crate::api::{Api, Shared};

/// A session lasts this long (or until its token is revoked).
const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

pub struct Viewer {
    pub access: Access,
    pub lang: Lang,
    pub csrf: String,
    pub signed_in: bool,
    /// A CSRF cookie to set (open mode, first visit).
    new_csrf: bool,
}

/// What the layout of every page shows.
pub struct Chrome {
    pub lang: &'static str,
    pub csrf: String,
    pub signed_in: bool,
    pub css: String,
    pub js: String,
    /// The script's words, as JSON safe inside `<script type="application/json">`.
    pub js_texts: String,
    /// Which navigation entry is current.
    pub page: &'static str,
}

impl Viewer {
    pub fn texts(&self) -> &'static Texts {
        self.lang.texts()
    }

    pub fn chrome(&self, page: &'static str) -> Chrome {
        let js_texts = serde_json::json!({
            "lang": self.lang.tag(),
            "t": &self.texts().js,
            "ignore": self.texts().ignore,
        })
        .to_string()
        // `</script>` cannot end the block, whatever a text holds.
        .replace('<', "\\u003c");
        Chrome {
            lang: self.lang.tag(),
            csrf: self.csrf.clone(),
            signed_in: self.signed_in,
            css: asset_url("console.css"),
            js: asset_url("console.js"),
            js_texts,
            page,
        }
    }

    /// A page's response, with the CSRF cookie when it was just made.
    pub fn page(&self, html: Result<String, askama::Error>) -> Response {
        let mut response = match html {
            Ok(h) => Html(h).into_response(),
            Err(e) => {
                eprintln!("ingest: console: rendering a page: {e}");
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be rendered",
                )
                    .into_response()
            }
        };
        if self.new_csrf {
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(CSRF_COOKIE, &self.csrf, 12 * 3600),
            );
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// Whether a form's CSRF token is this viewer's.
    pub fn form_ok(&self, presented: Option<&str>) -> bool {
        !self.new_csrf && presented.is_some_and(|p| constant_eq(p, &self.csrf))
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn random_hex() -> String {
    let mut raw = [0u8; 24];
    SystemRandom::new()
        .fill(&mut raw)
        .expect("the system gives random numbers");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// The viewer of a request, or the redirect to sign in when the console needs a token.
pub async fn viewer(api: &Api, headers: &HeaderMap) -> Result<Viewer, Response> {
    let lang = Lang::of(headers);
    let unavailable = || {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the database is not reachable",
        )
            .into_response()
    };
    let c = api.pool.get().await.map_err(|_| unavailable())?;
    if let Some(secret) = cookie(headers, SESSION_COOKIE)
        && let Ok(Some(session)) = api.tokens.session(&c, &secret).await
    {
        return Ok(Viewer {
            access: Access::Token(session.grant),
            lang,
            csrf: session.csrf,
            signed_in: true,
            new_csrf: false,
        });
    }
    let required = api.public || api.tokens.any_active(&c).await.map_err(|_| unavailable())?;
    if required {
        return Err(see_other("/login"));
    }
    Ok(open_viewer(headers, lang))
}

/// Anyone local, when no token is in force: forms carry the double-submit CSRF cookie.
fn open_viewer(headers: &HeaderMap, lang: Lang) -> Viewer {
    let existing = cookie(headers, CSRF_COOKIE)
        .filter(|c| c.len() == 48 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let new_csrf = existing.is_none();
    Viewer {
        access: Access::Open,
        lang,
        csrf: existing.unwrap_or_else(random_hex),
        signed_in: false,
        new_csrf,
    }
}

/// A form's fields.
pub fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[derive(askama::Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    t: &'static Texts,
    chrome: Chrome,
    failed: bool,
}

pub async fn login_form(headers: HeaderMap) -> Response {
    let v = open_viewer(&headers, Lang::of(&headers));
    let page = LoginPage {
        t: v.texts(),
        chrome: v.chrome("login"),
        failed: false,
    };
    v.page(askama::Template::render(&page))
}

/// Signs in with a token: a session whose cookie the script cannot read.
pub async fn login(
    State(api): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let v = open_viewer(&headers, Lang::of(&headers));
    let fields = form(&body);
    let failed = |v: &Viewer| {
        let page = LoginPage {
            t: v.texts(),
            chrome: v.chrome("login"),
            failed: true,
        };
        let mut r = v.page(askama::Template::render(&page));
        *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        r
    };
    if !v.form_ok(fields.get("csrf").map(String::as_str)) {
        return failed(&v);
    }
    let Ok(c) = api.pool.get().await else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the database is not reachable",
        )
            .into_response();
    };
    let token = fields.get("token").map(|t| t.trim()).unwrap_or("");
    let Ok(Some(grant)) = api.tokens.check(&c, token).await else {
        return failed(&v);
    };
    match api.tokens.open_session(&c, &grant, SESSION_TTL).await {
        Ok((secret, _)) => {
            let mut r = see_other("/");
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &secret, SESSION_TTL.as_secs() as i64),
            );
            r
        }
        Err(e) => {
            eprintln!("ingest: console: opening a session: {e}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the session could not be opened",
            )
                .into_response()
        }
    }
}

pub async fn logout(
    State(api): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Ok(v) = viewer(&api, &headers).await
        && v.form_ok(form(&body).get("csrf").map(String::as_str))
        && let (Some(secret), Ok(c)) = (cookie(&headers, SESSION_COOKIE), api.pool.get().await)
    {
        let _ = api.tokens.close_session(&c, &secret).await;
    }
    let mut r = see_other("/login");
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    r
}

/// Switches the language and goes back to the page the user was on (a path of this site).
pub async fn switch_language(
    crate::api::problem::PathOf(tag): crate::api::problem::PathOf<String>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::parse(&tag).unwrap_or(Lang::En);
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| {
            format!(
                "{}{}",
                u.path(),
                u.query().map(|q| format!("?{q}")).unwrap_or_default()
            )
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let mut r = see_other(&back);
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LANG_COOKIE, lang.tag(), 365 * 86400),
    );
    r
}

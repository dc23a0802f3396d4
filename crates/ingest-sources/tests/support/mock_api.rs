//! A partner's REST API for the tests, in process (axum): bearer or OAuth2 auth, cursor
//! pages of trips ordered by (updated_at, id), scripted 429s, a page that is not JSON, a
//! pagination loop, and a log of every request it was asked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub const TOKEN: &str = "secret-token-7f3a";

#[derive(Debug, Clone)]
pub struct Trip {
    pub id: u64,
    pub plate: String,
    /// Seconds after 2026-01-01T00:00:00Z.
    pub updated: u64,
    pub fare: String,
}

impl Trip {
    pub fn updated_at(&self) -> String {
        let t = chrono::DateTime::from_timestamp(1_767_225_600 + self.updated as i64, 0).unwrap();
        t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
    }

    fn json(&self) -> String {
        format!(
            r#"{{"id": {}, "plate": "{}", "fare": {}, "updated_at": "{}", "route": {{"from": "São Paulo", "toll": 12345678901234567890.5}}}}"#,
            self.id,
            self.plate,
            self.fare,
            self.updated_at()
        )
    }
}

#[derive(Debug, Clone)]
pub struct Asked {
    pub at: Instant,
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub status: u16,
}

#[derive(Default)]
pub struct Api {
    pub trips: Vec<Trip>,
    pub log: Vec<Asked>,
    /// Every nth request to /v2 is answered 429 (0: never).
    pub throttle_every: u64,
    pub retry_after: String,
    /// The OAuth2 token the API accepts now; the token URL hands out `oauth-N`.
    pub oauth_token: Option<String>,
    pub tokens_issued: u64,
    /// /v2/trips answers this many more pages, then only 500s (a run that fails midway).
    pub pages_before_failure: Option<u64>,
}

pub type Shared = Arc<Mutex<Api>>;

/// Starts the API on a free port; its base URL and its state.
pub async fn start(trips: Vec<Trip>) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(Api {
        trips,
        retry_after: "1".into(),
        ..Api::default()
    }));
    let app = Router::new()
        .route("/v2/{name}", get(v2))
        .route("/oauth/token", post(token))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

async fn token(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut api = state.lock().unwrap();
    // client_id "app", client_secret "s3cret", as HTTP Basic.
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic YXBwOnMzY3JldA==")
    {
        return (StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    api.tokens_issued += 1;
    let t = format!("oauth-{}", api.tokens_issued);
    api.oauth_token = Some(t.clone());
    json(
        StatusCode::OK,
        format!(r#"{{"access_token": "{t}", "token_type": "bearer", "expires_in": 3600}}"#),
    )
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

async fn v2(
    State(state): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut api = state.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepted = auth == format!("Bearer {TOKEN}")
        || api
            .oauth_token
            .as_ref()
            .is_some_and(|t| auth == format!("Bearer {t}"));
    let n = api.log.len() as u64 + 1;
    let (status, response) = if !accepted {
        (
            401,
            json(
                StatusCode::UNAUTHORIZED,
                r#"{"error": "invalid token"}"#.into(),
            ),
        )
    } else if name == "storm" || (api.throttle_every > 0 && n.is_multiple_of(api.throttle_every)) {
        let wait = api.retry_after.clone();
        (
            429,
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", wait)], "{}").into_response(),
        )
    } else {
        page(&mut api, &name, &params)
    };
    api.log.push(Asked {
        at: Instant::now(),
        path: name,
        params,
        status,
    });
    response
}

/// One page of `name` for `params`.
fn page(api: &mut Api, name: &str, params: &BTreeMap<String, String>) -> (u16, Response) {
    let per_page: usize = params
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100);
    match name {
        "loop" => {
            return (
                200,
                json(
                    StatusCode::OK,
                    format!(
                        r#"{{"data": [{}], "meta": {{"next": "same"}}}}"#,
                        api.trips[0].json()
                    ),
                ),
            );
        }
        "bad" if params.contains_key("cursor") => {
            return (
                200,
                (
                    StatusCode::OK,
                    [("content-type", "text/html")],
                    "<html>502 Bad Gateway</html>",
                )
                    .into_response(),
            );
        }
        "bad" => {
            return (
                200,
                json(
                    StatusCode::OK,
                    format!(
                        r#"{{"data": [{}], "meta": {{"next": "p2"}}}}"#,
                        api.trips[0].json()
                    ),
                ),
            );
        }
        "trips" | "oauth" => {}
        _ => {
            return (
                404,
                json(
                    StatusCode::NOT_FOUND,
                    r#"{"error": "no such resource"}"#.into(),
                ),
            );
        }
    }
    let since = params.get("updated_since").map(|s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("updated_since is ISO 8601")
            .timestamp()
            - 1_767_225_600
    });
    let mut rows: Vec<&Trip> = api
        .trips
        .iter()
        .filter(|t| since.is_none_or(|s| t.updated as i64 > s))
        .collect();
    rows.sort_by_key(|t| (t.updated, t.id));
    let after: Option<(u64, u64)> = params.get("cursor").map(|c| {
        let (u, i) = c.split_once('-').unwrap();
        (u.parse().unwrap(), i.parse().unwrap())
    });
    let rows: Vec<&Trip> = rows
        .into_iter()
        .filter(|t| after.is_none_or(|a| (t.updated, t.id) > a))
        .collect();
    match &mut api.pages_before_failure {
        Some(0) => {
            return (
                500,
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"error": "boom"}"#.into(),
                ),
            );
        }
        Some(n) => *n -= 1,
        None => {}
    }
    let more = rows.len() > per_page;
    let page: Vec<&Trip> = rows.into_iter().take(per_page).collect();
    let next = match (more, page.last()) {
        (true, Some(t)) => format!("\"{}-{}\"", t.updated, t.id),
        _ => "null".into(),
    };
    let body = format!(
        r#"{{"data": [{}], "meta": {{"next": {next}}}}}"#,
        page.iter()
            .map(|t| t.json())
            .collect::<Vec<_>>()
            .join(",\n  ")
    );
    (200, json(StatusCode::OK, body))
}

/// `n` trips, updated a minute apart from 2026-01-01T00:01:00Z.
pub fn trips(n: u64) -> Vec<Trip> {
    (1..=n)
        .map(|i| Trip {
            id: i,
            plate: format!("ABC{}D{:02}", i % 10, i % 100),
            updated: i * 60,
            fare: format!("{}{:06}.123456", i, i),
        })
        .collect()
}

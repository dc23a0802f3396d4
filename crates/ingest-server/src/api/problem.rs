//! Errors as RFC 9457 problems: a stable `type`, and a detail for the caller; the details
//! of a server-side failure are logged, never sent.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Api;

/// An RFC 9457 problem: a stable `type`, and a detail for the caller.
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    /// Extension members (RFC 9457 §3.2), e.g. a batch's `rejects`.
    extra: Option<(&'static str, serde_json::Value)>,
}

impl Problem {
    /// The problem with an extension member.
    pub fn with(mut self, name: &'static str, value: serde_json::Value) -> Problem {
        self.extra = Some((name, value));
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://ingest.dev/problems/{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or(""),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some((name, value)) = self.extra {
            body[name] = value;
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

pub(super) fn problem(status: StatusCode, kind: &'static str, detail: &str) -> Problem {
    Problem {
        status,
        kind,
        detail: detail.to_string(),
        extra: None,
    }
}

/// A server-side failure: logged with its cause, answered without it.
pub(super) fn internal_problem(e: impl std::fmt::Display) -> Problem {
    eprintln!("ingest: API error: {e}");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed; see its log",
    )
}

pub(super) async fn client(api: &Api) -> Result<deadpool_postgres::Object, Problem> {
    api.pool.get().await.map_err(|e| {
        eprintln!("ingest: database: {e}");
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database is not reachable",
        )
    })
}

/// `Query<T>` whose refusal is a problem (400 `invalid-query`), not axum's plain text.
pub struct QueryOf<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for QueryOf<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| QueryOf(q))
            .map_err(|e| problem(StatusCode::BAD_REQUEST, "invalid-query", &e.body_text()))
    }
}

/// `Path<T>` whose refusal is a problem (400 `invalid-path`).
pub struct PathOf<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for PathOf<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| PathOf(p))
            .map_err(|e| problem(StatusCode::BAD_REQUEST, "invalid-path", &e.body_text()))
    }
}

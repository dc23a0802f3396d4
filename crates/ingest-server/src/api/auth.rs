//! Who is calling: with no token in force and the API on loopback, any local caller; once a
//! token exists (or the API listens beyond loopback) every `/v1` request must bear one,
//! and may touch only the tables the token allows.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ingest_queue::{Grant, TablePatterns};

use super::Shared;
use super::problem::{Problem, client, internal_problem, problem};

/// The caller's rights, put in each request's extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub enum Access {
    /// No token in force, loopback only: everything.
    Open,
    Token(Grant),
}

impl Access {
    /// Whether the caller may touch `table` (`schema.table` as the catalog names it).
    pub fn allows(&self, table: &str) -> bool {
        match self {
            Access::Open => true,
            Access::Token(grant) => grant.tables.allows(table),
        }
    }

    /// The tables whose jobs the caller may list, and its name (None: all jobs).
    pub fn visible(&self) -> Option<(&TablePatterns, &str)> {
        match self {
            Access::Open => None,
            Access::Token(grant) => Some((&grant.tables, &grant.name)),
        }
    }

    /// Whether the caller may read every table (open access, or a `*` token).
    pub fn reads_everything(&self) -> bool {
        match self {
            Access::Open => true,
            Access::Token(grant) => grant.tables.as_slice().iter().any(|p| p == "*"),
        }
    }

    /// The token's name, recorded as a job's creator.
    pub fn creator(&self) -> Option<String> {
        match self {
            Access::Open => None,
            Access::Token(grant) => Some(grant.name.clone()),
        }
    }

    /// A 403 unless the caller may see the job: one on its tables, or one it created.
    pub fn check_job(&self, job: &ingest_queue::Job) -> Result<(), Problem> {
        match (self, &job.created_by) {
            (Access::Token(grant), Some(by)) if by == &grant.name => Ok(()),
            _ => self.check(job.target_table.as_deref()),
        }
    }

    /// A 403 unless the caller may touch `table`.
    pub fn check(&self, table: Option<&str>) -> Result<(), Problem> {
        match (self, table) {
            (Access::Open, _) => Ok(()),
            (Access::Token(_), Some(t)) if self.allows(t) => Ok(()),
            (Access::Token(grant), t) => Err(problem(
                StatusCode::FORBIDDEN,
                "table-not-allowed",
                &format!(
                    "token {:?} may not touch {}",
                    grant.name,
                    t.unwrap_or("this job's table")
                ),
            )),
        }
    }
}

/// Middleware: reads `Authorization: Bearer ...` and records the caller's [`Access`].
pub async fn authenticate(State(api): State<Shared>, mut req: Request, next: Next) -> Response {
    // The header is copied out: a request (its body) cannot be held across an await.
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("").to_string());
    // The console's requests carry its session cookie instead (and, to write, the
    // session's CSRF token: a cookie alone is what another site could make a browser send).
    let session = crate::console::cookie(req.headers(), crate::console::SESSION_COOKIE);
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let csrf = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = match (&authorization, session) {
        (None, Some(secret)) => {
            session_access(&api, &secret, writes.then_some(csrf.as_deref())).await
        }
        _ => access(&api, authorization.as_deref()).await,
    };
    match result {
        Ok(access) => {
            req.extensions_mut().insert(access);
            next.run(req).await
        }
        Err(p) => {
            let mut r = p.into_response();
            if r.status() == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            r
        }
    }
}

/// The access of a console session; `csrf` is the token a write presented (`Some`), which
/// must be the session's.
async fn session_access(
    api: &super::Api,
    secret: &str,
    csrf: Option<Option<&str>>,
) -> Result<Access, Problem> {
    let c = client(api).await?;
    let Some(session) = api
        .tokens
        .session(&c, secret)
        .await
        .map_err(internal_problem)?
    else {
        drop(c);
        // An expired cookie on an API that needs no token is no cookie at all.
        return access(api, None).await;
    };
    if let Some(presented) = csrf
        && presented != Some(session.csrf.as_str())
    {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "csrf-token-missing",
            "a write from the console must carry the session's X-CSRF-Token",
        ));
    }
    Ok(Access::Token(session.grant))
}

async fn access(api: &super::Api, authorization: Option<&str>) -> Result<Access, Problem> {
    let bearer = authorization.map(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(str::trim)
    });
    let c = client(api).await?;
    match bearer {
        Some(Some(secret)) => match api.tokens.check(&c, secret).await {
            Ok(Some(grant)) => Ok(Access::Token(grant)),
            Ok(None) => Err(problem(
                StatusCode::UNAUTHORIZED,
                "invalid-token",
                "the token is unknown or revoked",
            )),
            Err(e) => Err(internal_problem(e)),
        },
        Some(None) => Err(problem(
            StatusCode::UNAUTHORIZED,
            "invalid-token",
            "Authorization must be `Bearer <token>`",
        )),
        None => {
            let required =
                api.public || api.tokens.any_active(&c).await.map_err(internal_problem)?;
            if required {
                Err(problem(
                    StatusCode::UNAUTHORIZED,
                    "token-required",
                    "this API needs `Authorization: Bearer <token>` (see `ingest token create`)",
                ))
            } else {
                Ok(Access::Open)
            }
        }
    }
}

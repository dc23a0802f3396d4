//! The web console's sessions: signing in with a token opens one; its cookie holds a
//! random secret (only its hash is kept) and each session has a CSRF token of its own.
//! A session lasts as long as its token is not revoked, at most `ttl`.

use std::time::Duration;

use tokio_postgres::Client;

use crate::tokens::{hash, random_hex};
use crate::{Grant, QueueError, TablePatterns, Tokens};

/// An open session: who it is, and the CSRF token its forms and writes must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub grant: Grant,
    pub csrf: String,
}

impl Tokens {
    /// Opens a session for the token `grant` came from; returns the cookie's secret and
    /// the session's CSRF token.
    pub async fn open_session(
        &self,
        client: &Client,
        grant: &Grant,
        ttl: Duration,
    ) -> Result<(String, String), QueueError> {
        let (secret, csrf) = (random_hex()?, random_hex()?);
        let q = &self.q;
        let seconds = ttl.as_secs_f64();
        client
            .execute(
                &format!(
                    // Expired sessions go as new ones come.
                    "WITH gone AS (DELETE FROM {q}.console_sessions WHERE expires_at < now())
                     INSERT INTO {q}.console_sessions (secret_hash, token_name, csrf, expires_at)
                     VALUES ($1, $2, $3, now() + make_interval(secs => $4))"
                ),
                &[&hash(&secret), &grant.name, &csrf, &seconds],
            )
            .await?;
        Ok((secret, csrf))
    }

    /// The session of a cookie's secret, if it is open and its token still valid.
    pub async fn session(
        &self,
        client: &Client,
        secret: &str,
    ) -> Result<Option<Session>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!(
                    "SELECT t.name, t.tables, t.may_run_sql, s.csrf
                     FROM {q}.console_sessions s JOIN {q}.api_tokens t ON t.name = s.token_name
                     WHERE s.secret_hash = $1 AND s.expires_at > now() AND t.revoked_at IS NULL"
                ),
                &[&hash(secret)],
            )
            .await?;
        Ok(row.map(|r| Session {
            grant: Grant {
                name: r.get(0),
                tables: TablePatterns(r.get(1)),
                may_run_sql: r.get(2),
            },
            csrf: r.get(3),
        }))
    }

    /// Signs out.
    pub async fn close_session(&self, client: &Client, secret: &str) -> Result<(), QueueError> {
        let q = &self.q;
        client
            .execute(
                &format!("DELETE FROM {q}.console_sessions WHERE secret_hash = $1"),
                &[&hash(secret)],
            )
            .await?;
        Ok(())
    }
}

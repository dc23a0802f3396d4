//! A spec made ready to run where it runs: `${env:NAME}` replaced in the fields that may
//! hold a secret, and, for a source registered through the API, its hosts checked
//! against the source guard (no reaching the server's own network unless allowed).

use ingest_store::SourceGuard;

use crate::expand_env;
use crate::spec::{Auth, DbSource, SourceKind, SpecError};

/// `source` with its secrets read from the environment. The result is used, never
/// stored or printed.
pub fn secrets(source: &SourceKind) -> Result<SourceKind, SpecError> {
    Ok(match source {
        SourceKind::Http(h) => {
            let mut h = h.clone();
            h.base_url = expand_env(&h.base_url, "source.base_url")?;
            for (name, value) in h.request.headers.iter_mut() {
                *value = expand_env(value, &format!("source.request.headers.{name}"))?;
            }
            for (name, value) in h.request.params.iter_mut() {
                if let serde_json::Value::String(s) = value {
                    *s = expand_env(s, &format!("source.request.params.{name}"))?;
                }
            }
            h.auth = match h.auth.take() {
                None => None,
                Some(Auth::Bearer { token }) => Some(Auth::Bearer {
                    token: expand_env(&token, "source.auth.token")?,
                }),
                Some(Auth::ApiKey { name, value, place }) => Some(Auth::ApiKey {
                    name,
                    value: expand_env(&value, "source.auth.value")?,
                    place,
                }),
                Some(Auth::Basic { username, password }) => Some(Auth::Basic {
                    username: expand_env(&username, "source.auth.username")?,
                    password: expand_env(&password, "source.auth.password")?,
                }),
                Some(Auth::Oauth2ClientCredentials {
                    token_url,
                    client_id,
                    client_secret,
                    scope,
                }) => Some(Auth::Oauth2ClientCredentials {
                    token_url: expand_env(&token_url, "source.auth.token_url")?,
                    client_id: expand_env(&client_id, "source.auth.client_id")?,
                    client_secret: expand_env(&client_secret, "source.auth.client_secret")?,
                    scope,
                }),
            };
            SourceKind::Http(h)
        }
        SourceKind::Mysql(d) => SourceKind::Mysql(db(d)?),
        SourceKind::Postgres(d) => SourceKind::Postgres(db(d)?),
    })
}

fn db(d: &DbSource) -> Result<DbSource, SpecError> {
    Ok(DbSource {
        url: expand_env(&d.url, "source.url")?,
        password: d
            .password
            .as_deref()
            .map(|p| expand_env(p, "source.password"))
            .transpose()?,
        ..d.clone()
    })
}

/// Ok when a source registered through the API may reach the hosts it names.
pub async fn check_reach(guard: &SourceGuard, source: &SourceKind) -> Result<(), String> {
    let address = match source {
        SourceKind::Http(h) => h.base_url.clone(),
        SourceKind::Mysql(d) | SourceKind::Postgres(d) => {
            let url = url::Url::parse(&d.url).map_err(|e| format!("source.url: {e}"))?;
            let host = url.host_str().unwrap_or("localhost");
            // The guard judges web addresses: the host (and port) are what it looks at.
            format!("http://{host}:{}/", url.port().unwrap_or(1))
        }
    };
    guard.check(&address).await
}

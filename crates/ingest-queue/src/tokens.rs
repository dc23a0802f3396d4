//! API tokens: a bearer secret shown once, stored only as its SHA-256, and the tables it
//! may load (patterns such as `public.orders`, `staging.*` or `*`).

use chrono::{DateTime, Utc};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use tokio_postgres::Client;

use crate::{QueueError, Schema};

/// What a token may touch: `schema.table` patterns, where `*` stands for any run of
/// characters (`staging.*`, `*.orders`, `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePatterns(pub(crate) Vec<String>);

impl TablePatterns {
    /// Parses a comma-separated list (`public.orders,staging.*`). A pattern without a dot
    /// means a table in `public`, as an unqualified name usually does.
    pub fn parse(list: &str) -> Result<TablePatterns, QueueError> {
        let patterns: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                if p == "*" || p.contains('.') {
                    p.to_string()
                } else {
                    format!("public.{p}")
                }
            })
            .collect();
        if patterns.is_empty() {
            return Err(QueueError::Invalid(
                "a token needs at least one table pattern (e.g. public.orders or staging.*)".into(),
            ));
        }
        Ok(TablePatterns(patterns))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether `schema.table` (as the catalog names it, unquoted) matches a pattern.
    pub fn allows(&self, qualified: &str) -> bool {
        self.0
            .iter()
            .any(|p| glob_match(p.as_bytes(), qualified.as_bytes()))
    }

    /// The patterns as SQL `LIKE` patterns, for filtering jobs in the database.
    pub fn like_patterns(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|p| {
                let mut like = String::with_capacity(p.len());
                for c in p.chars() {
                    match c {
                        '*' => like.push('%'),
                        '%' | '_' | '\\' => {
                            like.push('\\');
                            like.push(c);
                        }
                        c => like.push(c),
                    }
                }
                like
            })
            .collect()
    }
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob_match(rest, &text[1..]),
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub name: String,
    pub tables: TablePatterns,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A presented token that is valid: its name and what it may touch.
#[derive(Debug, Clone)]
pub struct Grant {
    pub name: String,
    pub tables: TablePatterns,
    /// The token may send SQL with a load (`after_load`, `sql` checks in its own rules).
    pub may_run_sql: bool,
}

/// 32 random bytes, in hex.
pub(crate) fn random_hex() -> Result<String, QueueError> {
    let mut raw = [0u8; 32];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| QueueError::Invalid("no random numbers from the system".into()))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// The tokens of one service schema.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub(crate) q: String,
}

pub(crate) fn hash(secret: &str) -> Vec<u8> {
    digest(&SHA256, secret.as_bytes()).as_ref().to_vec()
}

impl Tokens {
    pub fn new(schema: &Schema) -> Tokens {
        Tokens { q: schema.quoted() }
    }

    /// Creates a token and returns its secret, which is not kept: only its hash is.
    pub async fn create(
        &self,
        client: &Client,
        name: &str,
        tables: &TablePatterns,
        may_run_sql: bool,
    ) -> Result<String, QueueError> {
        let secret = format!("ingest_{}", random_hex()?);
        let q = &self.q;
        let inserted = client
            .execute(
                &format!(
                    "INSERT INTO {q}.api_tokens (name, token_hash, tables, may_run_sql)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING"
                ),
                &[&name, &hash(&secret), &tables.as_slice(), &may_run_sql],
            )
            .await?;
        if inserted == 0 {
            return Err(QueueError::Invalid(format!(
                "a token named {name:?} exists; revoke it first or pick another name"
            )));
        }
        Ok(secret)
    }

    /// The grant of a valid (known, not revoked) token.
    pub async fn check(&self, client: &Client, secret: &str) -> Result<Option<Grant>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!(
                    "SELECT name, tables, may_run_sql FROM {q}.api_tokens
                     WHERE token_hash = $1 AND revoked_at IS NULL"
                ),
                &[&hash(secret)],
            )
            .await?;
        Ok(row.map(|r| Grant {
            name: r.get(0),
            tables: TablePatterns(r.get(1)),
            may_run_sql: r.get(2),
        }))
    }

    /// Whether any token is in force: then every API request must present one.
    pub async fn any_active(&self, client: &Client) -> Result<bool, QueueError> {
        let q = &self.q;
        let row = client
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {q}.api_tokens WHERE revoked_at IS NULL)"),
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn list(&self, client: &Client) -> Result<Vec<TokenInfo>, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!(
                    "SELECT name, tables, created_at, revoked_at FROM {q}.api_tokens ORDER BY created_at"
                ),
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                name: r.get(0),
                tables: TablePatterns(r.get(1)),
                created_at: r.get(2),
                revoked_at: r.get(3),
            })
            .collect())
    }

    /// Revokes the token `name`; false when there is no such token in force.
    pub async fn revoke(&self, client: &Client, name: &str) -> Result<bool, QueueError> {
        let q = &self.q;
        let n = client
            .execute(
                &format!(
                    "UPDATE {q}.api_tokens SET revoked_at = now(), name = name || '@revoked:' || id
                     WHERE name = $1 AND revoked_at IS NULL"
                ),
                &[&name],
            )
            .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_qualified_names() {
        let p = TablePatterns::parse("public.orders, staging.*,events").unwrap();
        assert!(p.allows("public.orders"));
        assert!(p.allows("staging.anything"));
        assert!(p.allows("public.events"));
        assert!(!p.allows("public.orders2"));
        assert!(!p.allows("private.orders"));
        assert!(!p.allows("stagingx.t"));
        assert!(TablePatterns::parse("*").unwrap().allows("any.thing"));
        assert!(TablePatterns::parse(" , ").is_err());
    }

    #[test]
    fn like_patterns_escape_sql_wildcards() {
        let p = TablePatterns::parse("stag_ing.*,a%b.c").unwrap();
        assert_eq!(p.like_patterns(), ["stag\\_ing.%", "a\\%b.c"]);
    }
}

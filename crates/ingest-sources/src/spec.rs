//! A source as users write it (YAML or JSON, one shape): what to read and how, the
//! incremental cursor, the target and an optional schedule. Unknown keys are refused, with
//! their line, so that a typo is an error and not an option silently ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a spec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not YAML/JSON of the spec's shape (the message names the key and its line).
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// Well formed, but it cannot run as written.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Names the source in the service, its runs and its cursor: letters, digits, `_`, `-`.
    pub name: String,
    pub source: SourceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<Incremental>,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceKind {
    Http(Box<HttpSource>),
    /// MariaDB or MySQL.
    Mysql(DbSource),
    Postgres(DbSource),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    pub request: HttpRequest,
    /// JSONPath to the records in each page (default `$[*]`: the page is an array).
    #[serde(default = "all_records")]
    pub records: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Pages read at most in one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u64>,
    /// A page larger than this is an error, not an out-of-memory (default 64 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_page_bytes: Option<u64>,
    /// A first run whose records path matches nothing is an error unless this is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty: bool,
}

fn all_records() -> String {
    "$[*]".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    pub path: String,
    /// Query parameters; `{cursor}` in a value is the stored cursor (ISO 8601 for times).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    Bearer {
        token: String,
    },
    ApiKey {
        name: String,
        value: String,
        #[serde(rename = "in", default = "header")]
        place: ApiKeyPlace,
    },
    Basic {
        username: String,
        password: String,
    },
    Oauth2ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyPlace {
    Header,
    Query,
}

fn header() -> ApiKeyPlace {
    ApiKeyPlace::Header
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// The next page's cursor is in the body (`cursor_path`), sent back as `param`.
    Cursor { cursor_path: String, param: String },
    /// `param` (default `offset`) advances by the records of each page.
    Offset {
        #[serde(default = "offset")]
        param: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_param: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u64>,
    },
    /// `param` (default `page`) counts pages from `start` (default 1).
    PageNumber {
        #[serde(default = "page")]
        param: String,
        #[serde(default = "one")]
        start: u64,
    },
    /// The next page's URL is in the body at `path`.
    NextLink { path: String },
    /// The next page's URL is the `Link: <...>; rel="next"` header.
    LinkHeader,
}

fn offset() -> String {
    "offset".into()
}
fn page() -> String {
    "page".into()
}
fn one() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Never more requests than this in any one-second window.
    pub requests_per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts of one request on a 429 or a 5xx (default 6).
    #[serde(default = "six")]
    pub max_attempts: u32,
    /// The longest wait for one retry (`60s`, `2m`): a Retry-After beyond it fails the run.
    #[serde(default = "sixty_seconds")]
    pub max_wait: String,
}

fn six() -> u32 {
    6
}
fn sixty_seconds() -> String {
    "60s".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbSource {
    /// `mysql://user@host:3306/db` or `postgres://user@host/db`, without the password.
    pub url: String,
    /// Usually `${env:NAME}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A table to read whole (or incrementally), or a `query` (with `{incremental}` where
    /// the cursor's condition goes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// The field (or column) that grows with each change, e.g. `updated_at`.
    pub cursor_field: String,
    /// Orders records with the same cursor value (e.g. `id`), so none is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_breaker: Option<String>,
    /// The cursor of the first run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<String>,
    /// Reads again this far behind the cursor (`10m`), for records that arrive late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub table: String,
    #[serde(default)]
    pub mode: TargetMode,
    /// Key columns for upsert and merge (default: the primary key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<String>,
    /// Rejected records a run tolerates: a count (`10`) or a share (`1%`); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_errors: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMode {
    Insert,
    #[default]
    Upsert,
    Merge,
    Replace,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `5m`, `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// Five fields (`*/15 * * * *`), in `timezone` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl SourceSpec {
    /// Reads a spec from YAML (JSON is YAML too); `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<SourceSpec, SpecError> {
        let spec: SourceSpec = serde_yaml_ng::from_str(text).map_err(|e| SpecError::Parse {
            origin: origin.to_string(),
            message: with_line(e, text),
        })?;
        spec.check()?;
        Ok(spec)
    }

    /// What the shape cannot say: names, one of two fields, durations that read.
    pub fn check(&self) -> Result<(), SpecError> {
        let invalid = |m: String| Err(SpecError::Invalid(m));
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 63
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return invalid(format!(
                "name {:?}: 1 to 63 letters, digits, `_` or `-`",
                self.name
            ));
        }
        match &self.source {
            SourceKind::Http(h) => {
                if !(h.base_url.starts_with("http://") || h.base_url.starts_with("https://")) {
                    return invalid(format!("source.base_url {:?}: an http(s) URL", h.base_url));
                }
                if !h.records.starts_with('$') {
                    return invalid(format!(
                        "source.records {:?}: a JSONPath, starting with $",
                        h.records
                    ));
                }
                if let Some(r) = &h.rate_limit
                    && !(r.requests_per_second > 0.0 && r.requests_per_second.is_finite())
                {
                    return invalid(
                        "source.rate_limit.requests_per_second: a positive number".into(),
                    );
                }
                if let Some(r) = &h.retry {
                    duration(&r.max_wait, "source.retry.max_wait")?;
                    if r.max_attempts == 0 {
                        return invalid("source.retry.max_attempts: at least 1".into());
                    }
                }
            }
            SourceKind::Mysql(d) | SourceKind::Postgres(d) => match (&d.table, &d.query) {
                (Some(_), Some(_)) => {
                    return invalid("source: give `table` or `query`, not both".into());
                }
                (None, None) => {
                    return invalid("source: say which `table` (or `query`) to read".into());
                }
                (None, Some(q)) if self.incremental.is_some() && !q.contains("{incremental}") => {
                    return invalid(
                        "source.query: with `incremental`, write {incremental} where the cursor's condition goes (select ... where {incremental})".into(),
                    );
                }
                _ => {}
            },
        }
        if let Some(m) = &self.target.max_errors {
            self.max_errors(m)?;
        }
        if let Some(i) = &self.incremental
            && let Some(l) = &i.lookback
        {
            duration(l, "incremental.lookback")?;
        }
        if let Some(s) = &self.schedule {
            match (&s.every, &s.cron) {
                (Some(_), Some(_)) => {
                    return invalid("schedule: give `every` or `cron`, not both".into());
                }
                (None, None) => {
                    return invalid("schedule: give `every` (5m) or `cron` (*/15 * * * *)".into());
                }
                (Some(e), None) => {
                    if duration(e, "schedule.every")? < Duration::from_secs(1) {
                        return invalid("schedule.every: at least 1s".into());
                    }
                }
                (None, Some(_)) => {}
            }
            if s.timezone.is_some() && s.cron.is_none() {
                return invalid("schedule.timezone goes with `cron`".into());
            }
            crate::schedule::Ticks::of(s)?;
        }
        Ok(())
    }
}

impl SourceSpec {
    /// `target.max_errors` (or `text`, given instead), read.
    pub fn max_errors(&self, text: &str) -> Result<ingest_load::RejectLimit, SpecError> {
        text.parse()
            .map_err(|e| SpecError::Invalid(format!("target.max_errors {text:?}: {e}")))
    }

    /// The rejects a run tolerates by the spec (none unless it says).
    pub fn reject_limit(&self) -> ingest_load::RejectLimit {
        self.target
            .max_errors
            .as_deref()
            .and_then(|m| self.max_errors(m).ok())
            .unwrap_or(ingest_load::RejectLimit::Count(0))
    }
}

/// The parser's message, with the line of the unknown key it names: inside `source` (a
/// tagged enum, read as a whole first) serde reports the enclosing mapping's position
/// instead of the key's.
fn with_line(e: serde_yaml_ng::Error, text: &str) -> String {
    let message = e.to_string();
    let key = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("source: unknown field `"))
        .and_then(|rest| rest.split('`').next());
    let line = key.and_then(|key| {
        text.lines().position(|l| {
            let l = l.trim_start().trim_start_matches(['-', '{', ' ']);
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
    });
    match line {
        Some(n) => {
            let bare = message.split(" at line ").next().unwrap_or(&message);
            format!("{bare} at line {}", n + 1)
        }
        None => message,
    }
}

/// A duration as written in a spec (`10m`, `60s`, `1h 30m`).
pub(crate) fn duration(text: &str, field: &str) -> Result<Duration, SpecError> {
    humantime::parse_duration(text.trim())
        .map_err(|e| SpecError::Invalid(format!("{field} {text:?}: {e} (e.g. 30s, 10m, 1h)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARRIER: &str = r#"
name: carrier_trips
source:
  type: http
  base_url: https://api.carrier.example/v2
  auth: {type: bearer, token: "${env:CARRIER_TOKEN}"}
  request: {path: /trips, params: {updated_since: "{cursor}", per_page: 100}}
  records: $.data[*]
  pagination: {type: cursor, cursor_path: $.meta.next, param: cursor}
  rate_limit: {requests_per_second: 5}
  retry: {max_attempts: 6, max_wait: 60s}
incremental: {cursor_field: updated_at, initial: "2026-01-01T00:00:00Z", lookback: 10m}
target: {table: public.trips, mode: upsert, key: [id]}
schedule: {every: 5m}
"#;

    const ERP: &str = r#"
name: erp_customers
source:
  type: mysql
  url: mysql://reader@erp.internal:3306/erp
  password: "${env:ERP_PASSWORD}"
  table: customers
incremental: {cursor_field: updated_at, tie_breaker: id}
target: {table: public.customers, mode: upsert, key: [id]}
"#;

    #[test]
    fn the_issue_examples_parse() {
        let carrier = SourceSpec::parse(CARRIER, "carrier.yaml").unwrap();
        let SourceKind::Http(h) = &carrier.source else {
            panic!("http")
        };
        assert_eq!(h.records, "$.data[*]");
        assert!(matches!(&h.auth, Some(Auth::Bearer { token }) if token == "${env:CARRIER_TOKEN}"));
        assert!(
            matches!(&h.pagination, Some(Pagination::Cursor { param, .. }) if param == "cursor")
        );
        assert_eq!(h.request.params["per_page"], 100);
        assert_eq!(
            carrier.schedule.as_ref().unwrap().every.as_deref(),
            Some("5m")
        );
        let erp = SourceSpec::parse(ERP, "erp.yaml").unwrap();
        assert!(
            matches!(&erp.source, SourceKind::Mysql(d) if d.table.as_deref() == Some("customers"))
        );
        assert_eq!(erp.target.mode, TargetMode::Upsert);
        // JSON is the same shape.
        let json = serde_json::to_string(&carrier).unwrap();
        assert_eq!(SourceSpec::parse(&json, "carrier.json").unwrap(), carrier);
    }

    #[test]
    fn mistakes_name_the_key_and_its_line() {
        let typo = CARRIER.replace("records: $.data[*]", "recrods: $.data[*]");
        let e = SourceSpec::parse(&typo, "carrier.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("recrods") && e.contains("line 8"), "{e}");
        let typo = CARRIER.replace("target:", "targte:");
        let e = SourceSpec::parse(&typo, "carrier.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("targte") && e.contains("line 13"), "{e}");
        let e = SourceSpec::parse(&ERP.replace("  table: customers\n", ""), "erp.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`table` (or `query`)"), "{e}");
        let e = SourceSpec::parse(&ERP.replace("name: erp_customers\n", ""), "erp.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `name`"), "{e}");
        let e = SourceSpec::parse(&CARRIER.replace("every: 5m", "every: soon"), "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("schedule.every \"soon\""), "{e}");
        let e = SourceSpec::parse(&CARRIER.replace("type: bearer", "type: kerberos"), "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("kerberos"), "{e}");
        let e = SourceSpec::parse(
            &ERP.replace("table: customers", "query: select * from customers"),
            "erp.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("{incremental}"), "{e}");
    }
}

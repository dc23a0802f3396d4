use std::path::Path;

use tokio_postgres::{Client, Config, NoTls};

use crate::PgError;

/// Where the connection settings come from.
#[derive(Debug, Clone)]
pub enum ConnectSource {
    /// A `postgres://` URL or a libpq key=value string (`--database-url`, `DATABASE_URL`).
    Url(String),
    /// The libpq variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, with
    /// libpq's defaults (the local socket, the OS user).
    Env,
}

/// A connection configuration, with the session settings libpq takes from the
/// environment (`PGOPTIONS`, `PGTZ`, `PGDATESTYLE`, `PGAPPNAME`) and the application name
/// `ingest` when none is given.
pub fn connect_config(source: &ConnectSource) -> Result<Config, PgError> {
    let mut config = match source {
        ConnectSource::Url(url) => url
            .parse::<Config>()
            .map_err(|e| PgError::BadUrl(format!("{e} (in {})", redact(url))))?,
        ConnectSource::Env => config_from_env(),
    };
    apply_session_env(&mut config, env);
    if config.get_application_name().is_none() {
        config.application_name("ingest");
    }
    Ok(config)
}

/// What libpq does with these variables whatever the connection string says, so that a
/// value is read as `psql \copy` reads it: `PGTZ` and `PGDATESTYLE` become the session's
/// `TimeZone` and `DateStyle`; `PGOPTIONS` and `PGAPPNAME` apply when the connection
/// string sets no `options` or `application_name`.
fn apply_session_env(config: &mut Config, env: impl Fn(&str) -> Option<String>) {
    let mut options = config.get_options().map(str::to_string);
    if options.is_none() {
        options = env("PGOPTIONS");
    }
    for (var, setting) in [("PGTZ", "TimeZone"), ("PGDATESTYLE", "DateStyle")] {
        if let Some(value) = env(var) {
            // Options are split at unescaped blanks: `ISO, DMY` travels as `ISO,\ DMY`.
            let value = value.replace('\\', "\\\\").replace(' ', "\\ ");
            let o = options.get_or_insert_with(String::new);
            if !o.is_empty() {
                o.push(' ');
            }
            o.push_str(&format!("-c {setting}={value}"));
        }
    }
    if let Some(options) = options {
        config.options(&options);
    }
    if config.get_application_name().is_none()
        && let Some(name) = env("PGAPPNAME")
    {
        config.application_name(&name);
    }
}

/// Connects and drives the connection on a background task.
pub async fn connect(source: &ConnectSource) -> Result<Client, PgError> {
    let config = connect_config(source)?;
    let (client, connection) = config.connect(NoTls).await.map_err(|e| PgError::Connect {
        target: describe_target(source, &config),
        source: e,
    })?;
    tokio::spawn(async move {
        // The error, if any, also surfaces on the next query through the client.
        let _ = connection.await;
    });
    Ok(client)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn config_from_env() -> Config {
    let mut config = Config::new();
    let user = env("PGUSER")
        .or_else(|| env("USER"))
        .unwrap_or_else(|| "postgres".into());
    match env("PGHOST") {
        Some(hosts) => {
            for h in hosts.split(',') {
                config.host(h);
            }
        }
        None => {
            // libpq's default: the local socket directory, else TCP on localhost.
            for dir in ["/var/run/postgresql", "/tmp"] {
                if Path::new(dir).join(".s.PGSQL.5432").exists() || dir == "/tmp" {
                    config.host_path(dir);
                    break;
                }
            }
            config.host("localhost");
        }
    }
    if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
        config.port(port);
    }
    if let Some(password) = env("PGPASSWORD") {
        config.password(password);
    }
    config.dbname(env("PGDATABASE").unwrap_or_else(|| user.clone()));
    config.user(user);
    config
}

/// The connection string without its password, for messages: a URL's `user:password@`
/// and a key=value string's `password=…`.
fn redact(url: &str) -> String {
    if !url.contains("://") {
        return url
            .split_whitespace()
            .map(mask_password)
            .collect::<Vec<_>>()
            .join(" ");
    }
    let url = redact_query_password(url);
    let url = url.as_str();
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{}", &url[..scheme + 3 + colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn describe_target(source: &ConnectSource, config: &Config) -> String {
    match source {
        ConnectSource::Url(url) => redact(url),
        ConnectSource::Env => {
            let hosts: Vec<String> = config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            format!(
                "host {} user {} database {}",
                hosts.join(","),
                config.get_user().unwrap_or("?"),
                config.get_dbname().unwrap_or("?")
            )
        }
    }
}

/// A `password=…` setting with its value hidden; any other setting as it is.
fn mask_password(kv: &str) -> &str {
    if kv.starts_with("password=") {
        "password=***"
    } else {
        kv
    }
}

/// `?password=…` in a URL's query.
fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query = query
        .split('&')
        .map(mask_password)
        .collect::<Vec<_>>()
        .join("&");
    format!("{base}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_session_variables_apply() {
        let vars = |name: &str| match name {
            "PGTZ" => Some("America/Sao_Paulo".to_string()),
            "PGDATESTYLE" => Some("ISO, DMY".to_string()),
            "PGAPPNAME" => Some("nightly".to_string()),
            _ => None,
        };
        let mut config: Config = "postgres://u@h/db".parse().unwrap();
        apply_session_env(&mut config, vars);
        assert_eq!(
            config.get_options(),
            Some("-c TimeZone=America/Sao_Paulo -c DateStyle=ISO,\\ DMY")
        );
        assert_eq!(config.get_application_name(), Some("nightly"));
        // The connection string's own settings come first.
        let mut config: Config =
            "postgres://u@h/db?options=-c%20work_mem%3D64MB&application_name=etl"
                .parse()
                .unwrap();
        apply_session_env(&mut config, |n| {
            (n == "PGOPTIONS").then(|| "-c x=1".to_string())
        });
        assert_eq!(config.get_options(), Some("-c work_mem=64MB"));
        assert_eq!(config.get_application_name(), Some("etl"));
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact("postgres://bob@db/x"), "postgres://bob@db/x");
        assert_eq!(
            redact("host=db user=bob password=s3cret dbname=x"),
            "host=db user=bob password=*** dbname=x"
        );
        assert_eq!(
            redact("postgres://db/x?user=bob&password=s3cret"),
            "postgres://db/x?user=bob&password=***"
        );
    }
}

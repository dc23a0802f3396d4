//! A PostgreSQL to talk to when none was configured: the local server if one answers,
//! else a private cluster under the data directory, made with the system's `initdb` and
//! started with `pg_ctl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{ConnectSource, PgError};

/// Why no private cluster could be made or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalPgError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
    #[error("{what}: {source}")]
    NoAnswer { what: String, source: PgError },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LocalPgError {
    let what = what.into();
    move |source| LocalPgError::Io { what, source }
}

fn utf8(dir: &Path) -> Result<&str, LocalPgError> {
    dir.to_str()
        .ok_or_else(|| LocalPgError::Setup("data directory path is not UTF-8".into()))
}

/// The port of the private cluster (one per data directory, reused across runs);
/// `INGEST_PG_PORT` overrides it.
pub const PRIVATE_PORT: u16 = 54329;

fn private_port() -> u16 {
    std::env::var("INGEST_PG_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(PRIVATE_PORT)
}

/// Where the database comes from, for messages.
pub struct Found {
    pub source: ConnectSource,
    pub description: String,
}

/// `DATABASE_URL`, else the libpq defaults, else user `postgres` on `PGHOST`/`PGPORT`
/// (default 127.0.0.1:5432), else a private cluster in `data_dir/pg`.
pub async fn find_or_start(data_dir: &Path) -> Result<Found, LocalPgError> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(Found {
            source: ConnectSource::Url(url),
            description: "DATABASE_URL".into(),
        });
    }
    if crate::connect(&ConnectSource::Env).await.is_ok() {
        return Ok(Found {
            source: ConnectSource::Env,
            description: "the local server (libpq defaults)".into(),
        });
    }
    let host = std::env::var("PGHOST")
        .ok()
        .filter(|h| !h.is_empty() && !h.starts_with('/'))
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = std::env::var("PGPORT").unwrap_or_else(|_| "5432".into());
    let local = ConnectSource::Url(format!("postgres://postgres@{host}:{port}/postgres"));
    if crate::connect(&local).await.is_ok() {
        let description = format!("the local server on {host}:{port}");
        return Ok(Found {
            source: local,
            description,
        });
    }
    let port = private_port();
    let private = ConnectSource::Url(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    if crate::connect(&private).await.is_ok() {
        let description = format!("the private cluster on port {port}");
        return Ok(Found {
            source: private,
            description,
        });
    }
    let dir = data_dir.join("pg");
    start_private_cluster(&dir, port)?;
    crate::connect(&private)
        .await
        .map_err(|source| LocalPgError::NoAnswer {
            what: format!(
                "the private cluster in {} started but does not answer",
                dir.display()
            ),
            source,
        })?;
    let description = format!("a private cluster in {} (port {port})", dir.display());
    Ok(Found {
        source: private,
        description,
    })
}

/// Creates (if need be) and starts a private cluster in `dir`, listening on 127.0.0.1:`port`.
pub fn start_private_cluster(dir: &Path, port: u16) -> Result<(), LocalPgError> {
    std::fs::create_dir_all(dir).map_err(io_error(format!("creating {}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(io_error(format!("resolving {}", dir.display())))?;
    // PostgreSQL refuses to run as root: hand the directory to the `postgres` user.
    if is_root() {
        let status = Command::new("chown")
            .arg("-R")
            .arg("postgres")
            .arg(&dir)
            .status()
            .map_err(io_error("running chown"))?;
        if !status.success() {
            return Err(LocalPgError::Setup(format!(
                "cannot give {} to the postgres user",
                dir.display()
            )));
        }
    }
    let d = utf8(&dir)?;
    if !dir.join("PG_VERSION").exists() {
        eprintln!("ingest: creating a private PostgreSQL cluster in {d}");
        pg_tool(
            "initdb",
            &[
                "-D",
                d,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
    }
    let opts = format!("-p {port} -k {d} -c listen_addresses=127.0.0.1");
    let log = format!("{d}/server.log");
    pg_tool("pg_ctl", &["-D", d, "-l", &log, "-o", &opts, "-w", "start"])
}

/// Stops the private cluster in `dir` (fast: it holds nothing worth a checkpoint wait).
pub fn stop_private_cluster(dir: &Path) -> Result<(), LocalPgError> {
    let d = utf8(dir)?;
    pg_tool("pg_ctl", &["-D", d, "-m", "fast", "-w", "stop"])
}

/// Runs a PostgreSQL server program, as the `postgres` user when we are root.
fn pg_tool(program: &str, args: &[&str]) -> Result<(), LocalPgError> {
    let bin = pg_bin_dir().ok_or_else(|| {
        LocalPgError::Setup(
            "no PostgreSQL server binaries (initdb, pg_ctl) found: install PostgreSQL or set DATABASE_URL"
                .into(),
        )
    })?;
    let exe = bin.join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args(args)
        .output()
        .map_err(io_error(format!("running {}", exe.display())))?;
    if !out.status.success() {
        return Err(LocalPgError::Setup(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Whether this process runs as root (PostgreSQL's server programs refuse to).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// The directory of `initdb` and `pg_ctl`: on the PATH, else Debian's versioned one.
fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .collect();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .find(|d| d.join("initdb").exists())
}

//! `ingest serve` over real HTTP: the server and client helpers every API test uses; the
//! tests themselves are in the submodules.

mod console;
mod exports;
mod jobs;
mod quality;
mod records;
mod sources;
mod streams;
mod tokens;
mod uploads;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::free_port;
use crate::support::{TestDb, database_url};

pub(crate) struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange: (status, headers and body as text).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body)
}

/// A chunked body's content: `size\r\ndata\r\n` until a chunk of size 0.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

pub(crate) fn serve(db: &TestDb, queue: &str) -> Server {
    serve_with(db, queue, &[], &[])
}

/// `ingest serve` on a free port, its files confined to the test's directory.
pub(crate) fn serve_with(
    db: &TestDb,
    queue: &str,
    extra: &[&str],
    env: &[(&'static str, String)],
) -> Server {
    let port = free_port();
    let workers: &[&str] = if extra.contains(&"--workers") {
        &[]
    } else {
        &["--workers", "2"]
    };
    let log = db.dir.path().join(format!("serve-{port}.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["serve", "--schema", queue, "--port", &port.to_string()])
        .args(workers)
        .args(extra)
        .arg("--file-root")
        .arg(db.dir.path())
        .arg("--data-dir")
        .arg(db.dir.path().join("data"))
        .env("DATABASE_URL", database_url())
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "ingest serve did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, port }
}

pub(crate) fn wait_end(port: u16, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, body) = http(port, "GET", &format!("/v1/jobs/{id}"), &[], b"");
        let job = json(&body);
        if ["succeeded", "failed", "cancelled"].contains(&job["state"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not end: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `ingest` and gives (exit code, stdout, stderr).
fn ingest(command: &mut Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `ingest token ...` against the queue schema `queue`.
fn token_cmd(queue: &str, args: &[&str]) -> (i32, String, String) {
    ingest(
        Command::new(env!("CARGO_BIN_EXE_ingest"))
            .arg("token")
            .args(args)
            .args(["--schema", queue])
            .env("DATABASE_URL", database_url()),
    )
}

/// `ingest <args>` against the API at `port`.
fn client(port: u16, args: &[&str]) -> (i32, String, String) {
    ingest(
        Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(args)
            .env("INGEST_API_URL", format!("http://127.0.0.1:{port}"))
            .env_remove("INGEST_TOKEN"),
    )
}

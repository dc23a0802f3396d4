//! `ingest serve` over real HTTP: jobs from a URL and from an upload, idempotency, a bad
//! file's rejects, problem+json errors, readiness and metrics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::{free_port, python, s3_env, s3_server, s3_upload};
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

#[test]
fn the_bulk_api_runs_jobs_end_to_end() {
    let mut db = TestDb::new("api");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int not null)");
    let t = db.t("t");
    let file = db.file("in.csv", "id,qty\n1,10\n2,20\n");
    let srv = serve(&db, &queue);
    let p = srv.port;
    let ct = ("content-type", "application/json");

    assert_eq!(http(p, "GET", "/healthz", &[], b"").0, 200);
    assert_eq!(http(p, "GET", "/readyz", &[], b"").0, 200);
    // The OpenAPI document is generated from the handlers: every endpoint is in it.
    let (status, _, doc) = http(p, "GET", "/openapi.json", &[], b"");
    assert_eq!(status, 200);
    let doc = json(&doc);
    for path in [
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/data",
        "/v1/jobs/{id}/errors",
        "/v1/jobs/{id}/cancel",
        "/v1/jobs/{id}/retry",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
    assert!(doc["components"]["schemas"]["JobRequest"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Swagger UI, served from files built in (nothing fetched from the internet).
    let (status, _, page) = http(p, "GET", "/docs/", &[], b"");
    assert_eq!(status, 200);
    assert!(page.contains("swagger-ui"), "{page}");
    let (status, _, init) = http(p, "GET", "/docs/swagger-initializer.js", &[], b"");
    assert_eq!(status, 200);
    assert!(init.contains("/openapi.json"), "{init}");
    // A job from a URL.
    let body = format!(
        r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{t}", "key": ["id"]}}, "mode": "upsert"}}"#,
        file.display()
    );
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, ("idempotency-key", "k1")],
        body.as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    // The events stream follows the job to its end, then closes.
    let (status, head, events) = http(p, "GET", &format!("/v1/jobs/{id}/events"), &[], b"");
    assert_eq!(status, 200);
    assert!(head.contains("text/event-stream"), "{head}");
    assert!(events.contains("event: created"), "{events}");
    assert!(events.contains("event: end"), "{events}");
    assert!(events.contains("\"state\":\"succeeded\""), "{events}");
    assert_eq!(wait_end(p, &id)["stats"]["rows_inserted"], 2);
    // The same key and body: the same job; another body: a conflict.
    let (status, _, again) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, ("idempotency-key", "k1")],
        body.as_bytes(),
    );
    assert_eq!(
        (status, json(&again)["id"].as_str().unwrap()),
        (200, id.as_str())
    );
    let other = body.replace("upsert", "insert");
    let (status, head, problem) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, ("idempotency-key", "k1")],
        other.as_bytes(),
    );
    assert_eq!(status, 409);
    assert!(head.contains("application/problem+json"), "{head}");
    assert!(problem.contains("idempotency-key-reused"), "{problem}");
    // An upload job, gzip'd on the way.
    let upload = format!(
        r#"{{"source": {{"upload": true}}, "target": {{"table": "{t}", "key": ["id"]}}, "mode": "upsert", "format": "csv"}}"#
    );
    let (status, _, created) = http(p, "POST", "/v1/jobs", &[ct], upload.as_bytes());
    assert_eq!(status, 201);
    let job = json(&created);
    assert_eq!(job["state"], "pending_upload");
    let up = job["upload_url"].as_str().unwrap().to_string();
    let gz = {
        let out = Command::new("gzip")
            .arg("-c")
            .arg(db.file("up.csv", "id,qty\n2,21\n3,30\n"))
            .output()
            .unwrap();
        out.stdout
    };
    let (status, _, _) = http(p, "PUT", &up, &[("content-encoding", "gzip")], &gz);
    assert_eq!(status, 202);
    // A long poll answers when the job has ended, in one request.
    let asked = Instant::now();
    let (status, _, body) = http(
        p,
        "GET",
        &format!("/v1/jobs/{}?wait=30", job["id"].as_str().unwrap()),
        &[],
        b"",
    );
    let done = json(&body);
    assert_eq!(status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        (
            done["state"].as_str(),
            done["stats"]["rows_updated"].as_u64()
        ),
        (Some("succeeded"), Some(1))
    );
    assert_eq!(
        db.value(&format!(
            "select string_agg(qty::text, ',' order by id) from {t}"
        )),
        "10,21,30"
    );
    // The upload is deleted once its job succeeded.
    let left: Vec<_> = std::fs::read_dir(db.dir.path().join("data/uploads"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // A bad file: the job fails, the table is untouched, the rejects are downloadable.
    let before = db.fingerprint(&t);
    let bad = db.file("bad.csv", "id,qty\n4,oops\n");
    let body = format!(
        r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{t}"}}}}"#,
        bad.display()
    );
    let (_, _, created) = http(p, "POST", "/v1/jobs", &[ct], body.as_bytes());
    let bad_id = json(&created)["id"].as_str().unwrap().to_string();
    // A bad file is not worth a retry: one attempt, failed.
    let failed = wait_end(p, &bad_id);
    assert_eq!(
        (failed["state"].as_str(), failed["attempt"].as_i64()),
        (Some("failed"), Some(1)),
        "{failed}"
    );
    assert_eq!(db.fingerprint(&t), before);
    let (status, _, csv) = http(
        p,
        "GET",
        &format!("/v1/jobs/{bad_id}/errors?format=csv"),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert!(csv.contains("2,qty,oops,"), "{csv}");
    let (_, _, nd) = http(
        p,
        "GET",
        &format!("/v1/jobs/{bad_id}/errors?format=ndjson"),
        &[],
        b"",
    );
    let first = json(nd.lines().next().unwrap_or(""));
    assert_eq!(
        (first["line"].as_i64(), first["value"].as_str()),
        (Some(2), Some("oops"))
    );
    let status = http(
        p,
        "GET",
        &format!("/v1/jobs/{bad_id}/errors?format=xml"),
        &[],
        b"",
    )
    .0;
    assert_eq!(status, 400);
    // Errors are problems with a stable type.
    let (status, _, body) = http(
        p,
        "GET",
        "/v1/jobs/00000000-0000-0000-0000-000000000000",
        &[],
        b"",
    );
    assert_eq!(
        (status, json(&body)["type"].as_str()),
        (404, Some("https://ingest.dev/problems/job-not-found"))
    );
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct],
        br#"{"source": {"url": "x.csv"}, "target": {"table": "t"}, "options": {"colour": 1}}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains("--colour"), "{body}");
    // The list, newest first, and the metrics.
    let (_, _, list) = http(p, "GET", "/v1/jobs?limit=2", &[], b"");
    let list = json(&list);
    assert_eq!(list["jobs"][0]["id"].as_str(), Some(bad_id.as_str()));
    assert!(list["next_cursor"].is_string());
    // The cursor goes into a URL as it is, and the next page follows on.
    let cursor = list["next_cursor"].as_str().unwrap();
    let (status, _, page2) = http(
        p,
        "GET",
        &format!("/v1/jobs?limit=2&cursor={cursor}"),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{page2}");
    let page2 = json(&page2);
    let first_ids: Vec<_> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].clone())
        .collect();
    let second_ids: Vec<_> = page2["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].clone())
        .collect();
    // Three jobs in all: the last page holds the oldest, and says it is the last.
    assert_eq!(second_ids.len(), 1);
    assert!(page2["next_cursor"].is_null());
    assert!(second_ids.iter().all(|id| !first_ids.contains(id)));
    let (_, _, metrics) = http(p, "GET", "/metrics", &[], b"");
    assert!(
        metrics.contains("ingest_jobs{state=\"succeeded\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ingest_jobs{state=\"failed\"} 1"),
        "{metrics}"
    );
    // Three jobs ran: each is counted in the histogram, in a bucket up to 10 s.
    assert!(
        metrics.contains("ingest_job_duration_seconds_count 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ingest_job_duration_seconds_bucket{le=\"10\"} 3"),
        "{metrics}"
    );
    // Many rejects under the limit: the job succeeds, and every reject comes back, page
    // after page; a NUL in a rejected value (PostgreSQL text cannot hold it) is replaced.
    let mut many = String::new();
    for i in 0..2_500 {
        many.push_str(&format!(
            "{{\"id\": {}, \"qty\": \"n\\u0000{i}\"}}\n",
            1000 + i
        ));
    }
    many.push_str("{\"id\": 5000, \"qty\": 1}\n");
    let nd = db.file("many.ndjson", many);
    let body = format!(
        r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{t}"}}, "options": {{"max_errors": 10000}}}}"#,
        nd.display()
    );
    let (_, _, created) = http(p, "POST", "/v1/jobs", &[ct], body.as_bytes());
    let many_id = json(&created)["id"].as_str().unwrap().to_string();
    let done = wait_end(p, &many_id);
    assert_eq!(
        (
            done["state"].as_str(),
            done["stats"]["rows_rejected"].as_u64()
        ),
        (Some("succeeded"), Some(2_500)),
        "{done}"
    );
    let (_, _, all) = http(
        p,
        "GET",
        &format!("/v1/jobs/{many_id}/errors?format=ndjson"),
        &[],
        b"",
    );
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 2_500);
    let last = json(lines[2_499]);
    assert_eq!(
        (last["line"].as_i64(), last["value"].as_str()),
        (Some(2_500), Some("n\u{FFFD}2499"))
    );
    let (_, _, csv) = http(p, "GET", &format!("/v1/jobs/{many_id}/errors"), &[], b"");
    assert_eq!(csv.lines().count(), 2_501);
    db.exec(&format!("delete from {t} where id = 5000"));
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
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

#[test]
fn tokens_limit_callers_to_their_tables_and_sources_are_guarded() {
    let mut db = TestDb::new("apitok");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int not null)");
    db.exec("create table {s}.other (id int primary key)");
    let (t, other) = (db.t("t"), db.t("other"));
    let file = db.file("in.csv", "id,qty\n1,10\n");
    let srv = serve(&db, &queue);
    let p = srv.port;
    let ct = ("content-type", "application/json");
    let job = |table: &str, url: &str| {
        format!(r#"{{"source": {{"url": "{url}"}}, "target": {{"table": "{table}"}}}}"#)
    };
    // The source guard: no private hosts, no files outside --file-root, no `..`.
    for (url, says) in [
        ("http://127.0.0.1:9/x.csv", "private network"),
        ("http://169.254.169.254/latest/x.csv", "private network"),
        ("/etc/passwd", "outside"),
        ("file:///etc/hosts", "outside"),
        (&format!("{}/../x.csv", db.dir.path().display()), ".."),
        ("-", "standard input"),
    ] {
        let (status, _, body) = http(p, "POST", "/v1/jobs", &[ct], job(&t, url).as_bytes());
        assert_eq!(status, 400, "{url}: {body}");
        assert!(
            body.contains("source-not-allowed") && body.contains(says),
            "{url}: {body}"
        );
    }
    // An upload job takes no URL (only the server writes one, once the file arrived), and
    // one whose file never came cannot be retried into reading something else.
    let both = format!(
        r#"{{"source": {{"upload": true, "url": "file:///etc/passwd"}}, "target": {{"table": "{t}"}}}}"#
    );
    let (status, _, body) = http(p, "POST", "/v1/jobs", &[ct], both.as_bytes());
    assert_eq!(status, 400, "{body}");
    let upload = format!(r#"{{"source": {{"upload": true}}, "target": {{"table": "{t}"}}}}"#);
    let (_, _, created) = http(p, "POST", "/v1/jobs", &[ct], upload.as_bytes());
    let never = json(&created)["id"].as_str().unwrap().to_string();
    assert_eq!(
        http(p, "POST", &format!("/v1/jobs/{never}/cancel"), &[], b"").0,
        202
    );
    let (status, _, body) = http(p, "POST", &format!("/v1/jobs/{never}/retry"), &[], b"");
    assert_eq!(
        (status, body.contains("never-uploaded")),
        (409, true),
        "{body}"
    );
    // The service's own tables are no target, whoever asks.
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct],
        job(&format!("{queue}.api_tokens"), &file.display().to_string()).as_bytes(),
    );
    assert_eq!(status, 403, "{body}");
    // Without tokens, loopback callers may do anything: a job on `other`.
    let other_file = db.file("o.csv", "id\n7\n");
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct],
        job(&other, &other_file.display().to_string()).as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let other_id = json(&created)["id"].as_str().unwrap().to_string();
    assert_eq!(wait_end(p, &other_id)["state"], "succeeded");

    // A token for `t` only: printed once, on stdout.
    let (code, secret, err) = token_cmd(&queue, &["create", "--name", "etl", "--tables", &t]);
    assert_eq!(code, 0, "{err}");
    assert!(
        secret.starts_with("ingest_") && secret.len() > 40,
        "{secret}"
    );
    let (code, _, err) = token_cmd(&queue, &["create", "--name", "etl", "--tables", "*"]);
    assert_eq!(code, 2);
    assert!(err.contains("exists"), "{err}");
    let bearer = format!("Bearer {secret}");
    let auth = ("authorization", bearer.as_str());

    // Now every /v1 request needs it.
    let (status, head, body) = http(p, "GET", "/v1/jobs", &[], b"");
    assert_eq!(status, 401, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    assert!(body.contains("token-required"), "{body}");
    let (status, _, body) = http(
        p,
        "GET",
        "/v1/jobs",
        &[("authorization", "Bearer nope")],
        b"",
    );
    assert_eq!(
        (status, body.contains("invalid-token")),
        (401, true),
        "{body}"
    );
    assert_eq!(http(p, "GET", "/healthz", &[], b"").0, 200);

    // Its own table: allowed, and loaded.
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, auth],
        job(&t, &file.display().to_string()).as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, body) = http(p, "GET", &format!("/v1/jobs/{id}"), &[auth], b"");
        if json(&body)["state"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(db.value(&format!("select count(*) from {t}")), "1");
    // Another table: 403, whether a new job or an existing one; the list hides it.
    let before = db.fingerprint(&other);
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, auth],
        job(&other, &other_file.display().to_string()).as_bytes(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("table-not-allowed"), "{body}");
    for (method, path) in [
        ("GET", format!("/v1/jobs/{other_id}")),
        ("GET", format!("/v1/jobs/{other_id}/errors")),
        ("POST", format!("/v1/jobs/{other_id}/retry")),
    ] {
        assert_eq!(
            http(p, method, &path, &[auth], b"").0,
            403,
            "{method} {path}"
        );
    }
    let (_, _, list) = http(p, "GET", "/v1/jobs", &[auth], b"");
    let ids: Vec<String> = json(&list)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&id) && !ids.contains(&other_id), "{ids:?}");
    assert!(ids.iter().all(|i| i == &id || i == &never), "{ids:?}");
    assert_eq!(db.fingerprint(&other), before);

    // Listed without its secret; revoked, it opens nothing.
    let (code, listed, _) = token_cmd(&queue, &["list"]);
    assert_eq!(code, 0);
    assert!(
        listed.starts_with("etl\t") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&secret));
    assert_eq!(token_cmd(&queue, &["revoke", "etl"]).0, 0);
    assert_eq!(http(p, "GET", "/v1/jobs", &[auth], b"").0, 401);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

#[test]
fn serving_beyond_loopback_needs_a_token() {
    let mut db = TestDb::new("apibind");
    let queue = format!("{}_q", db.schema);
    let out = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args([
            "serve",
            "--bind",
            "0.0.0.0",
            "--schema",
            &queue,
            "--workers",
            "0",
        ])
        .args(["--port", &free_port().to_string()])
        .env("DATABASE_URL", database_url())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("needs tokens") && err.contains("ingest token create"),
        "{err}"
    );
    // With a token, it starts.
    assert_eq!(
        token_cmd(&queue, &["create", "--name", "n", "--tables", "*"]).0,
        0
    );
    let srv = serve_with(&db, &queue, &["--bind", "0.0.0.0"], &[]);
    assert_eq!(http(srv.port, "GET", "/v1/jobs", &[], b"").0, 401);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

#[test]
fn uploads_stream_into_the_configured_store() {
    let mut db = TestDb::new("apistore");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, note text not null)");
    let t = db.t("t");
    let s3 = s3_server();
    s3_upload(&s3, "ingest-up", db.dir.path(), "", &[]);
    let env = s3_env(&s3);
    let srv = serve_with(
        &db,
        &queue,
        &["--store-url", "s3://ingest-up/uploads/"],
        &env,
    );
    let p = srv.port;
    // 12 MB: more than one part of a multipart upload.
    let rows = 200_000;
    let mut body = String::from("id,note\n");
    for i in 0..rows {
        body.push_str(&format!("{i},{:0>56}\n", i));
    }
    let request = format!(r#"{{"source": {{"upload": true}}, "target": {{"table": "{t}"}}}}"#);
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[("content-type", "application/json")],
        request.as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    let (status, _, queued) = http(
        p,
        "PUT",
        &format!("/v1/jobs/{id}/data"),
        &[],
        body.as_bytes(),
    );
    assert_eq!(status, 202, "{queued}");
    // The worker read it from the bucket, by the URL the job now names.
    let url = json(&queued)["source"]["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("s3://ingest-up/uploads/{id}-")) && url.ends_with(".csv"),
        "{url}"
    );
    let done = wait_end(p, &id);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        db.value(&format!("select count(*) || ' ' || max(id) from {t}")),
        format!("{rows} {}", rows - 1)
    );
    // And the object is gone once the job succeeded.
    let listed = Command::new(python())
        .args(["-c", "import boto3; print(boto3.client('s3').list_objects_v2(Bucket='ingest-up').get('KeyCount'))"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "0");
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
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

#[test]
fn the_command_line_client_submits_follows_and_downloads() {
    let mut db = TestDb::new("apicli");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int not null, price numeric(10,2))");
    let t = db.t("t");
    let srv = serve(&db, &queue);
    let p = srv.port;
    // A Brazilian file, compressed: uploaded as gzip, and as zstd (told by an option).
    let csv = db.file("in.csv", "id;qty;price\n1;10;1,50\n2;20;2,25\n");
    let status = Command::new("gzip").arg("-k").arg(&csv).status().unwrap();
    assert!(status.success());
    let gz = format!("{}.gz", csv.display());
    let (code, out, err) = client(
        p,
        &[
            "submit",
            &gz,
            "--into",
            &t,
            "--key",
            "id",
            "--mode",
            "upsert",
            "-o",
            "locale=pt-BR",
            "--wait",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let job = json(&out);
    assert_eq!(
        (
            job["state"].as_str(),
            job["stats"]["rows_inserted"].as_u64()
        ),
        (Some("succeeded"), Some(2))
    );
    let zst = db.file("more.csv", "id;qty;price\n2;21;3,00\n3;30;4,75\n");
    let compressed = zstd::encode_all(std::fs::read(&zst).unwrap().as_slice(), 3).unwrap();
    std::fs::write(format!("{}.zst", zst.display()), compressed).unwrap();
    let (code, id, err) = client(
        p,
        &[
            "submit",
            &format!("{}.zst", zst.display()),
            "--into",
            &t,
            "--mode",
            "upsert",
            "-o",
            "locale=pt-BR",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = id.trim().to_string();
    let (code, out, err) = client(p, &["wait", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["stats"]["rows_updated"], 1);
    assert_eq!(
        db.value(&format!(
            "select string_agg(id || ':' || qty || ':' || price, ' ' order by id) from {t}"
        )),
        "1:10:1.50 2:21:3.00 3:30:4.75"
    );
    // A bad file: `wait` exits 1 with the reason; `errors` gives the rejected rows.
    let before = db.fingerprint(&t);
    let bad = db.file("bad.csv", "id,qty\n9,nine\n");
    let (code, id, _) = client(p, &["submit", &bad.display().to_string(), "--into", &t]);
    assert_eq!(code, 0);
    let id = id.trim().to_string();
    let (code, out, err) = client(p, &["wait", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("failed"), "{err}");
    assert_eq!(db.fingerprint(&t), before);
    let (code, rejects, _) = client(p, &["errors", &id, "--format", "ndjson"]);
    assert_eq!(code, 0);
    assert_eq!(json(rejects.trim())["value"], "nine");
    let (code, out, _) = client(p, &["status", &id]);
    assert_eq!((code, json(&out)["state"].as_str()), (0, Some("failed")));
    // What the API refuses, the client says, with exit code 2; no API at all is 3.
    let (code, _, err) = client(p, &["cancel", &id]);
    assert_eq!(code, 2);
    assert!(
        err.contains("409") && err.contains("already failed"),
        "{err}"
    );
    let (code, _, err) = client(
        p,
        &["submit", "s3://b/x.csv", "--into", &t, "-o", "colour=red"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--colour"), "{err}");
    let (code, _, err) = client(p, &["submit", "/no/such.csv", "--into", &t]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    drop(srv);
    let (code, _, err) = client(p, &["status", &id]);
    assert_eq!(code, 3, "{err}");
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

#[test]
fn exports_run_as_jobs_and_tokens_limit_what_they_read() {
    let mut db = TestDb::new("apiexport");
    let queue = format!("{}_q", db.schema);
    db.exec(
        "create table {s}.src (id int primary key, status text, amount numeric(10,2));
         insert into {s}.src select i, case when i % 2 = 0 then 'pago' else 'novo' end, i * 1.5
           from generate_series(1, 100) i;
         create table {s}.secret (id int, pin text); insert into {s}.secret values (1, '1234')",
    );
    let (src, secret) = (db.t("src"), db.t("secret"));
    let srv = serve(&db, &queue);
    let p = srv.port;
    let ct = ("content-type", "application/json");
    let dir = db.dir.path().display().to_string();
    let post = |body: String, headers: &[(&str, &str)]| {
        let mut all = vec![ct];
        all.extend_from_slice(headers);
        let (status, _, answer) = http(p, "POST", "/v1/exports", &all, body.as_bytes());
        (status, answer)
    };
    // A table into Hive-style directories.
    let (status, created) = post(
        format!(
            r#"{{"source": {{"table": "{src}"}}, "to": "{dir}/lake/", "options": {{"partition_by": "status"}}}}"#
        ),
        &[],
    );
    assert_eq!(status, 201, "{created}");
    let job = json(&created);
    assert_eq!(job["kind"], "export");
    let done = wait_end(p, job["id"].as_str().unwrap());
    assert_eq!(
        (done["state"].as_str(), done["stats"]["rows"].as_u64()),
        (Some("succeeded"), Some(100)),
        "{done}"
    );
    assert!(
        db.dir
            .path()
            .join("lake/status=pago/part-0000.parquet")
            .is_file()
    );
    assert!(db.dir.path().join("lake/_manifest.json").is_file());
    // A query to NDJSON.
    let (status, created) = post(
        format!(
            r#"{{"source": {{"query": "select id, amount from {src} where id <= 3"}}, "to": "{dir}/q.ndjson"}}"#
        ),
        &[],
    );
    assert_eq!(status, 201, "{created}");
    let done = wait_end(p, json(&created)["id"].as_str().unwrap());
    assert_eq!(done["state"], "succeeded", "{done}");
    let lines = std::fs::read_to_string(db.dir.path().join("q.ndjson")).unwrap();
    assert_eq!(lines.lines().count(), 3);
    // A cancel stops an export mid-way: no file, no temporary left.
    let (status, created) = post(
        format!(
            r#"{{"source": {{"query": "select i, pg_sleep(0.0005) from generate_series(1, 20000) i"}}, "to": "{dir}/slow/s.csv"}}"#
        ),
        &[],
    );
    assert_eq!(status, 201, "{created}");
    let slow = json(&created)["id"].as_str().unwrap().to_string();
    std::fs::create_dir_all(db.dir.path().join("slow")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while json(&http(p, "GET", &format!("/v1/jobs/{slow}"), &[], b"").2)["state"] != "running" {
        assert!(Instant::now() < deadline, "the export never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        http(p, "POST", &format!("/v1/jobs/{slow}/cancel"), &[], b"").0,
        202
    );
    assert_eq!(wait_end(p, &slow)["state"], "cancelled");
    let left: Vec<_> = std::fs::read_dir(db.dir.path().join("slow"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Refused: a query that writes, a bad query, destinations outside the roots.
    for (body, kind) in [
        (
            format!(r#"{{"source": {{"query": "delete from {src}"}}, "to": "{dir}/x.csv"}}"#),
            "invalid-job",
        ),
        (
            format!(r#"{{"source": {{"query": "select nope from {src}"}}, "to": "{dir}/x.csv"}}"#),
            "invalid-query",
        ),
        (
            format!(r#"{{"source": {{"table": "{src}"}}, "to": "/etc/x.parquet"}}"#),
            "destination-not-allowed",
        ),
        (
            format!(r#"{{"source": {{"table": "{src}"}}, "to": "https://example.com/x.csv"}}"#),
            "invalid-job",
        ),
        (
            format!(r#"{{"source": {{"table": "{queue}.api_tokens"}}, "to": "{dir}/t.csv"}}"#),
            "table-not-allowed",
        ),
    ] {
        let (status, answer) = post(body.clone(), &[]);
        assert!(status == 400 || status == 403, "{body}: {status} {answer}");
        assert!(answer.contains(kind), "{body}: {answer}");
    }
    assert_eq!(db.value(&format!("select count(*) from {src}")), "100");
    // A token for `src` only: it exports src, not secret, runs no query (a function could
    // read any table), and sees the jobs it created.
    let (code, token, err) = token_cmd(&queue, &["create", "--name", "bi", "--tables", &src]);
    assert_eq!(code, 0, "{err}");
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    for query in [
        format!("select * from {secret}"),
        format!("select s.id from {src} s join {secret} x using (id)"),
    ] {
        let (status, answer) = post(
            format!(r#"{{"source": {{"query": "{query}"}}, "to": "{dir}/leak.csv"}}"#),
            &auth,
        );
        assert_eq!(status, 403, "{query}: {answer}");
    }
    let (status, answer) = post(
        format!(
            r#"{{"source": {{"query": "select query_to_xml('select * from {secret}', true, false, '')"}}, "to": "{dir}/x.csv"}}"#
        ),
        &auth,
    );
    assert_eq!(
        (status, answer.contains("query-not-allowed")),
        (403, true),
        "{answer}"
    );
    let (status, answer) = post(
        format!(r#"{{"source": {{"table": "{secret}"}}, "to": "{dir}/leak.csv"}}"#),
        &auth,
    );
    assert_eq!(status, 403, "{answer}");
    let (status, created) = post(
        format!(r#"{{"source": {{"table": "{src}"}}, "to": "{dir}/n.csv"}}"#),
        &auth,
    );
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    let (status, _, body) = http(p, "GET", &format!("/v1/jobs/{id}?wait=30"), &auth, b"");
    assert_eq!(
        (status, json(&body)["state"].as_str()),
        (200, Some("succeeded")),
        "{body}"
    );
    let exported = std::fs::read_to_string(db.dir.path().join("n.csv")).unwrap();
    assert_eq!(exported.lines().count(), 101);
    assert!(!db.dir.path().join("leak.csv").exists());
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

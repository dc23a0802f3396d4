//! API tokens: callers limited to their tables, guarded sources, binding beyond loopback.

use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::fixtures::free_port;
use crate::support::{TestDb, database_url};

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
    let never = sources_are_guarded(&db, p, &queue, &t, &file);
    let other_file = db.file("o.csv", "id\n7\n");
    let other_id = without_tokens_loopback_may_do_anything(p, &other, &other_file);
    let secret = a_token_is_printed_once(&queue, &t);
    let bearer = format!("Bearer {secret}");
    let auth = ("authorization", bearer.as_str());
    every_request_needs_it(p);
    let seen = Seen {
        file: &file,
        other_file: &other_file,
        other_id: &other_id,
        never: &never,
    };
    a_token_reaches_its_tables_only(&mut db, p, auth, (&t, &other), &seen);
    listed_without_its_secret_and_revoked(p, &queue, &secret, auth);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

/// A job on `table` from `url`.
fn job(table: &str, url: &str) -> String {
    format!(r#"{{"source": {{"url": "{url}"}}, "target": {{"table": "{table}"}}}}"#)
}

/// What the token test made before the token existed.
struct Seen<'a> {
    file: &'a std::path::Path,
    other_file: &'a std::path::Path,
    other_id: &'a str,
    /// An upload job whose file never came.
    never: &'a str,
}

/// The guard refuses private hosts, files outside the roots, uploads with a URL, and the
/// service's own tables. Returns the id of an upload job whose file never came.
fn sources_are_guarded(
    db: &TestDb,
    p: u16,
    queue: &str,
    t: &str,
    file: &std::path::Path,
) -> String {
    let ct = ("content-type", "application/json");
    // The source guard: no private hosts, no files outside --file-root, no `..`.
    for (url, says) in [
        ("http://127.0.0.1:9/x.csv", "private network"),
        ("http://169.254.169.254/latest/x.csv", "private network"),
        ("/etc/passwd", "outside"),
        ("file:///etc/hosts", "outside"),
        (&format!("{}/../x.csv", db.dir.path().display()), ".."),
        ("-", "standard input"),
    ] {
        let (status, _, body) = http(p, "POST", "/v1/jobs", &[ct], job(t, url).as_bytes());
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
    never
}

fn without_tokens_loopback_may_do_anything(
    p: u16,
    other: &str,
    other_file: &std::path::Path,
) -> String {
    let ct = ("content-type", "application/json");
    // Without tokens, loopback callers may do anything: a job on `other`.
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct],
        job(other, &other_file.display().to_string()).as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let other_id = json(&created)["id"].as_str().unwrap().to_string();
    assert_eq!(wait_end(p, &other_id)["state"], "succeeded");

    other_id
}

fn a_token_is_printed_once(queue: &str, t: &str) -> String {
    // A token for `t` only: printed once, on stdout.
    let (code, secret, err) = token_cmd(queue, &["create", "--name", "etl", "--tables", t]);
    assert_eq!(code, 0, "{err}");
    assert!(
        secret.starts_with("ingest_") && secret.len() > 40,
        "{secret}"
    );
    let (code, _, err) = token_cmd(queue, &["create", "--name", "etl", "--tables", "*"]);
    assert_eq!(code, 2);
    assert!(err.contains("exists"), "{err}");

    secret
}

fn every_request_needs_it(p: u16) {
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
}

fn a_token_reaches_its_tables_only(
    db: &mut TestDb,
    p: u16,
    auth: (&str, &str),
    (t, other): (&str, &str),
    seen: &Seen,
) {
    let ct = ("content-type", "application/json");
    // Its own table: allowed, and loaded.
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, auth],
        job(t, &seen.file.display().to_string()).as_bytes(),
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
    let before = db.fingerprint(other);
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/jobs",
        &[ct, auth],
        job(other, &seen.other_file.display().to_string()).as_bytes(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("table-not-allowed"), "{body}");
    for (method, path) in [
        ("GET", format!("/v1/jobs/{}", seen.other_id)),
        ("GET", format!("/v1/jobs/{}/errors", seen.other_id)),
        ("POST", format!("/v1/jobs/{}/retry", seen.other_id)),
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
    assert!(
        ids.contains(&id) && !ids.contains(&seen.other_id.to_string()),
        "{ids:?}"
    );
    assert!(
        ids.iter().all(|i| i == &id || i == &seen.never.to_string()),
        "{ids:?}"
    );
    assert_eq!(db.fingerprint(other), before);
}

fn listed_without_its_secret_and_revoked(p: u16, queue: &str, secret: &str, auth: (&str, &str)) {
    // Listed without its secret; revoked, it opens nothing.
    let (code, listed, _) = token_cmd(queue, &["list"]);
    assert_eq!(code, 0);
    assert!(
        listed.starts_with("etl\t") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(secret));
    assert_eq!(token_cmd(queue, &["revoke", "etl"]).0, 0);
    assert_eq!(http(p, "GET", "/v1/jobs", &[auth], b"").0, 401);
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

/// Issue 12: a job may create its table (options.create), and a token may create only
/// tables its patterns match.
#[test]
fn jobs_create_tables_their_token_may_reach() {
    let mut db = TestDb::new("apicreate");
    let queue = format!("{}_q", db.schema);
    let srv = serve(&db, &queue);
    let p = srv.port;
    let (code, secret, err) = token_cmd(
        &queue,
        &[
            "create",
            "--name",
            "etl",
            "--tables",
            &format!("{}.made_*", db.schema),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let bearer = format!("Bearer {secret}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let file = db.file("in.csv", "id,v\n1,a\n2,b\n");
    let body = |table: &str| {
        format!(
            r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{table}", "key": ["id"]}}, "options": {{"create": true}}}}"#,
            file.display()
        )
    };
    // Without options.create a missing table is refused to the token; with it, made.
    let plain = body(&db.t("made_one")).replace(r#", "options": {"create": true}"#, "");
    let (status, _, answer) = http(p, "POST", "/v1/jobs", &headers, plain.as_bytes());
    assert_eq!(status, 400, "{answer}");
    let (status, _, created) = http(
        p,
        "POST",
        "/v1/jobs",
        &headers,
        body(&db.t("made_one")).as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    let id = json(&created)["id"].as_str().unwrap().to_string();
    let auth = [("authorization", bearer.as_str())];
    let (_, _, done) = http(p, "GET", &format!("/v1/jobs/{id}?wait=30"), &auth, b"");
    assert_eq!(json(&done)["state"], "succeeded", "{done}");
    assert_eq!(db.value("select count(*) from {s}.made_one"), "2");
    assert_eq!(
        db.value("select count(*) from pg_index where indrelid = '{s}.made_one'::regclass and indisprimary"),
        "1"
    );
    // A name outside the token's patterns is refused before anything is made.
    let (status, _, answer) = http(
        p,
        "POST",
        "/v1/jobs",
        &headers,
        body(&db.t("other")).as_bytes(),
    );
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        db.value(&format!("select to_regclass('{}') is null", db.t("other"))),
        "t"
    );
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

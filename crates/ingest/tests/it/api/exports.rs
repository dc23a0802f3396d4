//! Exports as jobs, limited by tokens.

use std::time::{Duration, Instant};

use super::*;
use crate::support::TestDb;

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
    let dir = db.dir.path().display().to_string();
    a_table_and_a_query_export(&db, p, &src, &dir);
    a_cancel_leaves_no_file(&db, p, &dir);
    bad_exports_are_refused(&mut db, p, (&src, &queue), &dir);
    a_token_exports_its_tables_only(&db, p, &queue, (&src, &secret), &dir);
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

/// POSTs an export job: its status and answer.
fn post(p: u16, body: String, headers: &[(&str, &str)]) -> (u16, String) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let (status, _, answer) = http(p, "POST", "/v1/exports", &all, body.as_bytes());
    (status, answer)
}

fn a_table_and_a_query_export(db: &TestDb, p: u16, src: &str, dir: &str) {
    // A table into Hive-style directories.
    let (status, created) = post(
        p,
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
        p,
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
}

fn a_cancel_leaves_no_file(db: &TestDb, p: u16, dir: &str) {
    // A cancel stops an export mid-way: no file, no temporary left.
    let (status, created) = post(
        p,
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
}

fn bad_exports_are_refused(db: &mut TestDb, p: u16, (src, queue): (&str, &str), dir: &str) {
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
        let (status, answer) = post(p, body.clone(), &[]);
        assert!(status == 400 || status == 403, "{body}: {status} {answer}");
        assert!(answer.contains(kind), "{body}: {answer}");
    }
    assert_eq!(db.value(&format!("select count(*) from {src}")), "100");
}

fn a_token_exports_its_tables_only(
    db: &TestDb,
    p: u16,
    queue: &str,
    (src, secret): (&str, &str),
    dir: &str,
) {
    // A token for `src` only: it exports src, not secret, runs no query (a function could
    // read any table), and sees the jobs it created.
    let (code, token, err) = token_cmd(queue, &["create", "--name", "bi", "--tables", src]);
    assert_eq!(code, 0, "{err}");
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    for query in [
        format!("select * from {secret}"),
        format!("select s.id from {src} s join {secret} x using (id)"),
    ] {
        let (status, answer) = post(
            p,
            format!(r#"{{"source": {{"query": "{query}"}}, "to": "{dir}/leak.csv"}}"#),
            &auth,
        );
        assert_eq!(status, 403, "{query}: {answer}");
    }
    let (status, answer) = post(
        p,
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
        p,
        format!(r#"{{"source": {{"table": "{secret}"}}, "to": "{dir}/leak.csv"}}"#),
        &auth,
    );
    assert_eq!(status, 403, "{answer}");
    let (status, created) = post(
        p,
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
}

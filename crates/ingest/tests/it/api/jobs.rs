//! Jobs from a URL and from an upload, idempotency, a bad file's rejects, problem+json
//! errors, readiness and metrics.

use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::support::TestDb;

#[test]
fn the_bulk_api_runs_jobs_end_to_end() {
    let mut db = TestDb::new("api");
    let queue = format!("{}_q", db.schema);
    db.exec("create table {s}.t (id int primary key, qty int not null)");
    let t = db.t("t");
    let file = db.file("in.csv", "id,qty\n1,10\n2,20\n");
    let srv = serve(&db, &queue);
    let p = srv.port;

    health_and_the_openapi_document(p);
    a_url_job_is_idempotent(p, &t, &file);
    an_upload_job_is_long_polled_to_its_end(&mut db, p, &t);
    let bad_id = a_bad_files_rejects_are_downloadable(&mut db, p, &t);
    errors_are_problems_with_a_stable_type(p);
    the_list_pages_and_the_metrics_count(p, &bad_id);
    many_rejects_page_out(&mut db, p, &t);
    db.exec(&format!("delete from {t} where id = 5000"));
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

/// Health, readiness, the OpenAPI document and Swagger UI.
fn health_and_the_openapi_document(p: u16) {
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
}

/// A job from a URL, followed by its events; the same idempotency key and body give the
/// same job, another body a conflict.
fn a_url_job_is_idempotent(p: u16, t: &str, file: &std::path::Path) {
    let ct = ("content-type", "application/json");
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
}

/// An upload job, gzip'd on the way, answered by a long poll; the upload is deleted.
fn an_upload_job_is_long_polled_to_its_end(db: &mut TestDb, p: u16, t: &str) {
    let ct = ("content-type", "application/json");
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
    // The upload is deleted once its job succeeded (by the worker, just after the job's
    // end is visible to the API).
    let uploads = db.dir.path().join("data/uploads");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let left = loop {
        let left: Vec<_> = std::fs::read_dir(&uploads).unwrap().collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(left.is_empty(), "{left:?}");
}

/// A bad file: the job fails, the table is untouched, the rejects are downloadable.
fn a_bad_files_rejects_are_downloadable(db: &mut TestDb, p: u16, t: &str) -> String {
    let ct = ("content-type", "application/json");
    let before = db.fingerprint(t);
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
    assert_eq!(db.fingerprint(t), before);
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
    bad_id
}

/// Errors are problems with a stable type.
fn errors_are_problems_with_a_stable_type(p: u16) {
    let ct = ("content-type", "application/json");
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
}

/// The list, newest first, paged by cursor, and the metrics.
fn the_list_pages_and_the_metrics_count(p: u16, bad_id: &str) {
    let (_, _, list) = http(p, "GET", "/v1/jobs?limit=2", &[], b"");
    let list = json(&list);
    assert_eq!(list["jobs"][0]["id"].as_str(), Some(bad_id));
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
}

fn many_rejects_page_out(db: &mut TestDb, p: u16, t: &str) {
    let ct = ("content-type", "application/json");
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
}

//! `/v1/streams`: a consumer run by the service as a job, its counters as progress; stopped
//! (the job cancelled), resumed (a new job reading on from the stored positions), every
//! message once; in /metrics while it runs.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{http, json, serve_with};
use crate::fixtures::python;
use crate::support::TestDb;

fn publish(stream: &str, from: usize, to: usize) {
    let script = format!(
        "import json, redis\nr = redis.Redis(host='127.0.0.1', port=6379)\np = r.pipeline()\nfor i in range({from}, {to}):\n    p.xadd('{stream}', {{'data': json.dumps({{'id': i, 'note': 'n%d' % i}})}})\np.execute()\n"
    );
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_rows(db: &mut TestDb, n: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.value("SELECT count(*) FROM {s}.events") != n {
        assert!(
            Instant::now() < deadline,
            "the table did not reach {n} rows"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_stream_consumer_runs_as_a_job_until_stopped_and_resumes_where_it_stopped() {
    let mut db = TestDb::new("api_streams");
    let queue = format!("{}_q", db.schema);
    db.exec("CREATE TABLE {s}.events (id bigint, note text)");
    let stream = format!("it_api_stream_{}", std::process::id());
    publish(&stream, 1, 501);
    // A broker on the server's own network needs --allow-host (the same guard as URL jobs).
    let server = serve_with(&db, &queue, &["--allow-host", "127.0.0.1"], &[]);
    let p = server.port;
    let request = format!(
        r#"{{"source": {{"url": "redis://127.0.0.1:6379/{stream}", "group": "svc"}},
            "target": {{"table": "{}"}}, "mode": "insert",
            "options": {{"batch_rows": 100, "linger": "200ms", "max_errors": "1"}}}}"#,
        db.t("events")
    );
    let (status, _, body) = http(
        p,
        "POST",
        "/v1/streams",
        &[("content-type", "application/json")],
        request.as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["id"].as_str().unwrap().to_string();
    wait_rows(&mut db, "500");
    // A message that is not JSON (within max_errors): it becomes one of the job's rejects.
    let raw = format!(
        "import redis\nredis.Redis(host='127.0.0.1', port=6379).xadd('{stream}', {{'data': 'oops, not json'}})\n"
    );
    assert!(
        Command::new(python())
            .arg("-c")
            .arg(raw)
            .status()
            .unwrap()
            .success()
    );
    publish(&stream, 501, 601);
    wait_rows(&mut db, "600");
    let (_, _, rejects) = http(
        p,
        "GET",
        &format!("/v1/jobs/{id}/errors?format=ndjson"),
        &[],
        b"",
    );
    assert!(
        rejects.contains("oops, not json") && rejects.contains("not JSON"),
        "{rejects}"
    );
    // Its counters, as the list and /metrics show them.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, body) = http(p, "GET", "/v1/streams", &[], b"");
        let list = json(&body);
        let s = &list["streams"][0];
        if s["stream"]["messages"] == 601 && s["stream"]["rows_written"] == 600 {
            assert_eq!(
                (
                    s["id"].as_str(),
                    s["state"].as_str(),
                    s["stream"]["status"].as_str()
                ),
                (Some(id.as_str()), Some("running"), Some("consuming"))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the counters did not reach 601 messages, 600 rows: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, _, metrics) = http(p, "GET", "/metrics", &[], b"");
    assert!(
        metrics.contains(&format!("ingest_stream_messages_total{{job=\"{id}\"")),
        "{metrics}"
    );
    // Stopped: the job ends cancelled; what comes meanwhile waits in the stream.
    let (status, _, _) = http(p, "POST", &format!("/v1/streams/{id}/stop"), &[], b"");
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    while json(&http(p, "GET", &format!("/v1/jobs/{id}"), &[], b"").2)["state"] != "cancelled" {
        assert!(Instant::now() < deadline, "the consumer did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    publish(&stream, 601, 701);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(db.value("SELECT count(*) FROM {s}.events"), "600");
    // Resumed: a new job reads on from the stored position; each message once.
    let (status, _, body) = http(p, "POST", &format!("/v1/streams/{id}/resume"), &[], b"");
    assert_eq!(status, 201, "{body}");
    let resumed = json(&body)["id"].as_str().unwrap().to_string();
    assert_ne!(resumed, id);
    wait_rows(&mut db, "700");
    assert_eq!(db.value("SELECT count(DISTINCT id) FROM {s}.events"), "700");
    http(p, "POST", &format!("/v1/streams/{resumed}/stop"), &[], b"");
    // A request that cannot run is refused at once.
    let bad = r#"{"source": {"url": "ftp://x/y"}, "target": {"table": "nope"}}"#;
    assert_eq!(
        http(
            p,
            "POST",
            "/v1/streams",
            &[("content-type", "application/json")],
            bad.as_bytes()
        )
        .0,
        400
    );
    let _ = Command::new("redis-cli").args(["del", &stream]).output();
    db.exec(&format!("DROP SCHEMA \"{queue}\" CASCADE"));
}

//! `ingest pull` as a user runs it: a REST API (a tiny server in the test, 10 pages of 10
//! trips, slow on demand) into a table, the cursor in the service's schema; `kill -9` in
//! the middle of the fetch leaves table and cursor as they were, and the rerun loads each
//! record once. The token is in no output.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{TestDb, database_url, run};

const TOKEN: &str = "tok-9d1e-secret";

/// The API: `GET /v2/trips?cursor=K` answers page K (1 to 10) of 10 trips, `next` K+1.
/// Every request is counted; each waits `delay_ms` first.
struct Api {
    port: u16,
    requests: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
}

fn start_api() -> Api {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let delay_ms = Arc::new(AtomicU64::new(0));
    let (r, d) = (requests.clone(), delay_ms.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (r, d) = (r.clone(), d.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push(line);
                }
                r.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(d.load(Ordering::SeqCst)));
                let authorised = head.iter().any(|h| {
                    h.trim() == format!("authorization: Bearer {TOKEN}")
                        || h.trim() == format!("Authorization: Bearer {TOKEN}")
                });
                let page: u64 = head[0]
                    .split("cursor=")
                    .nth(1)
                    .and_then(|c| c.split([' ', '&']).next()?.parse().ok())
                    .unwrap_or(1);
                let (status, body) = if authorised {
                    let trips: Vec<String> = (1..=10)
                        .map(|i| {
                            let id = (page - 1) * 10 + i;
                            format!(
                                r#"{{"id": {id}, "fare": 1234567890123456789.{id:02}, "updated_at": "2026-02-01T00:{:02}:00Z"}}"#,
                                id % 60
                            )
                        })
                        .collect();
                    let next = if page < 10 {
                        format!("\"{}\"", page + 1)
                    } else {
                        "null".into()
                    };
                    (
                        "200 OK",
                        format!(
                            r#"{{"data": [{}], "meta": {{"next": {next}}}}}"#,
                            trips.join(",")
                        ),
                    )
                } else {
                    ("401 Unauthorized", "{}".to_string())
                };
                let mut s = stream;
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    Api {
        port,
        requests,
        delay_ms,
    }
}

fn pull_cmd(db: &TestDb, spec: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.arg("pull")
        .arg(spec)
        .env("DATABASE_URL", database_url())
        .env("INGEST_SCHEMA", format!("{}_svc", db.schema))
        .env("TRIPS_TOKEN", TOKEN);
    cmd
}

#[test]
fn kill_9_mid_fetch_leaves_table_and_cursor_and_the_rerun_loads_each_record_once() {
    let mut db = TestDb::new("pull_kill");
    db.exec("CREATE TABLE {s}.trips (id bigint primary key, fare numeric(30,2), updated_at timestamptz)");
    let svc = format!("{}_svc", db.schema);
    run(Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["migrate", "--schema", &svc])
        .env("DATABASE_URL", database_url()))
    .ok();
    let api = start_api();
    let spec = db.file(
        "trips.yaml",
        format!(
            "name: trips\nsource:\n  type: http\n  base_url: http://127.0.0.1:{}/v2\n  auth: {{type: bearer, token: \"${{env:TRIPS_TOKEN}}\"}}\n  request: {{path: /trips}}\n  records: $.data[*]\n  pagination: {{type: cursor, cursor_path: $.meta.next, param: cursor}}\nincremental: {{cursor_field: updated_at, tie_breaker: id}}\ntarget: {{table: {}, mode: upsert, key: [id]}}\n",
            api.port,
            db.t("trips")
        ),
    );

    api.delay_ms.store(400, Ordering::SeqCst);
    let mut child = pull_cmd(&db, &spec).spawn().unwrap();
    let started = Instant::now();
    while api.requests.load(Ordering::SeqCst) < 4 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pull ended before it was killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(db.value("SELECT count(*) FROM {s}.trips"), "0");
    let cursors = format!("SELECT count(*) FROM {svc}.source_cursors");
    assert_eq!(db.value(&cursors), "0");

    api.delay_ms.store(0, Ordering::SeqCst);
    let out = run(pull_cmd(&db, &spec).arg("--json"));
    out.ok();
    let summary = out.json();
    assert_eq!(summary["rows_inserted"], 100);
    assert_eq!(summary["pull"]["pages"], 10);
    assert_eq!(summary["pull"]["cursor_to"]["tie"], "59");
    assert_eq!(db.value("SELECT count(DISTINCT id) FROM {s}.trips"), "100");
    assert_eq!(
        db.value("SELECT fare::text FROM {s}.trips WHERE id = 7"),
        "1234567890123456789.07"
    );
    let stored = format!("SELECT cursor->>'value' FROM {svc}.source_cursors WHERE name = 'trips'");
    assert_eq!(db.value(&stored), "2026-02-01T00:59:00Z");
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));

    // A wrong token: exit non-zero after one request, nothing changed, no token printed.
    let before = api.requests.load(Ordering::SeqCst);
    let out = run(pull_cmd(&db, &spec).env("TRIPS_TOKEN", "wrong-token-77"));
    out.fails_with(2, "answered 401");
    assert_eq!(api.requests.load(Ordering::SeqCst), before + 1);
    assert!(!out.stderr.contains("wrong-token-77"));
    db.exec(&format!("DROP SCHEMA {svc} CASCADE"));
}

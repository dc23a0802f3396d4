//! Pull sources through the API (`/v1/sources`) against a real `ingest serve` and a mock
//! partner API on a thread of the test: registration and its checks, runs as jobs, the
//! schedule (one job per tick, even with two servers), pause, tokens and metrics.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::*;
use serde_json::Value;

use crate::support::TestDb;

/// The mock API's bearer token, given to the server in `TOKEN_VAR`.
const TOKEN: &str = "mock-bearer-9c41e7d2";
const TOKEN_VAR: &str = "IT_SOURCES_MOCK_TOKEN";

const PAGE: &str = r#"{"data": [
  {"id": 1, "name": "Ana", "score": 12345678901234567890.5},
  {"id": 2, "name": "Bruno", "score": -1},
  {"id": 3, "name": "Cé", "score": null}
], "meta": {"next": null}}"#;

const PEOPLE: &str = "(id int primary key, name text not null, score numeric)";

/// A partner API: one page of three people to whoever brings the token, after `delay_ms`;
/// or, while `fail_with` is set, that status.
#[derive(Default)]
struct Mock {
    port: AtomicU64,
    delay_ms: AtomicU64,
    fail_with: AtomicU64,
    served: AtomicU64,
    refused: AtomicU64,
}

fn mock_api() -> Arc<Mock> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mock = Arc::new(Mock::default());
    let port = listener.local_addr().unwrap().port();
    mock.port.store(port.into(), Ordering::SeqCst);
    let shared = mock.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mock = shared.clone();
            std::thread::spawn(move || answer(stream, &mock));
        }
    });
    mock
}

impl Mock {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port.load(Ordering::SeqCst))
    }
}

fn answer(mut stream: TcpStream, mock: &Mock) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut line, mut auth) = (String::new(), String::new());
    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            auth = value.trim().to_string();
        }
        line.clear();
    }
    let fail = mock.fail_with.load(Ordering::SeqCst);
    let (status, body) = if auth != format!("Bearer {TOKEN}") {
        mock.refused.fetch_add(1, Ordering::SeqCst);
        (
            "401 Unauthorized".to_string(),
            r#"{"error": "invalid token"}"#,
        )
    } else if fail != 0 {
        (format!("{fail} Failing"), r#"{"error": "as asked"}"#)
    } else {
        std::thread::sleep(Duration::from_millis(mock.delay_ms.load(Ordering::SeqCst)));
        mock.served.fetch_add(1, Ordering::SeqCst);
        ("200 OK".to_string(), PAGE)
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A source's spec as JSON: the mock's people into `table`; `extra` adds keys.
fn spec(name: &str, base: &str, table: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}",
  "source": {{"type": "http", "base_url": "{base}/v1",
    "auth": {{"type": "bearer", "token": "${{env:{TOKEN_VAR}}}"}},
    "request": {{"path": "/people"}}, "records": "$.data[*]",
    "pagination": {{"type": "cursor", "cursor_path": "$.meta.next", "param": "cursor"}}}},
  "target": {{"table": "{table}", "mode": "upsert", "key": ["id"]}}{extra}}}"#
    )
}

/// `ingest serve` that may reach 127.0.0.1 and knows the mock's token.
fn serve_sources(db: &TestDb, queue: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--allow-host", "127.0.0.1"];
    args.extend_from_slice(extra);
    serve_with(db, queue, &args, &[(TOKEN_VAR, TOKEN.to_string())])
}

/// A schema with a `people` table, the mock API, and a server (`extra`: its arguments).
fn setup(name: &str, extra: &[&str]) -> (TestDb, String, Arc<Mock>, Server) {
    let mut db = TestDb::new(name);
    let queue = format!("{}_q", db.schema);
    db.exec(&format!("create table {{s}}.people {PEOPLE}"));
    let srv = serve_sources(&db, &queue, extra);
    (db, queue, mock_api(), srv)
}

fn finish(mut db: TestDb, queue: &str, servers: Vec<Server>) {
    drop(servers);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

const CT: (&str, &str) = ("content-type", "application/json");

/// A request, its answer's body as JSON (or as a string when it is not).
fn call(p: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut all = vec![CT];
    all.extend_from_slice(headers);
    let (status, _, body) = http(p, method, path, &all, body.as_bytes());
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn post(p: u16, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    call(p, "POST", path, headers, body)
}

fn get(p: u16, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    call(p, "GET", path, headers, "")
}

/// The names in a `/v1/sources` list.
fn names(list: &Value) -> Vec<String> {
    list["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `sql` until it is `want`, for at most `within`.
fn wait_value(db: &mut TestDb, sql: &str, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while db.value(sql) != want {
        assert!(Instant::now() < deadline, "{sql}: not {want} in time");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SQL counting `source`'s jobs queued or running.
fn active(queue: &str, source: &str) -> String {
    format!(
        "select count(*) from \"{queue}\".jobs where source_name = '{source}' and state in ('queued', 'running')"
    )
}

/// SQL counting the pairs of `source`'s jobs whose lives (created to finished: queued or
/// running) overlap.
fn overlaps(queue: &str, source: &str, from: &str) -> String {
    format!(
        "select count(*) from \"{queue}\".jobs a join \"{queue}\".jobs b
           on a.source_name = b.source_name and a.id < b.id
         where a.source_name = '{source}'
           and tstzrange(a.{from}, coalesce(a.finished_at, 'infinity'))
            && tstzrange(b.{from}, coalesce(b.finished_at, 'infinity'))"
    )
}

#[test]
fn sources_are_registered_checked_run_and_deleted() {
    let (mut db, queue, api, srv) = setup("apisrc", &[]);
    let t = db.t("people");
    let (base, p) = (api.base(), srv.port);
    let body = spec("people", &base, &t, "");

    // Registered as given, its secret a reference; listed; a second POST conflicts.
    let (status, created) = post(p, "/v1/sources", &[], &body);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "people");
    assert_eq!(
        (&created["target_table"], &created["paused"]),
        (&t.clone().into(), &false.into())
    );
    assert!(created["next_run_at"].is_null(), "{created}");
    assert_eq!(
        created["spec"]["source"]["auth"]["token"],
        format!("${{env:{TOKEN_VAR}}}")
    );
    let (status, list) = get(p, "/v1/sources", &[]);
    assert_eq!((status, names(&list)), (200, vec!["people".to_string()]));
    let (status, again) = post(p, "/v1/sources", &[], &body);
    assert_eq!(status, 409, "{again}");
    assert!(
        again.to_string().contains("problems/source-exists"),
        "{again}"
    );
    // PUT: the path's name must be the spec's; the same name replaces it.
    let (status, _, answer) = http(p, "PUT", "/v1/sources/other", &[CT], body.as_bytes());
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("invalid-source") && answer.contains("\\\"other\\\""),
        "{answer}"
    );
    let (status, _, answer) = http(p, "PUT", "/v1/sources/people", &[CT], body.as_bytes());
    assert_eq!(status, 200, "{answer}");

    // A token in clear is refused, without being echoed; so are private hosts, but the
    // one the operator allowed (127.0.0.1 only, not another name for it).
    let literal = spec("clear", &base, &t, "")
        .replace(&format!("${{env:{TOKEN_VAR}}}"), "literal-secret-5521");
    let (status, answer) = post(p, "/v1/sources", &[], &literal);
    assert_eq!(status, 400, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("source.auth.token") && !text.contains("literal-secret-5521"),
        "{text}"
    );
    for host in [
        "http://10.0.0.1",
        "http://169.254.169.254",
        &api.base().replace("127.0.0.1", "localhost"),
    ] {
        let (status, answer) = post(p, "/v1/sources", &[], &spec("private", host, &t, ""));
        assert_eq!(status, 403, "{host}: {answer}");
        assert!(
            answer.to_string().contains("source-not-allowed"),
            "{host}: {answer}"
        );
    }
    let (_, list) = get(p, "/v1/sources", &[]);
    assert_eq!(names(&list), ["people"]);

    // A run: a job, to its end; the rows, its counts, the source's runs.
    let (status, job) = post(p, "/v1/sources/people/run", &[], "");
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["kind"], "pull");
    let id = job["id"].as_str().unwrap().to_string();
    let (_, done) = get(p, &format!("/v1/jobs/{id}?wait=30"), &[]);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["stats"]["pull"]["records"], 3, "{done}");
    assert_eq!(done["stats"]["rows_inserted"], 3, "{done}");
    let rows =
        "select string_agg(concat_ws('|', id, name, score), ' ' order by id) from {s}.people";
    assert_eq!(
        db.value(rows),
        "1|Ana|12345678901234567890.5 2|Bruno|-1 3|Cé"
    );
    let (status, runs) = get(p, "/v1/sources/people/runs", &[]);
    assert_eq!(status, 200);
    assert_eq!(runs["runs"][0]["id"], id.as_str(), "{runs}");

    // A run while one is queued or running: 409, naming it.
    api.delay_ms.store(2000, Ordering::SeqCst);
    let (status, slow) = post(p, "/v1/sources/people/run", &[], "");
    assert_eq!(status, 202, "{slow}");
    let slow_id = slow["id"].as_str().unwrap().to_string();
    let (status, busy) = post(p, "/v1/sources/people/run", &[], "");
    assert_eq!(status, 409, "{busy}");
    assert!(busy.to_string().contains(&slow_id), "{busy}");
    let (_, done) = get(p, &format!("/v1/jobs/{slow_id}?wait=30"), &[]);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["stats"]["rows_unchanged"], 3, "{done}");
    api.delay_ms.store(0, Ordering::SeqCst);
    assert_eq!(api.refused.load(Ordering::SeqCst), 0);
    assert_eq!(api.served.load(Ordering::SeqCst), 2);

    // The token is nowhere: not in a job, a list, nor the stored spec or payloads.
    for path in [
        format!("/v1/jobs/{id}"),
        format!("/v1/jobs/{slow_id}"),
        "/v1/jobs".to_string(),
        "/v1/sources".to_string(),
        "/v1/sources/people/runs".to_string(),
    ] {
        let (_, _, text) = http(p, "GET", &path, &[], b"");
        assert!(!text.contains(TOKEN), "{path}: {text}");
    }
    assert_eq!(
        db.value(&format!(
            "select (select count(*) from \"{queue}\".jobs where payload::text like '%{TOKEN}%')
                  + (select count(*) from \"{queue}\".sources where spec::text like '%{TOKEN}%')"
        )),
        "0"
    );

    // Deleted: gone, its runs stay.
    assert_eq!(http(p, "DELETE", "/v1/sources/people", &[], b"").0, 204);
    assert_eq!(get(p, "/v1/sources/people", &[]).0, 404);
    assert_eq!(http(p, "DELETE", "/v1/sources/people", &[], b"").0, 404);
    assert_eq!(post(p, "/v1/sources/people/run", &[], "").0, 404);
    assert_eq!(
        get(p, &format!("/v1/jobs/{id}"), &[]).1["state"],
        "succeeded"
    );
    finish(db, &queue, vec![srv]);
}

#[test]
fn a_schedule_runs_one_at_a_time_until_paused() {
    let (mut db, queue, api, srv) = setup("apisched", &[]);
    let t = db.t("people");
    let (base, p) = (api.base(), srv.port);
    let every = r#", "schedule": {"every": "1s"}"#;
    let (status, created) = post(p, "/v1/sources", &[], &spec("sched", &base, &t, every));
    assert_eq!(status, 201, "{created}");
    assert!(created["next_run_at"].is_string(), "{created}");

    let succeeded = format!(
        "select count(*) from \"{queue}\".jobs where source_name = 'sched' and state = 'succeeded'"
    );
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    let (status, paused) = post(p, "/v1/sources/sched/pause", &[], "");
    assert_eq!((status, &paused["paused"]), (200, &true.into()), "{paused}");
    let jobs = format!("select count(*) from \"{queue}\".jobs where source_name = 'sched'");
    let made = db.value(&jobs);
    // What was queued or running when paused ends; the schedule makes nothing more.
    wait_value(
        &mut db,
        &active(&queue, "sched"),
        "0",
        Duration::from_secs(20),
    );
    let runs: u64 = db.value(&succeeded).parse().unwrap();
    eprintln!("{runs} runs succeeded in {:?}", started.elapsed());
    assert!(
        runs >= 2,
        "{runs} runs succeeded in {:?}",
        started.elapsed()
    );
    assert_eq!(db.value(&jobs), runs.to_string(), "every run succeeded");
    assert_eq!(db.value(&overlaps(&queue, "sched", "started_at")), "0");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(db.value(&jobs), made, "a paused source made a run");

    // Listed as its runs; every one came from a tick; counted by /metrics.
    let (_, list) = get(p, "/v1/sources/sched/runs", &[]);
    assert_eq!(
        list["runs"].as_array().unwrap().len() as u64,
        runs,
        "{list}"
    );
    assert_eq!(
        db.value(&format!(
            "select count(*) from \"{queue}\".source_ticks t join \"{queue}\".jobs j on j.id = t.job_id where t.source = 'sched'"
        )),
        runs.to_string()
    );
    assert_eq!(api.served.load(Ordering::SeqCst), runs);
    let (status, _, metrics) = http(p, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    for line in [
        format!(
            "ingest_source_records_pulled_total{{source=\"sched\"}} {}",
            3 * runs
        ),
        "ingest_source_paused{source=\"sched\"} 1".into(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in:\n{metrics}"
        );
    }
    assert_eq!(db.value("select count(*) from {s}.people"), "3");
    finish(db, &queue, vec![srv]);
}

#[test]
fn a_token_sees_and_makes_sources_of_its_tables_only() {
    let (mut db, queue, api, srv) = setup("apisrctok", &[]);
    db.exec(&format!("create table {{s}}.other {PEOPLE}"));
    let (t, other) = (db.t("people"), db.t("other"));
    let (base, p) = (api.base(), srv.port);
    // Before any token, loopback may register anything.
    assert_eq!(
        post(p, "/v1/sources", &[], &spec("mine", &base, &t, "")).0,
        201
    );
    assert_eq!(
        post(p, "/v1/sources", &[], &spec("theirs", &base, &other, "")).0,
        201
    );
    let (code, secret, err) = token_cmd(&queue, &["create", "--name", "etl", "--tables", &t]);
    assert_eq!(code, 0, "{err}");
    let bearer = format!("Bearer {secret}");
    let auth = [("authorization", bearer.as_str())];

    // Another table: refused, not stored.
    let (status, answer) = post(p, "/v1/sources", &auth, &spec("sneaky", &base, &other, ""));
    assert_eq!(status, 403, "{answer}");
    assert!(answer.to_string().contains("table-not-allowed"), "{answer}");
    // Its table: registered, under its name.
    let (status, created) = post(p, "/v1/sources", &auth, &spec("own", &base, &t, ""));
    assert_eq!(status, 201, "{created}");
    // The list shows its table's sources only; another's is out of reach.
    let (status, list) = get(p, "/v1/sources", &auth);
    assert_eq!(
        (status, names(&list)),
        (200, vec!["mine".to_string(), "own".to_string()])
    );
    for (method, path) in [
        ("GET", "/v1/sources/theirs"),
        ("GET", "/v1/sources/theirs/runs"),
        ("POST", "/v1/sources/theirs/run"),
        ("POST", "/v1/sources/theirs/pause"),
        ("DELETE", "/v1/sources/theirs"),
    ] {
        let (status, _, body) = http(p, method, path, &auth, b"");
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    // Nor may it take another's source over by replacing its spec with its own table.
    let (status, _, body) = http(
        p,
        "PUT",
        "/v1/sources/theirs",
        &[CT, auth[0]],
        spec("theirs", &base, &t, "").as_bytes(),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        db.rows(&format!(
            "select name, target_table, coalesce(created_by, '-') from \"{queue}\".sources order by name"
        )),
        [
            [Some("mine".into()), Some(t.clone()), Some("-".into())],
            [Some("own".into()), Some(t.clone()), Some("etl".into())],
            [Some("theirs".into()), Some(other.clone()), Some("-".into())],
        ]
    );
    assert_eq!(
        db.value(&format!("select count(*) from \"{queue}\".jobs")),
        "0"
    );
    // Its own source runs, into its table.
    let (status, job) = post(p, "/v1/sources/own/run", &auth, "");
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let (_, done) = get(p, &format!("/v1/jobs/{id}?wait=30"), &auth);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(db.value("select count(*) from {s}.people"), "3");
    assert_eq!(db.value("select count(*) from {s}.other"), "0");
    finish(db, &queue, vec![srv]);
}

#[test]
fn two_servers_make_one_job_per_tick() {
    let (mut db, queue, api, one) = setup("apitwo", &["--workers", "1"]);
    let (t, base) = (db.t("people"), api.base());
    // The second starts once the first made the schema.
    let two = serve_sources(&db, &queue, &["--workers", "1"]);
    let every = r#", "schedule": {"every": "1s"}"#;
    let (status, created) = post(
        one.port,
        "/v1/sources",
        &[],
        &spec("both", &base, &t, every),
    );
    assert_eq!(status, 201, "{created}");
    std::thread::sleep(Duration::from_millis(5500));
    assert_eq!(post(two.port, "/v1/sources/both/pause", &[], "").0, 200);
    wait_value(
        &mut db,
        &active(&queue, "both"),
        "0",
        Duration::from_secs(20),
    );
    let counts: Vec<u64> = db
        .rows(&format!(
            "select (select count(*) from {q}.jobs j where source_name = 'both'),
                    (select count(*) from {q}.source_ticks where source = 'both'),
                    (select count(*) from {q}.source_ticks where source = 'both' and job_id is not null),
                    (select count(*) from {q}.source_ticks where source = 'both' and job_id is null and skipped is not null),
                    (select count(distinct job_id) from {q}.source_ticks where source = 'both'),
                    (select count(*) from {q}.jobs j where source_name = 'both'
                       and (select count(*) from {q}.source_ticks t where t.job_id = j.id) <> 1),
                    (select count(*) from {q}.jobs where source_name = 'both' and state = 'succeeded')",
            q = format!("\"{queue}\"")
        ))[0]
        .iter()
        .map(|v| v.as_deref().unwrap().parse().unwrap())
        .collect();
    let [jobs, ticks, with_job, skipped, distinct, orphans, succeeded] = counts[..] else {
        unreachable!()
    };
    eprintln!("{ticks} ticks: {with_job} made a job, {skipped} skipped; {jobs} jobs");
    // About one tick a second, each recorded once, each with its job or why it made none.
    assert!(ticks >= 3, "{ticks} ticks in 5.5 s");
    assert_eq!(
        with_job + skipped,
        ticks,
        "a tick with neither a job nor a reason"
    );
    assert_eq!(
        jobs, with_job,
        "{jobs} jobs for {with_job} ticks that made one"
    );
    // No job is two ticks', every job is one tick's; never two queued or running at once.
    assert_eq!((distinct, orphans), (with_job, 0));
    assert_eq!(db.value(&overlaps(&queue, "both", "created_at")), "0");
    assert_eq!(succeeded, jobs);
    assert_eq!(api.served.load(Ordering::SeqCst), jobs);
    finish(db, &queue, vec![one, two]);
}

/// A database source's runs count what they read, as an API's do: the job's
/// `stats.pull.records` and `ingest_source_records_pulled_total` say how many rows.
#[test]
fn a_database_sources_runs_count_their_records() {
    let (mut db, queue, _api, srv) = setup("apisrcdb", &[]);
    db.exec(&format!(
        "create table {{s}}.copy {PEOPLE}; insert into {{s}}.people values (1, 'Ana', 1.5), (2, 'Bruno', null)"
    ));
    let p = srv.port;
    let body = format!(
        r#"{{"name": "pg", "source": {{"type": "postgres", "url": "{}", "table": "{}"}},
             "target": {{"table": "{}", "key": ["id"]}}}}"#,
        crate::support::database_url(),
        db.t("people"),
        db.t("copy")
    );
    assert_eq!(post(p, "/v1/sources", &[], &body).0, 201);
    let (status, job) = post(p, "/v1/sources/pg/run", &[], "");
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let (_, done) = get(p, &format!("/v1/jobs/{id}?wait=30"), &[]);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["stats"]["rows_inserted"], 2, "{done}");
    assert_eq!(db.value("select count(*) from {s}.copy"), "2");
    let (_, _, metrics) = http(p, "GET", "/metrics", &[], b"");
    finish(db, &queue, vec![srv]);
    assert_eq!(done["stats"]["pull"]["records"], 2, "{done}");
    let line = "ingest_source_records_pulled_total{source=\"pg\"} 2";
    assert!(
        metrics.lines().any(|l| l == line),
        "no `{line}` in:\n{metrics}"
    );
}

/// A failed run retried while another run of its source is queued or running: refused as
/// a conflict (one run per source at once, "whoever asks for it"), not a server failure.
#[test]
fn a_retry_while_its_source_runs_is_a_conflict() {
    let (mut db, queue, api, srv) = setup("apisrcretry", &[]);
    let p = srv.port;
    let body = spec("flaky", &api.base(), &db.t("people"), "");
    assert_eq!(post(p, "/v1/sources", &[], &body).0, 201);
    // A run the API answers 404 (not retried): failed.
    api.fail_with.store(404, Ordering::SeqCst);
    let (_, job) = post(p, "/v1/sources/flaky/run", &[], "");
    let failed = job["id"].as_str().unwrap().to_string();
    let (_, done) = get(p, &format!("/v1/jobs/{failed}?wait=30"), &[]);
    assert_eq!(done["state"], "failed", "{done}");
    // Another run, slow; the failed one is retried meanwhile.
    api.fail_with.store(0, Ordering::SeqCst);
    api.delay_ms.store(2000, Ordering::SeqCst);
    let (status, running) = post(p, "/v1/sources/flaky/run", &[], "");
    assert_eq!(status, 202, "{running}");
    let (status, retried) = post(p, &format!("/v1/jobs/{failed}/retry"), &[], "");
    let running = running["id"].as_str().unwrap();
    let (_, done) = get(p, &format!("/v1/jobs/{running}?wait=30"), &[]);
    assert_eq!(done["state"], "succeeded", "{done}");
    let states = db.rows(&format!(
        "select state from \"{queue}\".jobs where source_name = 'flaky' order by created_at"
    ));
    finish(db, &queue, vec![srv]);
    assert_eq!(
        states,
        [[Some("failed".to_string())], [Some("succeeded".into())]]
    );
    assert_eq!(status, 409, "{retried}");
}

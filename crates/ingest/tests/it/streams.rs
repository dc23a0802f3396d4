//! `ingest consume` from Redis Streams: messages published by Python's `redis` client (not
//! ours), the consumer killed with -9 at several moments and started again, and every
//! message in the table exactly once; a message that is not JSON and one the table refuses
//! go to the dead-letter table with their payload; a second consumer reads it all again.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::python;
use crate::support::{TestDb, database_url, run};

const MESSAGES: usize = 3000;

fn publish(stream: &str, from: usize, to: usize) {
    let script = format!(
        r#"
import json, redis
r = redis.Redis(host="127.0.0.1", port=6379)
p = r.pipeline()
for i in range({from}, {to}):
    if i == 1500:
        p.xadd("{stream}", {{"data": "not json at all"}})
    elif i == 2500:
        p.xadd("{stream}", {{"data": json.dumps({{"id": i, "amount": "abc"}})}})
    else:
        p.xadd("{stream}", {{"data": json.dumps({{"id": i, "amount": i / 100, "note": "ação nº %d" % i}}, ensure_ascii=False)}})
p.execute()
"#
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

fn consumer(
    db: &TestDb,
    svc: &str,
    stream: &str,
    group: &str,
    table: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.args([
        "consume",
        &format!("redis://127.0.0.1:6379/{stream}"),
        "--group",
        group,
        "--into",
        &db.t(table),
    ])
    .args(if extra.contains(&"--batch-rows") {
        &["-q"][..]
    } else {
        &["--batch-rows", "100", "--linger", "200ms", "-q"][..]
    })
    .args(extra)
    .env("DATABASE_URL", database_url())
    .env("INGEST_SCHEMA", svc);
    cmd
}

fn kill_after_rows(mut child: Child, db: &mut TestDb, table: &str, rows: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let n: i64 = db
            .value(&format!("SELECT count(*) FROM {{s}}.{table}"))
            .parse()
            .unwrap();
        if n >= rows || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the consumer stopped by itself"
    );
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn a_consumer_killed_again_and_again_loads_every_message_once() {
    let mut db = TestDb::new("streams");
    let svc = format!("{}_svc", db.schema);
    let stream = format!("it_stream_{}", db.schema);
    run(Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["migrate", "--schema", &svc])
        .env("DATABASE_URL", database_url()))
    .ok();
    // No key: a message loaded twice would be two rows.
    db.exec("CREATE TABLE {s}.events (id bigint, amount numeric(10,2), note text)");
    db.exec("CREATE TABLE {s}.audit (id bigint, amount numeric(10,2), note text)");
    publish(&stream, 1, MESSAGES / 2 + 1);
    let dead = db.t("dead");
    let extra = ["--dead-letter", dead.as_str()];
    // Killed three times mid-stream, with more published while it runs.
    for (n, rows) in [(0, 300), (1, 900), (2, 2000)] {
        let child = consumer(&db, &svc, &stream, "loader", "events", &extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if n == 1 {
            publish(&stream, MESSAGES / 2 + 1, MESSAGES + 1);
        }
        kill_after_rows(child, &mut db, "events", rows);
    }
    // The last run drains the stream and stops.
    run(&mut consumer(
        &db,
        &svc,
        &stream,
        "loader",
        "events",
        &["--dead-letter", &dead, "--until-idle", "2s"],
    ))
    .ok();
    let loaded = db.value("SELECT count(*) || ' ' || count(DISTINCT id) FROM {s}.events");
    assert_eq!(
        loaded,
        format!("{} {}", MESSAGES - 2, MESSAGES - 2),
        "each message exactly once"
    );
    assert_eq!(
        db.value("SELECT note FROM {s}.events WHERE id = 7"),
        "ação nº 7"
    );
    let letters = db.rows("SELECT payload, reason FROM {s}.dead ORDER BY position");
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(letters[0][0].as_deref(), Some("not json at all"));
    assert!(
        letters[1][1].as_deref().unwrap().contains("column amount"),
        "{letters:?}"
    );
    // Another consumer of the same stream reads it all, from the beginning.
    run(&mut consumer(
        &db,
        &svc,
        &stream,
        "audit",
        "audit",
        &[
            "--max-errors",
            "2",
            "--batch-rows",
            "10000",
            "--until-idle",
            "1s",
        ],
    ))
    .ok();
    assert_eq!(
        db.value("SELECT count(*) FROM {s}.audit"),
        (MESSAGES - 2).to_string()
    );
    // Without a dead-letter table, a batch over --max-errors stops the consumer: exit 1, nothing written.
    db.exec("CREATE TABLE {s}.strict (id bigint, amount numeric(10,2), note text)");
    let out = run(&mut consumer(
        &db,
        &svc,
        &stream,
        "strict",
        "strict",
        &["--batch-rows", "10000", "--until-idle", "1s"],
    ));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(db.value("SELECT count(*) FROM {s}.strict"), "0");
    let _ = Command::new("redis-cli").args(["del", &stream]).output();
    db.exec(&format!("DROP SCHEMA \"{svc}\" CASCADE"));
}

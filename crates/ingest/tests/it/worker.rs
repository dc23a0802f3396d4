//! `ingest worker` against a real PostgreSQL: jobs queued with SQL (as the API will queue
//! them) are run, their outcome, stats and rejects stored; a killed worker's job is run
//! again by another worker and the table ends as one clean run leaves it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TestDb, database_url};

/// A worker process on the test's queue schema, killed when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(queue: &str, lease: u64) -> Worker {
    let child = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args([
            "worker",
            "--schema",
            queue,
            "--workers",
            "2",
            "--lease",
            &lease.to_string(),
        ])
        .env("DATABASE_URL", database_url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Worker(child)
}

/// Queues a job the way the API does; returns its id.
fn queue_job(db: &mut TestDb, queue: &str, payload: &str) -> String {
    db.value(&format!(
        "with j as (insert into \"{queue}\".jobs (state, payload, target_table)
                    values ('queued', '{payload}', '') returning id)
         select id::text from j"
    ))
}

/// Waits until the job is in a final state; returns that state.
fn wait_end(db: &mut TestDb, queue: &str, id: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let state = db.value(&format!(
            "select state from \"{queue}\".jobs where id = '{id}'"
        ));
        if ["succeeded", "failed", "cancelled"].contains(&state.as_str()) {
            return state;
        }
        assert!(Instant::now() < deadline, "job {id} still {state}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn migrated(db: &mut TestDb) -> String {
    let queue = format!("{}_q", db.schema);
    let out = crate::support::run(
        Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["migrate", "--schema", &queue])
            .env("DATABASE_URL", database_url()),
    );
    out.ok();
    queue
}

#[test]
fn a_worker_runs_jobs_and_keeps_their_outcome_and_rejects() {
    let mut db = TestDb::new("worker");
    let queue = migrated(&mut db);
    db.exec("create table {s}.t (id int primary key, qty int not null)");
    let t = db.t("t");
    let good = db.file("good.csv", "id,qty\n1,10\n2,20\n");
    let bad = db.file("bad.csv", "id,qty\n3,30\n4,oops\n");
    let _w = worker(&queue, 30);
    let payload = |file: &std::path::Path, extra: &str| {
        format!(
            r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{t}", "key": ["id"]}}, "mode": "upsert"{extra}}}"#,
            file.display()
        )
    };
    let ok = queue_job(&mut db, &queue, &payload(&good, ""));
    assert_eq!(
        wait_end(&mut db, &queue, &ok, Duration::from_secs(30)),
        "succeeded"
    );
    assert_eq!(
        db.value(&format!(
            "select string_agg(qty::text, ',' order by id) from {t}"
        )),
        "10,20"
    );
    assert_eq!(
        db.value(&format!(
            "select stats->>'rows_inserted' from \"{queue}\".jobs where id = '{ok}'"
        )),
        "2"
    );
    // A bad row: the job fails once (a retry cannot help), the table is untouched, and
    // the reject is kept with its line, column and value.
    let before = db.fingerprint(&t);
    let failed = queue_job(&mut db, &queue, &payload(&bad, ""));
    assert_eq!(
        wait_end(&mut db, &queue, &failed, Duration::from_secs(30)),
        "failed"
    );
    assert_eq!(db.fingerprint(&t), before);
    assert_eq!(
        db.value(&format!("select attempt::text || ' ' || (error like '%1 row rejected%')::text from \"{queue}\".jobs where id = '{failed}'")),
        "1 true"
    );
    assert_eq!(
        db.rows(&format!("select line::text, column_name, value from \"{queue}\".job_errors where job_id = '{failed}'")),
        [[Some("3".to_string()), Some("qty".into()), Some("oops".into())]]
    );
    // The same file with a tolerance: succeeds, and its reject is still listed.
    let tolerant = queue_job(
        &mut db,
        &queue,
        &payload(&bad, r#", "options": {"max_errors": 1}"#),
    );
    assert_eq!(
        wait_end(&mut db, &queue, &tolerant, Duration::from_secs(30)),
        "succeeded"
    );
    assert_eq!(
        db.value(&format!(
            "select count(*) from \"{queue}\".job_errors where job_id = '{tolerant}'"
        )),
        "1"
    );
    // An option the CLI does not know fails the job at once, saying which.
    let odd = queue_job(
        &mut db,
        &queue,
        &payload(&good, r#", "options": {"colour": "red"}"#),
    );
    assert_eq!(
        wait_end(&mut db, &queue, &odd, Duration::from_secs(30)),
        "failed"
    );
    let error = db.value(&format!(
        "select error from \"{queue}\".jobs where id = '{odd}'"
    ));
    assert!(error.contains("--colour"), "{error}");
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

#[test]
fn a_killed_workers_job_is_run_again_and_the_table_ends_as_one_clean_run() {
    let mut db = TestDb::new("workerkill");
    let queue = migrated(&mut db);
    // No key: a row loaded twice would show in the count.
    db.exec("create table {s}.t (id int, v text)");
    let t = db.t("t");
    let rows = 400_000;
    let mut csv = String::from("id,v\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},value {i}\n"));
    }
    let file = db.file("big.csv", csv);
    let app = format!("{}_a", db.schema);
    let mut a = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args([
            "worker",
            "--schema",
            &queue,
            "--workers",
            "1",
            "--lease",
            "2",
        ])
        .env(
            "DATABASE_URL",
            format!("{}?application_name={app}", database_url()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let payload = format!(
        r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{t}"}}}}"#,
        file.display()
    );
    let id = queue_job(&mut db, &queue, &payload);
    // Killed in the middle of its COPY.
    db.wait_until(
        &format!("select count(*) from pg_stat_activity where application_name = '{app}' and query ilike 'copy%' and state = 'active'"),
        |n| n != "0",
        Duration::from_secs(30),
        "worker A never started its COPY",
    );
    a.kill().unwrap();
    a.wait().unwrap();
    let _b = worker(&queue, 2);
    assert_eq!(
        wait_end(&mut db, &queue, &id, Duration::from_secs(60)),
        "succeeded"
    );
    assert_eq!(
        db.value(&format!("select count(*) from {t}")),
        rows.to_string()
    );
    assert_eq!(
        db.value(&format!("select count(distinct id) from {t}")),
        rows.to_string()
    );
    let job = db.rows(&format!(
        "select attempt::text, jsonb_array_length(attempt_errors)::text from \"{queue}\".jobs where id = '{id}'"
    ));
    assert_eq!(job, [[Some("2".to_string()), Some("1".to_string())]]);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

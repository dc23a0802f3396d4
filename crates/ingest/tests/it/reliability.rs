//! The service when things go wrong mid-job: PostgreSQL restarted under a running load, a
//! cancel in the middle of a load, and status asked for while the workers are busy.
//! (`kill -9` of a worker is in worker.rs; two workers never sharing a job, and a bad
//! file failing once, are in ingest-queue's tests and worker.rs.)
//!
//! A trigger that sleeps a little per row keeps each load running long enough for the
//! test to act in its middle, whatever the machine's speed.

use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::api::{Server, http, json, serve_with, wait_end};
use crate::fixtures::free_port;
use crate::support::{TestDb, database_url};

/// A table whose inserts take `micros` per row, and a CSV of `rows` rows for it.
fn slow_table(client: &mut Client, table: &str, micros: u32) {
    client
        .batch_execute(&format!(
            "create table {table} (id int, v text);
             create function {table}_slow() returns trigger language plpgsql as
               $$ begin perform pg_sleep({micros} / 1e6); return new; end $$;
             create trigger slow before insert on {table} for each row execute function {table}_slow();"
        ))
        .unwrap();
}

fn csv(rows: usize) -> String {
    let mut csv = String::from("id,v\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},value {i}\n"));
    }
    csv
}

fn submit(srv: &Server, table: &str, file: &std::path::Path) -> String {
    let body = format!(
        r#"{{"source": {{"url": "{}"}}, "target": {{"table": "{table}"}}}}"#,
        file.display()
    );
    let (status, _, created) = http(
        srv.port,
        "POST",
        "/v1/jobs",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(status, 201, "{created}");
    json(&created)["id"].as_str().unwrap().to_string()
}

/// `ingest serve` on `database_url`, its connections named after the test so that the
/// test can watch their queries; returns the server and that name.
fn named_server(db: &TestDb, queue: &str, database_url: &str, extra: &[&str]) -> (Server, String) {
    let app = format!("{}_srv", db.schema);
    let env = [(
        "DATABASE_URL",
        format!("{database_url}?application_name={app}"),
    )];
    (serve_with(db, queue, extra, &env), app)
}

/// Waits until the application `app` runs its load's COPY on the server of `client`.
fn wait_for_copy(client: &mut Client, app: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = client
            .query_one(
                "select count(*) from pg_stat_activity
                  where application_name = $1 and state = 'active' and query ilike 'copy%'",
                &[&app],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the load never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A PostgreSQL of the test's own, which it may stop and start; stopped when dropped.
struct PrivateCluster {
    dir: std::path::PathBuf,
    port: u16,
    _root: tempfile::TempDir,
}

impl PrivateCluster {
    fn start() -> PrivateCluster {
        let root = tempfile::tempdir().unwrap();
        // The server runs as `postgres` when the tests run as root: it must reach the dir.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = root.path().join("pg");
        let port = free_port();
        ingest_pg::local_pg::start_private_cluster(&dir, port).unwrap();
        PrivateCluster {
            dir,
            port,
            _root: root,
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn restart(&self) {
        ingest_pg::local_pg::stop_private_cluster(&self.dir).unwrap();
        ingest_pg::local_pg::start_private_cluster(&self.dir, self.port).unwrap();
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = ingest_pg::local_pg::stop_private_cluster(&self.dir);
    }
}

#[test]
fn postgres_restarted_mid_job_the_job_is_retried_and_ends_as_one_clean_run() {
    let cluster = PrivateCluster::start();
    let mut pg = Client::connect(&cluster.url(), NoTls).unwrap();
    // No key: a row loaded twice would show in the count.
    slow_table(&mut pg, "public.t", 50);
    let db = TestDb::new("pgrestart");
    let rows = 20_000;
    let file = db.file("in.csv", csv(rows));
    let (srv, app) = named_server(
        &db,
        "ingest",
        &cluster.url(),
        &["--workers", "1", "--lease", "3"],
    );
    let id = submit(&srv, "public.t", &file);
    wait_for_copy(&mut pg, &app);
    cluster.restart();
    // The API answers again, and the job ends well: attempt 1 died with the server.
    let deadline = Instant::now() + Duration::from_secs(90);
    let job = loop {
        let (status, _, body) = http(srv.port, "GET", &format!("/v1/jobs/{id}"), &[], b"");
        if status == 200 {
            let job = json(&body);
            if ["succeeded", "failed", "cancelled"].contains(&job["state"].as_str().unwrap()) {
                break job;
            }
        }
        assert!(Instant::now() < deadline, "the job did not end: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(job["attempt"].as_i64().unwrap() >= 2, "{job}");
    let mut pg = Client::connect(&cluster.url(), NoTls).unwrap();
    let (count, distinct): (i64, i64) = {
        let r = pg
            .query_one("select count(*), count(distinct id) from t", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((count, distinct), (rows as i64, rows as i64));
    drop(srv);
}

#[test]
fn a_cancel_mid_load_leaves_the_table_untouched_and_status_answers_while_busy() {
    let mut db = TestDb::new("cancelmid");
    let t = db.t("t");
    slow_table(&mut db.client, &t, 200);
    db.exec("insert into {s}.t values (-1, 'before')");
    let before = db.fingerprint(&t);
    let file = db.file("in.csv", csv(50_000));
    let queue = format!("{}_q", db.schema);
    // A long lease: the cancel must arrive by notification, not at a heartbeat.
    let (srv, app) = named_server(
        &db,
        &queue,
        &database_url(),
        &["--workers", "1", "--lease", "60"],
    );
    let id = submit(&srv, &t, &file);
    wait_for_copy(&mut db.client, &app);
    // The worker is busy; the API still answers at once, with the job's progress.
    for _ in 0..20 {
        let asked = Instant::now();
        let (status, _, body) = http(srv.port, "GET", &format!("/v1/jobs/{id}"), &[], b"");
        assert_eq!(status, 200);
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(json(&body)["state"], "running");
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    let (status, _, body) = http(srv.port, "POST", &format!("/v1/jobs/{id}/cancel"), &[], b"");
    assert_eq!(status, 202, "{body}");
    let job = wait_end(srv.port, &id);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "cancelled after {:?}",
        asked.elapsed()
    );
    assert_eq!(db.fingerprint(&t), before);
    // The server stopped the COPY too (it does not go on inserting, holding its locks,
    // until it next reads from the dropped connection).
    db.wait_until(
        &format!(
            "select count(*) from pg_stat_activity
              where application_name = '{app}' and query ilike 'copy%' and state = 'active'"
        ),
        |n| n == "0",
        Duration::from_secs(5),
        "the cancelled COPY still runs on the server",
    );
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

#[test]
fn a_worker_that_lost_its_lease_does_not_commit() {
    let mut db = TestDb::new("leaselost");
    let t = db.t("t");
    slow_table(&mut db.client, &t, 200);
    let before = db.fingerprint(&t);
    let file = db.file("in.csv", csv(5_000));
    let queue = format!("{}_q", db.schema);
    let (srv, app) = named_server(
        &db,
        &queue,
        &database_url(),
        &["--workers", "1", "--lease", "60"],
    );
    let id = submit(&srv, &t, &file);
    wait_for_copy(&mut db.client, &app);
    let open_transactions = format!(
        "select count(*) from pg_stat_activity
          where application_name = '{app}' and backend_xid is not null"
    );
    db.wait_until(
        &open_transactions,
        |n| n != "0",
        Duration::from_secs(30),
        "the load never wrote",
    );
    // As if the lease had expired and another worker had claimed the job meanwhile.
    db.exec(&format!(
        "update \"{queue}\".jobs set lease_owner = 'another-worker' where id = '{id}'"
    ));
    // The load ends (at its commit, or at its next heartbeat) without committing.
    db.wait_until(
        &open_transactions,
        |n| n == "0",
        Duration::from_secs(30),
        "the load's transaction did not end",
    );
    assert_eq!(db.fingerprint(&t), before);
    let job = db.rows(&format!(
        "select state, lease_owner from \"{queue}\".jobs where id = '{id}'"
    ));
    assert_eq!(
        job,
        [[
            Some("running".to_string()),
            Some("another-worker".to_string())
        ]]
    );
    drop(srv);
    db.exec(&format!("drop schema \"{queue}\" cascade"));
}

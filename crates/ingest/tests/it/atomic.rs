//! A load that dies at any moment leaves the target exactly as it was, and nothing behind.

use std::process::Command;
use std::time::Duration;

use crate::support::TestDb;

const ROWS: usize = 300_000;

fn big_file(db: &TestDb, first_id: usize) -> std::path::PathBuf {
    let mut s = String::with_capacity(ROWS * 40);
    s.push_str("id,name,amount,at\n");
    for i in first_id..first_id + ROWS {
        s.push_str(&format!(
            "{i},name {i},{}.{:02},2025-01-01T00:00:00Z\n",
            i % 1000,
            i % 100
        ));
    }
    db.file(&format!("big_{first_id}.csv"), s)
}

/// Waits until the load's backend runs a statement starting with `prefix`.
fn wait_for_statement(db: &mut TestDb, prefix: &str) {
    let sql = db.backends(&format!("state = 'active' and query like '{prefix}%'"));
    let what = format!("the load never ran {prefix}");
    db.wait_until(&sql, |n| n != "0", Duration::from_secs(60), &what);
}

/// Waits until the dead load's backend is gone (the server has seen the client go).
fn wait_for_no_backend(db: &mut TestDb) {
    let sql = db.backends("true");
    db.wait_until(
        &sql,
        |n| n == "0",
        Duration::from_secs(30),
        "the dead load's backend stayed",
    );
}

fn seeded(name: &str) -> (TestDb, String, String) {
    let mut db = TestDb::new(name);
    db.exec("create table {s}.t (id int primary key, name text not null, amount numeric(8,2), at timestamptz)");
    db.exec("insert into {s}.t select g, 'old', 1, now() from generate_series(1, 1000) g");
    let table = db.t("t");
    let before = db.fingerprint(&table);
    (db, table, before)
}

fn staging_tables(db: &mut TestDb) -> String {
    db.value("select count(*) from pg_tables where schemaname = 'ingest_staging'")
}

#[test]
fn kill_9_during_copy_leaves_the_target_untouched() {
    let (mut db, table, before) = seeded("kill_copy");
    let file = big_file(&db, 1001);
    let mut child = db.spawn_load(&file, &table, &["-q"]);
    wait_for_statement(&mut db, "COPY");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    wait_for_no_backend(&mut db);
    assert_eq!(db.fingerprint(&table), before);
}

#[test]
fn kill_9_during_the_merge_leaves_the_target_untouched_and_no_staging_table() {
    let (mut db, table, before) = seeded("kill_merge");
    let file = big_file(&db, 500);
    let mut child = db.spawn_load(&file, &table, &["-q", "--mode", "upsert"]);
    wait_for_statement(&mut db, "MERGE");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for_no_backend(&mut db);
    assert_eq!(db.fingerprint(&table), before);
    assert_eq!(staging_tables(&mut db), "0");
}

#[test]
fn ctrl_c_exits_130_and_writes_nothing() {
    let (mut db, table, before) = seeded("ctrl_c");
    let file = big_file(&db, 1001);
    let child = db.spawn_load(&file, &table, &["-q", "--mode", "upsert"]);
    wait_for_statement(&mut db, "COPY");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted; nothing was written"));
    wait_for_no_backend(&mut db);
    assert_eq!(db.fingerprint(&table), before);
    assert_eq!(staging_tables(&mut db), "0");
}

#[test]
fn replace_is_seen_whole_or_not_at_all() {
    let (mut db, table, _) = seeded("replace_view");
    let file = big_file(&db, 1);
    let mut child = db.spawn_load(&file, &table, &["-q", "--mode", "replace"]);
    // Every read during the load sees the old 1000 rows or the new ones, never a mix.
    let mut seen = std::collections::BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        seen.insert(
            db.value("select count(*) || '/' || count(*) filter (where name = 'old') from {s}.t"),
        );
    }
    assert!(child.wait().unwrap().success());
    seen.insert(
        db.value("select count(*) || '/' || count(*) filter (where name = 'old') from {s}.t"),
    );
    let allowed = ["1000/1000".to_string(), format!("{ROWS}/0")];
    assert!(
        seen.iter().all(|s| allowed.contains(s)),
        "a reader saw {seen:?}"
    );
    assert!(seen.contains(&allowed[1]));
}

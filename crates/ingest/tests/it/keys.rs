//! Keys of upsert and merge: what may be a key, NULLs, duplicates of every kind.

use std::time::Duration;

use crate::support::TestDb;

#[test]
fn one_duplicate_among_many_rows_is_resolved_quickly() {
    // Regression: duplicates were removed with a self-join on IS NOT DISTINCT FROM, which
    // is quadratic (hours for a few million rows).
    let mut db = TestDb::new("manydups");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let mut s = String::from("k,v\n");
    for i in 0..200_000 {
        s.push_str(&format!("{i},v{i}\n"));
    }
    s.push_str("7,last\n");
    let f = db.file("kv.csv", s);
    let run = db.load(&f, &db.t("kv"), &["--mode", "upsert", "--json"]);
    run.ok();
    assert_eq!(run.json()["rows_duplicate"], 1);
    assert_eq!(db.value("select v from {s}.kv where k = 7"), "last");
    assert_eq!(db.value("select count(*) from {s}.kv"), "200000");
}

#[test]
fn a_null_key_is_refused_rather_than_inserted_again_on_every_run() {
    let mut db = TestDb::new("nullkey");
    db.exec("create table {s}.c (code text unique, name text)");
    let f = db.file("c.csv", "code,name\n,one\nX,two\n");
    db.load(&f, &db.t("c"), &["--mode", "upsert", "--key", "code"])
        .fails_with(1, "line 2, column code: null in a key column");
    db.load(
        &f,
        &db.t("c"),
        &["--mode", "upsert", "--key", "code", "--max-errors", "1"],
    )
    .ok();
    db.load(
        &f,
        &db.t("c"),
        &["--mode", "upsert", "--key", "code", "--max-errors", "1"],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(coalesce(code, 'NULL') || name, ' ') from {s}.c"),
        "Xtwo"
    );
}

#[test]
fn a_key_without_a_unique_index_is_refused() {
    let mut db = TestDb::new("nonunique");
    db.exec("create table {s}.u (id int primary key, email text, name text)");
    let f = db.file("u.csv", "id,email,name\n1,a@x,A\n");
    db.load(&f, &db.t("u"), &["--mode", "upsert", "--key", "email"])
        .fails_with(2, "--key email is not unique in");
    db.exec("create unique index on {s}.u (email)");
    db.load(&f, &db.t("u"), &["--mode", "upsert", "--key", "email"])
        .ok();
}

#[test]
fn upsert_into_a_generated_always_identity_key() {
    let mut db = TestDb::new("identity");
    db.exec("create table {s}.g (id int generated always as identity primary key, v text)");
    let f = db.file("g.csv", "id,v\n1,a\n2,b\n");
    db.load(&f, &db.t("g"), &["--mode", "upsert"]).ok();
    let f2 = db.file("g2.csv", "id,v\n2,B\n3,c\n");
    let run = db.load(&f2, &db.t("g"), &["--mode", "upsert", "--json"]);
    run.ok();
    assert_eq!(
        (
            run.json()["rows_inserted"].as_u64(),
            run.json()["rows_updated"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        db.value("select string_agg(id || v, ' ' order by id) from {s}.g"),
        "1a 2B 3c"
    );
}

#[test]
fn keys_equal_only_to_postgres_go_through_the_exact_duplicate_check() {
    let mut db = TestDb::new("looseeq");
    db.exec("create extension if not exists citext");
    db.exec("create table {s}.ci (k citext primary key, v text)");
    db.exec("create table {s}.vc (k varchar(2) primary key, v text)");
    // citext: 'A' and 'a' are one key; varchar(2): 'ab ' is stored as 'ab'.
    let ci = db.file("ci.csv", "k,v\nA,first\na,second\n");
    db.load(&ci, &db.t("ci"), &["--mode", "upsert"]).ok();
    assert_eq!(
        db.value("select string_agg(k || v, ' ') from {s}.ci"),
        "asecond"
    );
    let vc = db.file("vc.csv", "k,v\nab,first\n\"ab \",second\n");
    db.load(&vc, &db.t("vc"), &["--mode", "upsert"]).ok();
    assert_eq!(
        db.value("select string_agg(k || v, ' ') from {s}.vc"),
        "absecond"
    );
}

#[test]
fn replace_works_on_a_referenced_table_and_on_a_partitioned_one() {
    let mut db = TestDb::new("replacekinds");
    db.exec("create table {s}.parent (id int primary key, v text)");
    db.exec("create table {s}.child (pid int references {s}.parent)");
    db.exec("insert into {s}.parent values (1, 'old')");
    db.exec("create table {s}.part (id int, v text) partition by range (id)");
    db.exec("create table {s}.part_lo partition of {s}.part for values from (0) to (100)");
    db.exec("create table {s}.part_hi partition of {s}.part for values from (100) to (1000)");
    db.exec("insert into {s}.part values (5, 'old')");
    let f = db.file("new.csv", "id,v\n2,new\n150,new\n");
    db.load(&f, &db.t("parent"), &["--mode", "replace"]).ok();
    db.load(&f, &db.t("part"), &["--mode", "replace"]).ok();
    assert_eq!(
        db.value("select string_agg(id || v, ' ' order by id) from {s}.parent"),
        "2new 150new"
    );
    assert_eq!(
        db.value("select string_agg(id || v, ' ' order by id) from {s}.part"),
        "2new 150new"
    );
    // A referenced row still cannot be replaced away.
    db.exec("insert into {s}.child values (2)");
    let other = db.file("other.csv", "id,v\n3,x\n");
    db.load(&other, &db.t("parent"), &["--mode", "replace"])
        .fails_with(1, "foreign key");
    assert_eq!(
        db.value("select string_agg(id::text, ' ' order by id) from {s}.parent"),
        "2 150"
    );
}

#[test]
fn an_upsert_and_a_replace_at_once_both_finish() {
    // Regression: the upsert locked the table (creating its staging table) before the
    // load lock, the replace the other way round: a deadlock.
    let mut db = TestDb::new("upsertreplace");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let mut a = String::from("k,v\n");
    for i in 0..50_000 {
        a.push_str(&format!("{i},a\n"));
    }
    let fa = db.file("a.csv", a);
    let fb = db.file("b.csv", "k,v\n1,b\n");
    let table = db.t("kv");
    for _ in 0..3 {
        std::thread::scope(|s| {
            let up = s.spawn(|| crate::support::load(&fa, &table, &["--mode", "upsert"]));
            let rep = s.spawn(|| crate::support::load(&fb, &table, &["--mode", "replace"]));
            up.join().unwrap().ok();
            rep.join().unwrap().ok();
        });
    }
    let n = db.value("select count(*) from {s}.kv");
    assert!(n == "1" || n == "50000", "{n}");
}

#[test]
fn a_row_a_domain_refuses_in_staging_is_named_by_its_line() {
    let mut db = TestDb::new("domainline");
    db.exec("create domain {s}.pos as int check (value > 0)");
    db.exec("create table {s}.d (id int primary key, n {s}.pos)");
    let f = db.file("d.csv", "id,n\n1,5\n2,\"-3\"\n");
    db.load(&f, &db.t("d"), &["--mode", "upsert"])
        .fails_with(1, "d.csv: line 3: COPY: value for domain");
    assert_eq!(db.value("select count(*) from {s}.d"), "0");
}

#[test]
fn a_key_another_session_inserts_during_the_merge_is_updated_not_a_failure() {
    let mut db = TestDb::new("racekey");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let f = db.file("kv.csv", "k,v\n1,file\n2,file\n");
    // Another session inserts key 2 and holds its transaction open.
    let mut other =
        postgres::Client::connect(&crate::support::database_url(), postgres::NoTls).unwrap();
    other
        .batch_execute(&format!(
            "begin; insert into {}.kv values (2, 'other')",
            db.schema
        ))
        .unwrap();
    let child = db.spawn_load(&f, &db.t("kv"), &["--mode", "upsert", "--json"]);
    // The MERGE waits for that row; once it does, the other session commits.
    let waiting = db.backends("wait_event_type = 'Lock' and query like 'MERGE%'");
    let what = "the MERGE never waited on the other session";
    db.wait_until(&waiting, |n| n != "0", Duration::from_secs(60), what);
    other.batch_execute("commit").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            summary["rows_inserted"].as_u64(),
            summary["rows_updated"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        db.value("select string_agg(k || v, ' ' order by k) from {s}.kv"),
        "1file 2file"
    );
}

#[test]
fn a_load_waiting_for_another_says_who_holds_the_table() {
    let mut db = TestDb::new("lockwait");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let oid: i64 = db
        .value("select '{s}.kv'::regclass::oid::int8")
        .parse()
        .unwrap();
    // Another load (played by this session) holds the table's load lock.
    let mut other =
        postgres::Client::connect(&crate::support::database_url(), postgres::NoTls).unwrap();
    other
        .batch_execute("set application_name = 'other-load'; begin")
        .unwrap();
    other
        .execute(
            "select pg_advisory_xact_lock($1)",
            &[&((0x696e_6765_i64 << 32) | oid)],
        )
        .unwrap();
    let f = db.file("kv.csv", "k,v\n1,a\n");
    let child = db.spawn_load(&f, &db.t("kv"), &[]);
    let waiting = db.backends("wait_event_type = 'Lock'");
    db.wait_until(
        &waiting,
        |n| n != "0",
        Duration::from_secs(60),
        "the load never waited",
    );
    other.batch_execute("commit").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waiting for another load into"), "{stderr}");
    assert!(stderr.contains("application \"other-load\""), "{stderr}");
    assert_eq!(db.value("select v from {s}.kv"), "a");
}

#[test]
fn a_dry_run_finds_the_duplicate_keys_the_load_would_meet() {
    let mut db = TestDb::new("drydups");
    db.exec("create table {s}.kv (k int primary key, v text)");
    let f = db.file("kv.csv", "k,v\n1,a\n2,b\n1,c\n");
    let run = db.load(
        &f,
        &db.t("kv"),
        &["--mode", "upsert", "--dry-run", "--json"],
    );
    run.ok();
    assert_eq!(run.json()["rows_duplicate"], 1);
    db.load(
        &f,
        &db.t("kv"),
        &["--mode", "upsert", "--dry-run", "--on-duplicate", "reject"],
    )
    .fails_with(1, "rejected line 2, column k: duplicate key (lines 2, 4)");
    assert_eq!(db.value("select count(*) from {s}.kv"), "0");
}

//! The same values as `psql \copy … csv`: what PostgreSQL's own COPY takes, ingest takes,
//! and stores the same.

use crate::support::{TestDb, load_with_env};

/// A regression test: PGTZ (which libpq and psql honour) was ignored when DATABASE_URL
/// was set, so naive timestamps into timestamptz landed hours away from psql's.
#[test]
fn pgtz_is_honoured_as_psql_honours_it() {
    let mut db = TestDb::new("pgtz");
    db.exec("create table {s}.got (id int, v timestamptz); create table {s}.ref (id int, v timestamptz)");
    let f = db.file(
        "tz.csv",
        "id,v\n1,2025-01-02 03:04:05\n2,2025-03-09 02:30:00\n3,1900-01-01 00:00:00\n",
    );
    let zone = [("PGTZ", "America/Sao_Paulo".to_string())];
    load_with_env(&f, &db.t("got"), &[], &zone).ok();
    db.exec("set timezone = 'America/Sao_Paulo'");
    db.copy_csv(&db.t("ref"), &f, "");
    db.exec("reset timezone");
    assert!(db.same_rows(&db.t("got"), &db.t("ref")));
    assert_eq!(
        db.value("select (v at time zone 'UTC')::text from {s}.got where id = 1"),
        "2025-01-02 06:04:05"
    );
    // PGDATESTYLE reaches the session too: day-first dates read as psql would.
    db.exec("create table {s}.d (d date)");
    let dates = db.file("d.csv", "d\n2025-01-02\n");
    let style = [("PGDATESTYLE", "ISO, DMY".to_string())];
    load_with_env(&dates, &db.t("d"), &[], &style).ok();
    assert_eq!(db.value("select d::text from {s}.d"), "2025-01-02");
}

/// A regression test: JSON nested past the server's stack depth failed the COPY with
/// SQLSTATE 54001 and ingest exited 3 ("worth a retry"), so the service retried a job that
/// could never succeed. What the data causes is exit 1, naming the line.
#[test]
fn a_value_the_server_refuses_is_data_not_an_outage() {
    let mut db = TestDb::new("deepjson");
    db.exec("create table {s}.j (id int, doc jsonb)");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let f = db.file("deep.csv", format!("id,doc\n1,[1]\n2,\"{deep}\"\n"));
    db.load(&f, &db.t("j"), &[])
        .fails_with(1, "line 3: COPY: stack depth limit exceeded");
    assert_eq!(db.value("select count(*) from {s}.j"), "0");
    // A privilege the server refuses is no outage either: a retry fails the same way.
    let role = format!("{}_ro", db.schema);
    db.exec(&format!(
        "create role {role} nologin; grant usage on schema {{s}} to {role}"
    ));
    let url = format!(
        "{}?options=-c%20role%3D{role}",
        crate::support::database_url()
    );
    let small = db.file("small.csv", "id,doc\n1,[1]\n");
    let run = crate::support::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["load", small.to_str().unwrap(), "--into", &db.t("j")])
            .env("DATABASE_URL", url),
    );
    db.exec(&format!("drop owned by {role}; drop role {role}"));
    run.fails_with(2, "permission denied");
}

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

/// The same rows, compared as text (for types without equality: xml, point).
fn same_text(db: &mut TestDb, a: &str, b: &str) -> bool {
    db.value(&format!(
        "select (select count(*) from (select ra::text from {a} ra except all select rb::text from {b} rb) d)
              + (select count(*) from (select rb::text from {b} rb except all select ra::text from {a} ra) d)"
    )) == "0"
}

/// A regression test: every type ingest did not encode itself (interval, inet, ranges,
/// xml, an extension's citext...) made the load refused, and special values and
/// spellings PostgreSQL takes (`infinity`, `Jan 2 2025`, BC dates, zone names, bytea
/// escapes, multi-dimensional arrays) were rejects. The server's own input functions now
/// read what the engine does not, so the table holds what `COPY` gives.
#[test]
fn what_copy_takes_ingest_takes_and_stores_the_same() {
    let mut db = TestDb::new("copyparity");
    db.exec("create extension if not exists citext");
    let ddl = "(n int, d date, ts timestamp, tz timestamptz, iv interval, ip inet, net cidr,
        mac macaddr, bits bit(3), p point, r int4range, tv tsvector, x xml, ba bytea, arr int[],
        ci citext)";
    db.exec(&format!(
        "create table {{s}}.got {ddl}; create table {{s}}.ref {ddl}"
    ));
    let f = db.file(
        "types.csv",
        r#"n,d,ts,tz,iv,ip,net,mac,bits,p,r,tv,x,ba,arr,ci
1,infinity,infinity,-infinity,1 day 02:00,192.168.0.1,10.0.0.0/8,08:00:2b:01:02:03,101,"(1,2)","[1,10)",a fat cat,<a>x</a>,abc,"{{1,2},{3,4}}",MiXeD
2,20250102,20250102T030405,2025-06-01 12:00:00 America/New_York,P1DT2H,::1,2001:db8::/32,0800.2b01.0203,010,"(0.5,-1)",empty,x:1 y:2,<b/>,\000,"[0:1]={5,6}",x
3,Jan 2 2025,1999-12-31 23:59:59 BC,2025-01-02 03:04:05 BRT,-1 year,10.1.2.3/24,192.168.0.0/16,08-00-2b-01-02-04,111,"(3,4)","(,5]",'quoted' words,"<c a=""1""/>",\x00ff,{},
4,-infinity,2025-01-02T03:04,2025-01-02T03:04:05+0530,00:00:01.5,1.2.3.4,1.2.3.4/32,0800-2b01-0203,000,"(0,0)","[2,2]",z,<d/>,a\\b,"{NULL,1}",Ça
"#,
    );
    let utc = [("PGTZ", "UTC".to_string())];
    load_with_env(&f, &db.t("got"), &[], &utc).ok();
    db.exec("set timezone = 'UTC'");
    db.copy_csv(&db.t("ref"), &f, "");
    let (got, reference) = (db.t("got"), db.t("ref"));
    assert!(same_text(&mut db, &got, &reference));
    assert_eq!(
        db.value("select d::text from {s}.got where n = 3"),
        "2025-01-02"
    );
    assert_eq!(
        db.value("select iv::text from {s}.got where n = 2"),
        "1 day 02:00:00"
    );
}

/// What the server refuses is a reject naming line and column, with the server's reason;
/// the other rows load.
#[test]
fn values_the_server_refuses_are_rejects_with_its_reason() {
    let mut db = TestDb::new("srvreject");
    db.exec("create table {s}.bt (n int, ip inet, mac macaddr, d date)");
    let f = db.file(
        "bad.csv",
        "n,ip,mac,d\n1,10.0.0.1,08:00:2b:01:02:03,Jan 2 2025\n2,not-an-ip,08:00:2b:01:02:03,\n3,10.0.0.3,zz,\n4,10.0.0.4,08:00:2b:01:02:05,2025-13-45\n5,::1,08:00:2b:01:02:06,today\n",
    );
    let errors = db.dir.path().join("rejects.csv");
    db.load(
        &f,
        &db.t("bt"),
        &[
            "--max-errors",
            "10",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(n::text, ',' order by n) from {s}.bt"),
        "1"
    );
    let listed = std::fs::read_to_string(&errors).unwrap();
    assert!(
        listed.contains("3,ip,not-an-ip,\"invalid input syntax for type inet"),
        "{listed}"
    );
    assert!(listed.contains("4,mac,zz,"), "{listed}");
    assert!(listed.contains("5,d,2025-13-45,"), "{listed}");
    // A word that depends on the clock is never asked of the server.
    assert!(listed.contains("6,d,today,"), "{listed}");
}

/// Typed sources reach the same types: a Parquet string column loads into inet and
/// interval columns through the server, and a value it refuses is a reject by row.
#[test]
fn parquet_strings_load_into_types_the_server_reads() {
    let mut db = TestDb::new("pqother");
    db.exec("create table {s}.n (id bigint, ip inet, span interval)");
    let f = db.dir.path().join("net.parquet");
    crate::fixtures::py(
        r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({"id": [1, 2, 3], "ip": ["10.0.0.1", "::1", "nope"], "span": ["1 day", "PT2H", None]}), sys.argv[1])
"#,
        &[f.to_str().unwrap()],
    );
    let errors = db.dir.path().join("rejects.csv");
    db.load(
        &f,
        &db.t("n"),
        &[
            "--max-errors",
            "1",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(format('%s|%s|%s', id, ip, span), ';' order by id) from {s}.n"),
        "1|10.0.0.1|1 day;2|::1|02:00:00"
    );
    let listed = std::fs::read_to_string(&errors).unwrap();
    assert!(listed.contains("3,ip,nope,"), "{listed}");
}

/// Timestamps at PostgreSQL's edges load exactly, and past them are rejects: a value
/// never wraps (the Parquet side of this is `real_files::spark_int96_…`).
#[test]
fn far_timestamps_load_to_the_edge_and_are_refused_past_it() {
    let mut db = TestDb::new("fartime");
    db.exec("create table {s}.far (id int, t timestamp, d date)");
    let f = db.file(
        "far.csv",
        "id,t,d\n1,294276-12-31 23:59:59,294276-12-31\n2,294277-01-01 00:00:00,5874898-01-01\n3,4713-01-01 00:00:00 BC,4714-11-24 BC\n",
    );
    let errors = db.dir.path().join("rejects.csv");
    db.load(
        &f,
        &db.t("far"),
        &[
            "--max-errors",
            "5",
            "--errors-file",
            errors.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        db.value("select string_agg(format('%s|%s|%s', id, t, d), ';' order by id) from {s}.far"),
        "1|294276-12-31 23:59:59|294276-12-31;3|4713-01-01 00:00:00 BC|4714-11-24 BC"
    );
    let listed = std::fs::read_to_string(&errors).unwrap();
    assert!(
        listed.contains("3,t,294277-01-01 00:00:00,\"timestamp out of range"),
        "{listed}"
    );
    assert!(
        listed.contains("3,d,5874898-01-01,\"date out of range"),
        "{listed}"
    );
}

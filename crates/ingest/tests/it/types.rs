//! Every supported type: `ingest load` gives exactly what the server's own CSV parser gives.

use crate::support::TestDb;

const TABLE: &str = "create type {s}.mood as enum ('sad', 'ok', 'happy');
create domain {s}.posint as int check (value > 0);
create table {s}.{t} (
  i2 smallint, i4 integer, i8 bigint, n numeric(12,2), nu numeric, nbig numeric(50,10),
  r real, d double precision, b boolean, t text, vc varchar(5), c char(3),
  dt date, tm time, ts timestamp, tz timestamptz, u uuid, j json, jb jsonb, by bytea,
  m {s}.mood, dom {s}.posint, ai int[], at text[], an numeric(6,2)[], ats timestamptz[])";

const HEADER: &str = "i2,i4,i8,n,nu,nbig,r,d,b,t,vc,c,dt,tm,ts,tz,u,j,jb,by,m,dom,ai,at,an,ats";

/// Values written the way both PostgreSQL's CSV input and ingest accept them.
const ROWS: &[&str] = &[
    r#"-32768,-2147483648,-9223372036854775808,-9999999999.99,-0.000001,1234567890123456789012345678901234567890.0123456789,-3.4e38,-1.7976931348623157e308,true,plain,abcde,ab,1970-01-01,00:00:00,1999-12-31 23:59:59.999999,2000-01-01T00:00:00Z,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,"{""a"": [1, 2.5, null]}","{""b"": {""c"": true}}",\x00ff10,sad,1,"{1,2,3}","{a,""b,c"",""d \""q\""""}","{1.50,-2.25}","{""2025-01-01 00:00:00+00""}""#,
    r#"32767,2147483647,9223372036854775807,9999999999.99,123456789012345678901234567890.5,0,3.4e38,1.5,false,"multi
line, ""quoted""",ação,a,2099-12-31,23:59:59.999999,2000-02-29 12:00:00,2024-02-29 23:30:00-03:00,A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,[],{},\x,happy,2147483647,{},{},{},{}"#,
    r#"0,0,0,0.00,0,-0.0000000001,0,-0,t,ünïcödé 😀,e,   ,2000-01-01,12:34:56,2025-06-30T01:02:03.5,2025-06-30T01:02:03.123456+05:30,00000000-0000-0000-0000-000000000000,"""x""","""x""",\xDEADBEEF,ok,7,"{NULL,4}","{NULL,""NULL""}","{0.01}","{NULL}""#,
    ",,,,,,,,,,,,,,,,,,,,,,,,,",
    r#"1,1,1,1,NaN,1,NaN,Infinity,f,x,x,x,2025-01-01,00:00,2025-01-01,2025-01-01,a0eebc999c0b4ef8bb6d6bb9bd380a11,1,1,\x01,ok,1,{-1},{z},{99.99},"{2025-01-01T12:00:00Z}""#,
];

#[test]
fn every_type_loads_as_the_server_parses_it() {
    let mut db = TestDb::new("types");
    db.exec(&TABLE.replace("{t}", "got"));
    db.exec(&TABLE.replace("{t}", "ref").replace("create type {s}.mood as enum ('sad', 'ok', 'happy');\ncreate domain {s}.posint as int check (value > 0);\n", ""));
    db.exec("set timezone = 'UTC'");
    let file = db.file("types.csv", format!("{HEADER}\n{}\n", ROWS.join("\n")));
    db.load(&file, &db.t("got"), &["--timezone", "UTC"]).ok();
    db.copy_csv(&db.t("ref"), &file, "");
    let diff = db.rows(
        "(select 'ingest only', gotrow::text from {s}.got gotrow except all select 'ingest only', refrow::text from {s}.ref refrow)
         union all
         (select 'server only', refrow::text from {s}.ref refrow except all select 'server only', gotrow::text from {s}.got gotrow)",
    );
    assert!(diff.is_empty(), "rows differ: {diff:#?}");
    assert_eq!(
        db.value("select count(*) from {s}.got"),
        ROWS.len().to_string()
    );
}

#[test]
fn naive_timestamps_follow_the_session_time_zone_like_psql_copy() {
    let mut db = TestDb::new("tz");
    db.exec("create table {s}.e (at timestamptz)");
    let file = db.file("tz.csv", "at\n2025-01-15 10:00:00\n");
    let url = format!(
        "{}?options=-c%20TimeZone%3DAmerica%2FSao_Paulo",
        crate::support::database_url()
    );
    let run = crate::support::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["load", file.to_str().unwrap(), "--into", &db.t("e")])
            .env("DATABASE_URL", url),
    );
    run.ok();
    assert_eq!(
        db.value("select (at at time zone 'UTC')::text from {s}.e"),
        "2025-01-15 13:00:00"
    );
    db.exec("truncate {s}.e");
    db.load(&file, &db.t("e"), &["--timezone", "Asia/Tokyo"])
        .ok();
    assert_eq!(
        db.value("select (at at time zone 'UTC')::text from {s}.e"),
        "2025-01-15 01:00:00"
    );
}

#[test]
fn no_header_maps_fields_to_columns_in_order_and_tsv_works() {
    let mut db = TestDb::new("noheader");
    db.exec("create table {s}.p (a int, b text, c text)");
    let file = db.file("p.tsv", "1\tone\n2\ttwo\n");
    db.load(&file, &db.t("p"), &["--no-header", "--delimiter", "tab"])
        .ok();
    assert_eq!(
        db.value("select string_agg(a || b || coalesce(c, '-'), ' ' order by a) from {s}.p"),
        "1one- 2two-"
    );
}

#[test]
/// Changed with issue 12: a type without an encoder here (interval) used to refuse the
/// load; the server now reads it, as COPY would.
fn columns_of_other_types_load_through_the_server_and_citext_loads_as_text() {
    let mut db = TestDb::new("unsupported");
    db.exec("create extension if not exists citext");
    db.exec("create table {s}.u (id int, name citext, span interval)");
    let ok = db.file("ok.csv", "id,name\n1,Ação\n");
    db.load(&ok, &db.t("u"), &[]).ok();
    assert_eq!(
        db.value("select count(*) from {s}.u where name = 'AÇÃO'"),
        "1"
    );
    let span = db.file("span.csv", "id,span\n2,1 day 02:00\n");
    db.load(&span, &db.t("u"), &[]).ok();
    assert_eq!(
        db.value("select span::text from {s}.u where id = 2"),
        "1 day 02:00:00"
    );
}

#[test]
fn escape_and_quote_characters_can_be_chosen() {
    let mut db = TestDb::new("escape");
    db.exec("create table {s}.q (id int, note text)");
    let backslash = db.file("bs.csv", "id,note\n1,\"say \\\"hi\\\", then go\"\n");
    db.load(&backslash, &db.t("q"), &["--escape", "\\"]).ok();
    let single = db.file("sq.csv", "id|note\n2|'a|b ''c'''\n");
    db.load(&single, &db.t("q"), &["--quote", "'", "--delimiter", "|"])
        .ok();
    assert_eq!(
        db.rows("select note from {s}.q order by id"),
        vec![
            vec![Some("say \"hi\", then go".into())],
            vec![Some("a|b 'c'".into())]
        ]
    );
}

#[test]
fn wide_numerics_are_checked_never_rounded_and_bpchar_without_length_is_unbounded() {
    let mut db = TestDb::new("widenum");
    db.exec("create table {s}.w (id int, n numeric(40,2), c bpchar)");
    let bad = db.file("bad.csv", "id,n,c\n1,1.005,x\n");
    db.load(&bad, &db.t("w"), &[]).fails_with(
        1,
        "line 2, column n: more than 2 decimal places for numeric(40,2)",
    );
    let good = db.file(
        "good.csv",
        "id,n,c\n1,12345678901234567890123456789012345678.5,hello\n2,1.0500,\n",
    );
    db.load(&good, &db.t("w"), &[]).ok();
    assert_eq!(
        db.rows("select n::text, c from {s}.w order by id"),
        vec![
            vec![
                Some("12345678901234567890123456789012345678.50".into()),
                Some("hello".into())
            ],
            vec![Some("1.05".into()), None],
        ]
    );
}

#[test]
fn columns_missing_from_the_file_get_their_default_or_null() {
    let mut db = TestDb::new("defaults");
    db.exec(
        "create table {s}.d (id int generated by default as identity primary key, name text,
           status text not null default 'novo', seen timestamptz default '2025-01-01Z', note text)",
    );
    let f = db.file("d.csv", "name\nana\n");
    for mode in ["insert", "replace"] {
        db.load(&f, &db.t("d"), &["--mode", mode]).ok();
    }
    assert_eq!(
        db.rows("select id::text, name, status, seen::date::text, note from {s}.d"),
        vec![vec![
            Some("2".into()),
            Some("ana".into()),
            Some("novo".into()),
            Some("2025-01-01".into()),
            None
        ]]
    );
}

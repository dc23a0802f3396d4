//! `pull` from another database into a real PostgreSQL, end to end: MariaDB and
//! PostgreSQL sources, every value exact, the cursor stored with the rows and read past
//! (ties included), `full` and `dry_run`, and each kind of failure changing nothing.
//!
//! Needs MariaDB on 127.0.0.1:3306 (root, no password, database `test`; or
//! INGEST_TEST_MYSQL_URL) and PostgreSQL (INGEST_TEST_DATABASE_URL).

mod support;

use ingest_load::{LoadSummary, Progress};
use ingest_sources::cursor::Cursor;
use ingest_sources::track::instant;
use ingest_sources::{PullError, PullOptions, PullOutcome, SourceSpec, pull};
use mysql_async::prelude::Queryable;
use support::pg::Db;

fn mysql_url() -> String {
    std::env::var("INGEST_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Runs each statement on MariaDB, zero dates allowed.
async fn mariadb(statements: &[&str]) {
    let mut conn = mysql_async::Conn::from_url(mysql_url()).await.unwrap();
    conn.query_drop("SET sql_mode = '', time_zone = '+00:00'")
        .await
        .unwrap();
    for sql in statements {
        conn.query_drop(*sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    conn.disconnect().await.unwrap();
}

fn spec(yaml: &str) -> SourceSpec {
    SourceSpec::parse(yaml, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

async fn run(
    db: &Db,
    spec: &SourceSpec,
    options: PullOptions,
) -> (Result<PullOutcome, PullError>, LoadSummary) {
    let options = PullOptions {
        database: ingest_pg::ConnectSource::Url(db.url.clone()),
        service_schema: Some(db.schema.clone()),
        ..options
    };
    let mut summary = LoadSummary::default();
    let result = pull(spec, &options, &mut summary, &Progress::quiet()).await;
    (result, summary)
}

fn full() -> PullOptions {
    PullOptions {
        full: true,
        ..PullOptions::default()
    }
}

fn dry() -> PullOptions {
    PullOptions {
        dry_run: true,
        ..PullOptions::default()
    }
}

fn at(value: &str, tie: &str) -> Cursor {
    Cursor {
        value: value.into(),
        tie: Some(tie.into()),
    }
}

fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}

/// The MariaDB table of the end-to-end tests: every awkward type, named per process.
async fn erp_table(tag: &str) -> String {
    let table = format!("it_pull_{tag}_{}", std::process::id());
    mariadb(&[
        &format!("DROP TABLE IF EXISTS {table}"),
        &format!(
            "CREATE TABLE {table} (
                id BIGINT UNSIGNED PRIMARY KEY, amount DECIMAL(20,4), at DATETIME(6),
                flag TINYINT(1), doc JSON, day DATE, updated_at DATETIME(6) NOT NULL
            ) CHARACTER SET utf8mb4"
        ),
        &format!(
            "INSERT INTO {table} VALUES
             (1, 1234567890123456.7891, '2026-01-02 03:04:05.123456', 1,
              '{{\"a\": [1, 2], \"s\": \"café\"}}', '2026-01-02', '2026-01-01 00:00:01'),
             (18446744073709551615, -9999999999999999.9999, '0000-00-00 00:00:00', 0, '[]',
              '0000-00-00', '2026-01-01 00:00:02'),
             (3, 0.0001, '2026-02-03 04:05:06', NULL, NULL, '2024-05-00', '2026-01-01 00:00:03.5'),
             (5, 2, NULL, 0, '\"text\"', '2026-12-31', '2026-01-01 00:00:03.5'),
             (18446744073709551000, 1.5, '2026-01-01 00:00:00', 1,
              '{{\"n\": 12345678901234567890}}', NULL, '2026-01-01 00:00:03.5')"
        ),
    ])
    .await;
    table
}

const TARGET: &str = "(id numeric(20,0) primary key, amount numeric(20,4), at timestamp, flag boolean, doc jsonb, day date, updated_at timestamp)";

const ALL: &str = "SELECT id::text, amount::text, at::text, flag::text, doc::text, day::text, updated_at::text FROM {s}.erp e ORDER BY e.id";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_rows_arrive_exact_and_incrementally() {
    let db = Db::new("dbpull_maria").await;
    db.exec(&format!("CREATE TABLE {}.erp {TARGET}", db.schema))
        .await;
    let table = erp_table("e2e").await;
    let s = spec(&format!(
        "name: erp\nsource: {{type: mysql, url: \"{}\", table: {table}}}\n\
         incremental: {{cursor_field: updated_at, tie_breaker: id}}\n\
         target: {{table: {}.erp, mode: upsert, key: [id]}}\n",
        mysql_url(),
        db.schema
    ));

    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    let outcome = result.unwrap();
    assert_eq!((summary.rows_read, summary.rows_inserted), (5, 5));
    assert_eq!(outcome.cursor_from, None);
    // Exact digits, microseconds, booleans, JSON; zero dates (and a zero day) are NULL.
    assert_eq!(
        db.rows(ALL).await,
        [
            row(&[
                Some("1"),
                Some("1234567890123456.7891"),
                Some("2026-01-02 03:04:05.123456"),
                Some("true"),
                Some(r#"{"a": [1, 2], "s": "café"}"#),
                Some("2026-01-02"),
                Some("2026-01-01 00:00:01"),
            ]),
            row(&[
                Some("3"),
                Some("0.0001"),
                Some("2026-02-03 04:05:06"),
                None,
                None,
                None,
                Some("2026-01-01 00:00:03.5"),
            ]),
            row(&[
                Some("5"),
                Some("2.0000"),
                None,
                Some("false"),
                Some(r#""text""#),
                Some("2026-12-31"),
                Some("2026-01-01 00:00:03.5"),
            ]),
            row(&[
                Some("18446744073709551000"),
                Some("1.5000"),
                Some("2026-01-01 00:00:00"),
                Some("true"),
                Some(r#"{"n": 12345678901234567890}"#),
                None,
                Some("2026-01-01 00:00:03.5"),
            ]),
            row(&[
                Some("18446744073709551615"),
                Some("-9999999999999999.9999"),
                None,
                Some("false"),
                Some("[]"),
                None,
                Some("2026-01-01 00:00:02"),
            ]),
        ]
    );
    // The largest (updated_at, id): of the three rows at 00:00:03.5, the largest id.
    let first = at("2026-01-01 00:00:03.500000", "18446744073709551000");
    assert_eq!(db.cursor("erp").await, Some(first.clone()));
    assert_eq!(outcome.cursor_to, Some(first.clone()));

    // A change, and a row at the cursor's very time with a larger id (within a double's
    // precision of it: the comparison must be exact).
    mariadb(&[
        &format!("UPDATE {table} SET amount = 42.42, updated_at = '2026-01-01 00:00:04' WHERE id = 1"),
        &format!(
            "INSERT INTO {table} VALUES (18446744073709551001, 7, NULL, 1, '{{}}', NULL, '2026-01-01 00:00:03.5')"
        ),
    ])
    .await;
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    let outcome = result.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_inserted,
            summary.rows_updated
        ),
        (2, 1, 1)
    );
    assert_eq!(outcome.cursor_from, Some(first));
    let second = at("2026-01-01 00:00:04", "1");
    assert_eq!(db.cursor("erp").await, Some(second.clone()));
    assert_eq!(db.count("erp", "true").await, 6);
    assert_eq!(
        db.rows("SELECT amount::text, updated_at::text FROM {s}.erp WHERE id = 1")
            .await,
        [row(&[Some("42.4200"), Some("2026-01-01 00:00:04")])]
    );
    assert_eq!(
        db.rows(
            "SELECT amount::text, flag::text, doc::text FROM {s}.erp WHERE id = 18446744073709551001"
        )
        .await,
        [row(&[Some("7.0000"), Some("true"), Some("{}")])]
    );

    // Nothing new: nothing read, the cursor stays.
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    result.unwrap();
    assert_eq!(summary.rows_read, 0);
    assert_eq!(db.cursor("erp").await, Some(second.clone()));

    // `full` reads everything again; the cursor stays at the largest.
    let before = db.rows(ALL).await;
    let (result, summary) = run(&db, &s, full()).await;
    assert_eq!(result.unwrap().cursor_from, None);
    assert_eq!((summary.rows_read, summary.rows_unchanged), (6, 6));
    assert_eq!(db.rows(ALL).await, before);
    assert_eq!(db.cursor("erp").await, Some(second));

    mariadb(&[&format!("DROP TABLE {table}")]).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_source_reads_past_its_cursor_and_failures_change_nothing() {
    let db = Db::new("dbpull_query").await;
    db.exec(&format!(
        "CREATE TABLE {}.active (id numeric(20,0) primary key, amount numeric(20,4), updated_at timestamp)",
        db.schema
    ))
    .await;
    let table = erp_table("query").await;
    let yaml = |source: &str, cursor_field: &str| {
        format!(
            "name: active\nsource: {{type: mysql, url: \"{}\", {source}}}\n\
             incremental: {{cursor_field: {cursor_field}, tie_breaker: id}}\n\
             target: {{table: {}.active, mode: upsert, key: [id]}}\n",
            mysql_url(),
            db.schema
        )
    };
    let query = format!(
        "query: \"SELECT id, amount, updated_at FROM {table} WHERE flag = 1 AND {{incremental}}\""
    );
    let s = spec(&yaml(&query, "updated_at"));
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    result.unwrap();
    assert_eq!(summary.rows_read, 2);
    let all = "SELECT id::text, amount::text, updated_at::text FROM {s}.active a ORDER BY a.id";
    assert_eq!(
        db.rows(all).await,
        [
            row(&[
                Some("1"),
                Some("1234567890123456.7891"),
                Some("2026-01-01 00:00:01")
            ]),
            row(&[
                Some("18446744073709551000"),
                Some("1.5000"),
                Some("2026-01-01 00:00:03.5")
            ]),
        ]
    );
    let stored = at("2026-01-01 00:00:03.500000", "18446744073709551000");
    assert_eq!(db.cursor("active").await, Some(stored.clone()));
    // Past the cursor, the query's own condition still applies.
    mariadb(&[
        &format!("UPDATE {table} SET updated_at = '2026-01-02' WHERE id IN (3, 5)"),
        &format!("UPDATE {table} SET flag = 1, updated_at = '2026-01-03' WHERE id = 3"),
    ])
    .await;
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    result.unwrap();
    assert_eq!((summary.rows_read, summary.rows_inserted), (1, 1));
    let stored = at("2026-01-03 00:00:00", "3");
    assert_eq!(db.cursor("active").await, Some(stored.clone()));
    let loaded = db.rows(all).await;
    assert_eq!(loaded.len(), 3);

    mariadb(&[&format!(
        "UPDATE {table} SET updated_at = '2026-02-01' WHERE id = 1"
    )])
    .await;
    // A cursor field the table does not have: an error naming it; nothing changes.
    let missing = spec(&yaml(&format!("table: {table}"), "modified_at"));
    let e = run(&db, &missing, PullOptions::default())
        .await
        .0
        .unwrap_err();
    assert!(e.to_string().contains("modified_at"), "{e}");
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(db.rows(all).await, loaded);
    assert_eq!(db.cursor("active").await, Some(stored.clone()));

    // SQL that MariaDB refuses: exit code 2, said clearly; nothing changes.
    let bad = spec(&yaml(
        &format!("query: \"SELEC id FROM {table} WHERE {{incremental}}\""),
        "updated_at",
    ));
    let e = run(&db, &bad, PullOptions::default()).await.0.unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("MariaDB/MySQL 127.0.0.1:3306/test: the query failed")
            && message.contains("SQL syntax"),
        "{message}"
    );
    assert_eq!(e.exit_code(), 2, "{message}");
    assert_eq!(db.rows(all).await, loaded);
    assert_eq!(db.cursor("active").await, Some(stored));

    mariadb(&[&format!("DROP TABLE {table}")]).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_from_the_environment_logs_in_and_is_never_shown() {
    let db = Db::new("dbpull_pw").await;
    db.exec(&format!("CREATE TABLE {}.erp {TARGET}", db.schema))
        .await;
    let table = erp_table("pw").await;
    let user = format!("it_pull_pw_{}", std::process::id());
    let (good, wrong) = ("G00d-pw-Zx81!", "Wr0ng-pw-Qy72!");
    mariadb(&[
        &format!("DROP USER IF EXISTS '{user}'@'%'"),
        &format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{good}'"),
        &format!("GRANT SELECT ON test.{table} TO '{user}'@'%'"),
    ])
    .await;
    // SAFETY: set before any thread of this test reads the environment; names of its own.
    unsafe {
        std::env::set_var("IT_PULL_GOOD_PW", good);
        std::env::set_var("IT_PULL_WRONG_PW", wrong);
    }
    let url = mysql_url().replacen("root@", &format!("{user}@"), 1);
    let yaml = |var: &str| {
        format!(
            "name: erp\nsource: {{type: mysql, url: \"{url}\", password: \"${{env:{var}}}\", table: {table}}}\n\
             incremental: {{cursor_field: updated_at, tie_breaker: id}}\n\
             target: {{table: {}.erp, mode: upsert, key: [id]}}\n",
            db.schema
        )
    };
    // The wrong one: refused, a retry may cure (3), its value in no message.
    let e = run(
        &db,
        &spec(&yaml("IT_PULL_WRONG_PW")),
        PullOptions::default(),
    )
    .await
    .0
    .unwrap_err();
    let (message, debug) = (e.to_string(), format!("{e:?}"));
    assert!(message.contains("Access denied"), "{message}");
    assert!(
        !message.contains(wrong) && !debug.contains(wrong),
        "{debug}"
    );
    assert!(!message.contains(good) && !debug.contains(good), "{debug}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        (db.count("erp", "true").await, db.cursor("erp").await),
        (0, None)
    );
    // The right one logs in.
    let (result, summary) = run(&db, &spec(&yaml("IT_PULL_GOOD_PW")), PullOptions::default()).await;
    result.unwrap();
    assert_eq!((summary.rows_read, db.count("erp", "true").await), (5, 5));
    assert_eq!(
        db.cursor("erp").await,
        Some(at("2026-01-01 00:00:03.500000", "18446744073709551000"))
    );

    mariadb(&[
        &format!("DROP USER '{user}'@'%'"),
        &format!("DROP TABLE {table}"),
    ])
    .await;
    db.drop().await;
}

/// A source table in a schema of its own in the same database, and the spec reading it.
async fn pg_source(db: &Db, src: &str) -> SourceSpec {
    db.exec(&format!(
        "DROP SCHEMA IF EXISTS {src} CASCADE; CREATE SCHEMA {src};
         CREATE TABLE {src}.items (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL,
             amount numeric, doc jsonb, tags text[]);
         INSERT INTO {src}.items VALUES
           (1, '2026-03-01 10:00:00.25+02', 123456789012345678901234567890.123456789,
            '{{\"n\": 12345678901234567890, \"s\": \"café\"}}', ARRAY['a', 'b,c', NULL]),
           (2, '2026-03-01 08:00:00.25+00', -0.5, '[]', '{{}}'),
           (7, '2026-03-01 08:00:00.25+00', NULL, NULL, NULL),
           (4, '2026-02-01 00:00:00+00', 0, 'null', ARRAY['x']);
         CREATE TABLE {}.items (id bigint PRIMARY KEY, updated_at timestamptz,
             amount numeric, doc jsonb, tags text[]);",
        db.schema
    ))
    .await;
    spec(&format!(
        "name: items\nsource: {{type: postgres, url: \"{}\", table: {src}.items}}\n\
         incremental: {{cursor_field: updated_at, tie_breaker: id}}\n\
         target: {{table: {}.items, mode: upsert, key: [id]}}\n",
        db.url, db.schema
    ))
}

const ITEMS: &str = "SELECT id::text, updated_at::text, amount::text, doc::text, tags::text FROM {s}.items i ORDER BY i.id";

/// The stored cursor as (instant, tie).
async fn pg_cursor(db: &Db, name: &str) -> Option<(chrono::DateTime<chrono::Utc>, String)> {
    db.cursor(name)
        .await
        .map(|c| (instant(&c.value).expect("an instant"), c.tie.unwrap()))
}

fn utc(text: &str) -> chrono::DateTime<chrono::Utc> {
    instant(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_arrive_typed_and_incrementally() {
    let db = Db::new("dbpull_pg").await;
    db.exec("SET TIME ZONE 'UTC'").await;
    let src = format!("it_dbpull_pgsrc_{}", std::process::id());
    let s = pg_source(&db, &src).await;
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    result.unwrap();
    assert_eq!((summary.rows_read, summary.rows_inserted), (4, 4));
    assert_eq!(
        db.rows(ITEMS).await,
        [
            row(&[
                Some("1"),
                Some("2026-03-01 08:00:00.25+00"),
                Some("123456789012345678901234567890.123456789"),
                Some(r#"{"n": 12345678901234567890, "s": "café"}"#),
                Some(r#"{a,"b,c",NULL}"#),
            ]),
            row(&[
                Some("2"),
                Some("2026-03-01 08:00:00.25+00"),
                Some("-0.5"),
                Some("[]"),
                Some("{}"),
            ]),
            row(&[
                Some("4"),
                Some("2026-02-01 00:00:00+00"),
                Some("0"),
                Some("null"),
                Some("{x}")
            ]),
            row(&[
                Some("7"),
                Some("2026-03-01 08:00:00.25+00"),
                None,
                None,
                None
            ]),
        ]
    );
    // Three rows share the largest instant (one written at +02): the largest id wins.
    let first = (utc("2026-03-01T08:00:00.25Z"), "7".to_string());
    assert_eq!(pg_cursor(&db, "items").await, Some(first));

    // A row at the cursor's instant with a larger id, one with a smaller id (behind the
    // cursor: not read), and an update.
    db.exec(&format!(
        "INSERT INTO {src}.items VALUES (8, '2026-03-01 08:00:00.25+00', 8, '{{}}', ARRAY['new']),
                                        (3, '2026-03-01 08:00:00.25+00', 3, NULL, NULL);
         UPDATE {src}.items SET amount = 99.99, tags = ARRAY['u'], updated_at = '2026-03-02 00:00:00+00' WHERE id = 4;"
    ))
    .await;
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    result.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_inserted,
            summary.rows_updated
        ),
        (2, 1, 1)
    );
    assert_eq!(
        db.rows("SELECT id::text, amount::text, tags::text FROM {s}.items i WHERE i.id IN (3, 4, 8) ORDER BY i.id")
            .await,
        [
            row(&[Some("4"), Some("99.99"), Some("{u}")]),
            row(&[Some("8"), Some("8"), Some("{new}")]),
        ]
    );
    let second = (utc("2026-03-02T00:00:00Z"), "4".to_string());
    assert_eq!(pg_cursor(&db, "items").await, Some(second.clone()));
    // Nothing new, then `full`: everything (id 3 too), the cursor where it was.
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    result.unwrap();
    assert_eq!(summary.rows_read, 0);
    let (result, summary) = run(&db, &s, full()).await;
    result.unwrap();
    assert_eq!((summary.rows_read, summary.rows_inserted), (6, 1));
    assert_eq!(db.count("items", "true").await, 6);
    assert_eq!(pg_cursor(&db, "items").await, Some(second));

    db.exec(&format!("DROP SCHEMA {src} CASCADE")).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_of_a_database_source_writes_nothing() {
    let db = Db::new("dbpull_dry").await;
    db.exec(&format!("CREATE TABLE {}.erp {TARGET}", db.schema))
        .await;
    let table = erp_table("dry").await;
    let s = spec(&format!(
        "name: erp\nsource: {{type: mysql, url: \"{}\", table: {table}}}\n\
         incremental: {{cursor_field: updated_at, tie_breaker: id}}\n\
         target: {{table: {}.erp, mode: upsert, key: [id]}}\n",
        mysql_url(),
        db.schema
    ));
    // A first run, dry: every row read and checked, none written, no cursor.
    let (result, summary) = run(&db, &s, dry()).await;
    let outcome = result.unwrap();
    assert_eq!(summary.rows_read, 5);
    assert_eq!(outcome.cursor_to, None);
    assert_eq!(
        (db.count("erp", "true").await, db.cursor("erp").await),
        (0, None)
    );
    // After a real run and a change, a dry run reads the change and leaves all as it was.
    run(&db, &s, PullOptions::default()).await.0.unwrap();
    let stored = db.cursor("erp").await.unwrap();
    let before = db.rows(ALL).await;
    mariadb(&[&format!(
        "UPDATE {table} SET amount = -1, updated_at = '2026-05-01' WHERE id = 3"
    )])
    .await;
    let (result, summary) = run(&db, &s, dry()).await;
    let outcome = result.unwrap();
    assert_eq!(summary.rows_read, 1);
    assert_eq!(outcome.cursor_to, Some(stored.clone()));
    assert_eq!(db.rows(ALL).await, before);
    assert_eq!(db.cursor("erp").await, Some(stored));
    mariadb(&[&format!("DROP TABLE {table}")]).await;
    db.drop().await;
}

/// A run of a database source reports the records it read (the job's `stats.pull` and
/// the `ingest_source_records_pulled_total` metric come from these counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_runs_counts_say_what_it_read() {
    let db = Db::new("dbpull_counts").await;
    let src = format!("it_dbpull_cntsrc_{}", std::process::id());
    let s = pg_source(&db, &src).await;
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    let outcome = result.unwrap();
    assert_eq!(summary.rows_read, 4);
    db.exec(&format!("DROP SCHEMA {src} CASCADE")).await;
    db.drop().await;
    assert_eq!(
        outcome.counts.records, 4,
        "the run read 4 rows but counts {:?}",
        outcome.counts
    );
}

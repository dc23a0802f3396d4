//! MariaDB rows read through `open_mysql` come out as the exact text the load coerces, in
//! batches of at most `batch_rows`; errors come before the first batch and never show the
//! password; a source dropped early stops its query.
//!
//! Needs MariaDB on 127.0.0.1:3306 (root, no password, database `test`).

use std::time::{Duration, Instant};

use arrow_array::Array;
use ingest_formats::{RecordSource, SourceBatch, SourceError};
use ingest_sources::db::{DbConnect, DbError, open_mysql};
use ingest_sources::db_query::SourceQuery;
use mysql_async::prelude::Queryable;

const URL: &str = "mysql://root@127.0.0.1:3306/test";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn connect() -> DbConnect {
    DbConnect {
        url: URL.into(),
        password: None,
    }
}

fn query(sql: &str, params: &[&str]) -> SourceQuery {
    SourceQuery {
        sql: sql.into(),
        params: params.iter().map(|p| p.to_string()).collect(),
    }
}

async fn admin(sql: &str) {
    let mut conn = mysql_async::Conn::from_url(URL).await.unwrap();
    // Zero dates can only be written with a permissive sql_mode.
    conn.query_drop("SET sql_mode = '', time_zone = '+00:00'")
        .await
        .unwrap();
    conn.query_drop(sql).await.unwrap();
    conn.disconnect().await.unwrap();
}

type Rows = Vec<Vec<Option<String>>>;

/// Every row as text, checking the batches' size and row numbers on the way.
fn read_all(source: &mut dyn RecordSource, batch_rows: usize) -> Rows {
    assert!(source.column_types().is_none());
    let mut rows = Vec::new();
    while let Some(batch) = source.next_batch().unwrap() {
        let SourceBatch::Text(batch) = batch else {
            panic!("MariaDB batches are text");
        };
        assert!(batch.num_rows() <= batch_rows, "{} rows", batch.num_rows());
        assert!(batch.rejects.is_empty(), "{:?}", batch.rejects);
        assert!(batch.bytes_read > 0);
        for (r, line) in batch.lines.iter().enumerate() {
            assert_eq!(*line, rows.len() as u64 + 1);
            rows.push(
                batch
                    .columns
                    .iter()
                    .map(|c| (!c.is_null(r)).then(|| c.value(r).to_string()))
                    .collect(),
            );
        }
    }
    rows
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn mariadb_rows_are_read_as_exact_text_in_bounded_batches() {
    let rt = runtime();
    let table = format!("it_db_mysql_{}", std::process::id());
    rt.block_on(admin(&format!("DROP TABLE IF EXISTS {table}")));
    rt.block_on(admin(&format!(
        "CREATE TABLE {table} (
            id INT PRIMARY KEY, big BIGINT UNSIGNED, amount DECIMAL(20,4), at DATETIME(6),
            ts TIMESTAMP NULL, day DATE, flag TINYINT(1), doc JSON, name VARCHAR(50),
            data BLOB, dur TIME(6), f DOUBLE, bits BIT(10)
        ) CHARACTER SET utf8mb4"
    )));
    rt.block_on(admin(&format!(
        "INSERT INTO {table} VALUES
         (1, 18446744073709551615, -9999999999999999.9999, '2026-01-02 03:04:05.123456',
          '2026-01-02 03:04:05', '2026-01-02', 1,
          '{{\"n\": 12345678901234567890, \"s\": \"café\"}}', 'héllo 🎉', x'0a1bff',
          '-26:30:00.5', 0.1, b'1000000001'),
         (2, 0, 0.0001, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00', 0,
          '[]', '', x'', '838:59:59', -2.5e-7, b'0'),
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (4, 7, 1.5, '2026-03-04 05:06:07', NULL, '2024-05-00', 0, NULL, 'x', NULL, NULL, 3, NULL),
         (5, 8, 2, NULL, NULL, NULL, NULL, NULL, 'y', NULL, NULL, NULL, NULL),
         (6, 9, 3, NULL, NULL, NULL, NULL, NULL, 'z', NULL, NULL, NULL, NULL),
         (7, 10, 4, NULL, NULL, NULL, NULL, NULL, 'w', NULL, NULL, NULL, NULL)"
    )));

    let handle = rt.handle().clone();
    let sql = format!("SELECT * FROM {table} ORDER BY id");
    let mut source = open_mysql(&handle, &connect(), &query(&sql, &[]), 3).unwrap();
    assert_eq!(
        source.header().unwrap().unwrap(),
        [
            "id", "big", "amount", "at", "ts", "day", "flag", "doc", "name", "data", "dur", "f",
            "bits"
        ]
    );
    let rows = read_all(source.as_mut(), 3);
    assert_eq!(rows.len(), 7);
    assert_eq!(
        rows[0],
        [
            s("1"),
            s("18446744073709551615"),
            s("-9999999999999999.9999"),
            s("2026-01-02 03:04:05.123456"),
            s("2026-01-02 03:04:05"),
            s("2026-01-02"),
            s("1"),
            s("{\"n\": 12345678901234567890, \"s\": \"café\"}"),
            s("héllo 🎉"),
            s("\\x0a1bff"),
            s("-26:30:00.500000"),
            s("0.1"),
            s("513"),
        ]
    );
    // Zero dates are NULL; empty strings and blobs are not.
    assert_eq!(
        rows[1],
        [
            s("2"),
            s("0"),
            s("0.0001"),
            None,
            None,
            None,
            s("0"),
            s("[]"),
            s(""),
            s("\\x"),
            s("838:59:59"),
            s("-0.00000025"),
            s("0"),
        ]
    );
    assert_eq!(rows[2][0], s("3"));
    assert!(rows[2][1..].iter().all(Option::is_none), "{:?}", rows[2]);
    // A date with a zero day is NULL too; a DATETIME at a whole second has no fraction.
    assert_eq!(rows[3][3], s("2026-03-04 05:06:07"));
    assert_eq!(rows[3][5], None);
    assert_eq!(rows[3][11], s("3"));
    assert_eq!(rows[6][8], s("w"));

    // A parameter, sent as such (`?`).
    let sql = format!("SELECT id, name FROM {table} WHERE id > ? ORDER BY id");
    let mut source = open_mysql(&handle, &connect(), &query(&sql, &["5"]), 3).unwrap();
    assert_eq!(source.header().unwrap().unwrap(), ["id", "name"]);
    assert_eq!(
        read_all(source.as_mut(), 3),
        [[s("6"), s("z")], [s("7"), s("w")]]
    );

    // The query's errors come at the start, named.
    let sql = format!("SELECT nope FROM {table}");
    let err = open_mysql(&handle, &connect(), &query(&sql, &[]), 3)
        .err()
        .expect("an unknown column is an error");
    assert!(matches!(err, DbError::Query { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("MariaDB/MySQL 127.0.0.1:3306/test: ") && message.contains("nope"),
        "{message}"
    );

    rt.block_on(admin(&format!("DROP TABLE {table}")));
}

#[test]
fn a_wrong_password_is_refused_without_being_shown() {
    let rt = runtime();
    let password = "Wr0ng-S3cret-pw";
    let connect = DbConnect {
        url: URL.into(),
        password: Some(password.into()),
    };
    let err = open_mysql(rt.handle(), &connect, &query("SELECT 1", &[]), 3)
        .err()
        .expect("a wrong password is an error");
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("Access denied"), "{message}");
    assert!(!message.contains(password) && !format!("{err:?}").contains(password));
    // Nothing listens on port 1.
    let closed = DbConnect {
        url: "mysql://root@127.0.0.1:1/test".into(),
        password: None,
    };
    let err = open_mysql(rt.handle(), &closed, &query("SELECT 1", &[]), 3).err();
    assert!(matches!(err, Some(DbError::Connect { .. })), "{err:?}");
}

#[test]
fn a_source_dropped_early_stops_its_query() {
    let rt = runtime();
    // Tagged so that the processlist finds this test's query and no other.
    let tag = format!("early_stop_{}", std::process::id());
    let sql = format!("SELECT seq, REPEAT('x', 200) AS {tag} FROM seq_1_to_50000000");
    let mut source = open_mysql(rt.handle(), &connect(), &query(&sql, &[]), 1000).unwrap();
    let Some(SourceBatch::Text(first)) = source.next_batch().unwrap() else {
        panic!("a first batch");
    };
    assert_eq!(first.num_rows(), 1000);
    let running = format!(
        "SELECT COUNT(*) FROM information_schema.processlist
         WHERE info LIKE '%{tag}%' AND id <> CONNECTION_ID()"
    );
    let mut conn = rt.block_on(mysql_async::Conn::from_url(URL)).unwrap();
    let before: Option<u64> = rt.block_on(conn.query_first(&running)).unwrap();
    assert_eq!(before, Some(1), "the query runs while its rows are read");
    drop(source);
    let stopped = rt.block_on(async {
        let start = Instant::now();
        // Reading the rest of the 50M rows would take far longer than this.
        while start.elapsed() < Duration::from_secs(5) {
            let n: Option<u64> = conn.query_first(&running).await.unwrap();
            if n == Some(0) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    assert!(stopped, "the query still runs after its source was dropped");
}

#[test]
fn a_connection_lost_mid_stream_is_an_error_of_next_batch() {
    let rt = runtime();
    let tag = format!("lost_{}", std::process::id());
    let sql = format!("SELECT seq AS {tag} FROM seq_1_to_50000000");
    let mut source = open_mysql(rt.handle(), &connect(), &query(&sql, &[]), 1000).unwrap();
    assert!(source.next_batch().unwrap().is_some());
    rt.block_on(async {
        let mut conn = mysql_async::Conn::from_url(URL).await.unwrap();
        let ids: Vec<u64> = conn
            .query(format!(
                "SELECT id FROM information_schema.processlist
                 WHERE info LIKE '%{tag}%' AND id <> CONNECTION_ID()"
            ))
            .await
            .unwrap();
        assert_eq!(ids.len(), 1);
        conn.query_drop(format!("KILL {}", ids[0])).await.unwrap();
    });
    let err = loop {
        match source.next_batch() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("a lost connection is not the end of the rows"),
            Err(e) => break e,
        }
    };
    let SourceError::Next(inner) = &err else {
        panic!("{err:?}");
    };
    let db = inner.downcast_ref::<DbError>().expect("a DbError");
    assert!(
        matches!(db, DbError::Read { rows, .. } if *rows >= 1000),
        "{db:?}"
    );
    assert!(
        db.to_string()
            .starts_with("MariaDB/MySQL 127.0.0.1:3306/test: "),
        "{db}"
    );
    assert!(source.next_batch().unwrap().is_none());
}

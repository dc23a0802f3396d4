//! PostgreSQL rows read through `open_postgres` come out as typed Arrow batches of the
//! query's types (a type without an Arrow counterpart as its text), parameters written in
//! as literals, errors before the first batch; a source dropped early stops its COPY.
//!
//! Needs PostgreSQL (INGEST_TEST_DATABASE_URL, by default
//! postgres://postgres@127.0.0.1:5432/test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, Field, TimeUnit};
use ingest_formats::{RecordSource, SourceBatch, SourceError, TypedBatch};
use ingest_sources::db::{DbConnect, DbError, open_postgres};
use ingest_sources::db_query::SourceQuery;

fn url() -> String {
    std::env::var("INGEST_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn connect() -> DbConnect {
    DbConnect {
        url: url(),
        password: None,
    }
}

fn query(sql: &str, params: &[&str]) -> SourceQuery {
    SourceQuery {
        sql: sql.into(),
        params: params.iter().map(|p| p.to_string()).collect(),
    }
}

async fn client() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

fn read_all(source: &mut dyn RecordSource, batch_rows: usize) -> Vec<TypedBatch> {
    let mut batches: Vec<TypedBatch> = Vec::new();
    while let Some(batch) = source.next_batch().unwrap() {
        let SourceBatch::Typed(batch) = batch else {
            panic!("PostgreSQL batches are typed");
        };
        assert!(batch.num_rows() <= batch_rows, "{} rows", batch.num_rows());
        let expected_first = batches
            .last()
            .map_or(1, |b| b.first_row + b.num_rows() as u64);
        assert_eq!(batch.first_row, expected_first);
        batches.push(batch);
    }
    batches
}

/// Column `c` of every batch as text (Arrow's display of each value), NULL as None.
fn texts(batches: &[TypedBatch], c: usize) -> Vec<Option<String>> {
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for b in batches {
        let a = b.columns[c].as_ref();
        let formatter = ArrayFormatter::try_new(a, &options).unwrap();
        out.extend((0..a.len()).map(|i| (!a.is_null(i)).then(|| formatter.value(i).to_string())));
    }
    out
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn postgres_rows_are_read_as_typed_batches() {
    let rt = runtime();
    let schema = format!("it_db_postgres_{}", std::process::id());
    let admin = rt.block_on(client());
    rt.block_on(admin.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TYPE {schema}.mood AS ENUM ('happy', 'sad');
         CREATE TABLE {schema}.t (
             id int PRIMARY KEY, amount numeric(20,4), big numeric, at timestamptz,
             doc jsonb, tags text[], ip inet, mood {schema}.mood, name text, span interval
         );
         INSERT INTO {schema}.t VALUES
           (1, -9999999999999999.9999, 123456789012345678901234567890.123456789,
            '2026-01-02 03:04:05.123456+00', '{{\"n\": 12345678901234567890, \"s\": \"café\"}}',
            ARRAY['a', 'b,c', NULL], '192.168.0.1/24', 'happy', 'O''Brien', '1 day 02:00:00'),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL),
           (3, 1, 2, '2026-01-01 00:00:00+00', '[]', '{{}}', '::1', 'sad', 'y', '-00:00:01'),
           (4, 0, 0, NULL, NULL, NULL, NULL, NULL, 'z', NULL),
           (5, 0.0001, -1, NULL, NULL, NULL, NULL, NULL, 'w', NULL);"
    )))
    .unwrap();

    let handle = rt.handle().clone();
    // A parameter with a quote in it, and $10-style numbering read whole.
    let sql =
        format!("SELECT * FROM {schema}.t WHERE name = $1 OR id > $2 OR name = $10 ORDER BY id;");
    let params = ["O'Brien", "1", "", "", "", "", "", "", "", "back\\slash"];
    let mut source = open_postgres(&handle, &connect(), &query(&sql, &params), 2).unwrap();
    assert_eq!(
        source.header().unwrap().unwrap(),
        [
            "id", "amount", "big", "at", "doc", "tags", "ip", "mood", "name", "span"
        ]
    );
    let types = source.column_types().unwrap();
    let text_list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    assert_eq!(
        types,
        [
            DataType::Int32,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Utf8,
            text_list,
            DataType::Utf8,
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            DataType::Utf8,
            DataType::Utf8,
        ]
    );
    let batches = read_all(source.as_mut(), 2);
    assert_eq!(batches.len(), 3);
    for b in &batches {
        for (c, t) in b.columns.iter().zip(&types) {
            assert_eq!(c.data_type(), t);
        }
    }
    let ids: Vec<i32> = batches
        .iter()
        .flat_map(|b| b.columns[0].as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    // numeric as its exact text, whatever its size.
    assert_eq!(
        texts(&batches, 1),
        [
            s("-9999999999999999.9999"),
            None,
            s("1.0000"),
            s("0.0000"),
            s("0.0001")
        ]
    );
    assert_eq!(
        texts(&batches, 2)[0],
        s("123456789012345678901234567890.123456789")
    );
    let at = batches[0].columns[3].as_primitive::<TimestampMicrosecondType>();
    assert_eq!(at.value(0), 1_767_323_045_123_456);
    assert!(at.is_null(1));
    assert_eq!(
        texts(&batches, 4)[0],
        s("{\"n\": 12345678901234567890, \"s\": \"café\"}")
    );
    let tags = batches[0].columns[5].as_list::<i32>().value(0);
    let tags = tags.as_string::<i32>();
    assert_eq!(
        tags.iter().collect::<Vec<_>>(),
        [Some("a"), Some("b,c"), None]
    );
    assert!(batches[0].columns[5].is_null(1));
    // inet and interval have no Arrow type: read as their text.
    assert_eq!(
        texts(&batches, 6),
        [s("192.168.0.1/24"), None, s("::1"), None, None]
    );
    assert_eq!(texts(&batches, 7), [s("happy"), None, s("sad"), None, None]);
    assert_eq!(texts(&batches, 8)[0], s("O'Brien"));
    assert_eq!(texts(&batches, 9)[0], s("1 day 02:00:00"));
    assert!(batches[2].bytes_read > batches[0].bytes_read);

    // Only the row the quoted parameter names.
    let sql = format!("SELECT id FROM {schema}.t WHERE name = $1");
    let mut source = open_postgres(&handle, &connect(), &query(&sql, &["O'Brien"]), 2).unwrap();
    let batches = read_all(source.as_mut(), 2);
    assert_eq!(texts(&batches, 0), [s("1")]);

    // The query's errors come at the start, named.
    let sql = format!("SELECT nope FROM {schema}.t");
    let err = open_postgres(&handle, &connect(), &query(&sql, &[]), 2)
        .err()
        .expect("an unknown column is an error");
    assert!(matches!(err, DbError::Query { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("PostgreSQL ") && message.contains("42703") && message.contains("nope"),
        "{message}"
    );
    let err = open_postgres(&handle, &connect(), &query("SELECT $2", &["a"]), 2).err();
    assert!(matches!(err, Some(DbError::Query { .. })), "{err:?}");

    rt.block_on(admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")))
        .unwrap();
}

#[test]
fn an_unreachable_server_is_an_error_at_the_start() {
    let rt = runtime();
    let closed = DbConnect {
        url: "postgres://postgres@127.0.0.1:1/test".into(),
        password: Some("S3cret-pw".into()),
    };
    let err = open_postgres(rt.handle(), &closed, &query("SELECT 1", &[]), 2)
        .err()
        .expect("nothing listens on port 1");
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("PostgreSQL 127.0.0.1:1/test: cannot connect: ")
    );
    assert!(!err.to_string().contains("S3cret-pw"));
}

#[test]
fn a_source_dropped_early_stops_its_copy() {
    let rt = runtime();
    let tag = format!("early_stop_{}", std::process::id());
    // 100M rows, of which only two series of 10k are ever held by the server.
    let sql = format!(
        "SELECT a, b, repeat('x', 200) AS {tag}
         FROM generate_series(1, 10000) a, generate_series(1, 10000) b"
    );
    let mut source = open_postgres(rt.handle(), &connect(), &query(&sql, &[]), 1000).unwrap();
    let Some(SourceBatch::Typed(first)) = source.next_batch().unwrap() else {
        panic!("a first batch");
    };
    assert_eq!(first.num_rows(), 1000);
    let admin = rt.block_on(client());
    let running = format!(
        "SELECT count(*) FROM pg_stat_activity
         WHERE query LIKE '%{tag}%' AND state = 'active' AND pid <> pg_backend_pid()"
    );
    let count = |admin: &tokio_postgres::Client| {
        let row = rt.block_on(admin.query_one(&running, &[])).unwrap();
        row.get::<_, i64>(0)
    };
    assert_eq!(count(&admin), 1, "the COPY runs while its rows are read");
    drop(source);
    let start = Instant::now();
    while count(&admin) > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the COPY still runs after its source was dropped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_connection_lost_mid_stream_is_an_error_of_next_batch() {
    let rt = runtime();
    let tag = format!("lost_{}", std::process::id());
    let sql = format!(
        "SELECT a, b AS {tag} FROM generate_series(1, 10000) a, generate_series(1, 10000) b"
    );
    let mut source = open_postgres(rt.handle(), &connect(), &query(&sql, &[]), 1000).unwrap();
    assert!(source.next_batch().unwrap().is_some());
    let admin = rt.block_on(client());
    let kill = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE query LIKE '%{tag}%' AND pid <> pg_backend_pid()"
    );
    let killed: i64 = rt.block_on(admin.query_one(&kill, &[])).unwrap().get(0);
    assert_eq!(killed, 1);
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
            .starts_with("PostgreSQL 127.0.0.1:5432/test: "),
        "{db}"
    );
    // After the error, the source stays at its end.
    assert!(source.next_batch().unwrap().is_none());
}

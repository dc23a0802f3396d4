//! `POST /v1/tables/{table}/records`: a batch loaded as one load, synchronously; rejects
//! named by the record's position; an Idempotency-Key makes a retry a no-op.

use super::{http, json, serve};
use crate::support::TestDb;

#[test]
fn records_load_once_and_a_bad_batch_writes_nothing() {
    let mut db = TestDb::new("records");
    let queue = format!("{}_q", db.schema);
    db.exec("CREATE TABLE {s}.orders (id bigint primary key, status text, amount numeric(10,2))");
    let server = serve(&db, &queue);
    let p = server.port;
    let url = format!("/v1/tables/{}/records", db.t("orders"));
    let post = |path: &str, headers: &[(&str, &str)], body: &str| {
        http(p, "POST", path, headers, body.as_bytes())
    };

    // A JSON array, with an Idempotency-Key: loaded; the same POST again changes nothing.
    let batch = r#"[{"id": 1, "status": "pago", "amount": "10.5"},
                    {"id": 2, "status": "novo", "amount": 3}]"#;
    let key = [
        ("content-type", "application/json"),
        ("idempotency-key", "batch-1"),
    ];
    let (status, _, body) = post(&url, &key, batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["rows_inserted"], 2);
    db.exec("UPDATE {s}.orders SET status = 'changed here' WHERE id = 1");
    let (status, _, body) = post(&url, &key, batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            json(&body)["replayed"].as_bool(),
            json(&body)["rows_inserted"].as_i64()
        ),
        (Some(true), Some(2))
    );
    assert_eq!(
        db.value("SELECT status FROM {s}.orders WHERE id = 1"),
        "changed here",
        "not loaded twice"
    );
    // The same key with another batch is a conflict.
    let (status, _, _) = post(&url, &key, r#"[{"id": 9}]"#);
    assert_eq!(status, 409);

    // Two bad records: 422 naming each by its position in the batch; nothing written.
    let bad = r#"[{"id": 3, "amount": 1}, {"id": 4, "amount": "abc"}, {"id": 5, "amount": "x"}]"#;
    let (status, _, body) = post(&url, &[], bad);
    assert_eq!(status, 422, "{body}");
    let rejects = json(&body)["rejects"].as_array().unwrap().clone();
    let named: Vec<(i64, &str, &str)> = rejects
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["column"].as_str().unwrap(),
                r["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(named, [(2, "amount", "abc"), (3, "amount", "x")]);
    assert_eq!(db.value("SELECT count(*) FROM {s}.orders"), "2");
    // With max_errors the good one goes in.
    let (status, _, body) = post(&format!("{url}?max_errors=2"), &[], bad);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            json(&body)["rows_inserted"].as_i64(),
            json(&body)["rows_rejected"].as_i64()
        ),
        (Some(1), Some(2))
    );

    // NDJSON, and an upsert whose batch repeats a key: the last wins.
    let (status, _, body) = post(
        &format!("{url}?mode=upsert"),
        &[("content-type", "application/x-ndjson")],
        "{\"id\": 6, \"status\": \"a\"}\n{\"id\": 6, \"status\": \"last\"}\n",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        db.value("SELECT status FROM {s}.orders WHERE id = 6"),
        "last"
    );

    // Not records, a column the table lacks, a table the caller cannot see.
    assert_eq!(post(&url, &[], "[1, ").0, 400);
    assert_eq!(post(&url, &[], r#"[{"id": 10, "nope": 1}]"#).0, 400);
    assert_eq!(post("/v1/tables/no_such_table/records", &[], "[]").0, 404);
    db.exec(&format!("DROP SCHEMA \"{queue}\" CASCADE"));
}

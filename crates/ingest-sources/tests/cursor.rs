//! A source's cursor commits with the load's transaction, and only from the value the run
//! started from.

use ingest_sources::cursor::{self, Cursor, CursorError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_moves_with_its_transaction_and_only_from_where_the_run_started() {
    let url = std::env::var("INGEST_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let schema = ingest_queue::Schema::new(&format!("it_cursor_{}", std::process::id())).unwrap();
    let q = schema.quoted();
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {q} CASCADE"))
        .await
        .unwrap();
    ingest_queue::migrate(&mut client, &schema).await.unwrap();
    let at = |v: &str, tie: &str| Cursor {
        value: v.into(),
        tie: Some(tie.into()),
    };

    assert_eq!(cursor::load(&client, &q, "trips").await.unwrap(), None);
    // A run that rolls back leaves no cursor.
    client.batch_execute("BEGIN").await.unwrap();
    cursor::advance(&client, &q, "trips", None, &at("2026-01-02T00:00:00Z", "7"))
        .await
        .unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(cursor::load(&client, &q, "trips").await.unwrap(), None);
    // One that commits moves it.
    client.batch_execute("BEGIN").await.unwrap();
    cursor::advance(&client, &q, "trips", None, &at("2026-01-02T00:00:00Z", "7"))
        .await
        .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    let first = cursor::load(&client, &q, "trips").await.unwrap();
    assert_eq!(first, Some(at("2026-01-02T00:00:00Z", "7")));
    // A run that started before that commit cannot move it.
    let stale = cursor::advance(&client, &q, "trips", None, &at("2026-01-03T00:00:00Z", "1")).await;
    assert!(matches!(stale, Err(CursorError::Moved { .. })), "{stale:?}");
    let lost = at("2026-01-01T00:00:00Z", "1");
    let stale = cursor::advance(
        &client,
        &q,
        "trips",
        Some(&lost),
        &at("2026-01-03T00:00:00Z", "1"),
    )
    .await;
    assert!(matches!(stale, Err(CursorError::Moved { .. })), "{stale:?}");
    // The run that started from it moves it on.
    cursor::advance(
        &client,
        &q,
        "trips",
        first.as_ref(),
        &at("2026-01-03T00:00:00Z", "2"),
    )
    .await
    .unwrap();
    assert_eq!(
        cursor::load(&client, &q, "trips").await.unwrap(),
        Some(at("2026-01-03T00:00:00Z", "2"))
    );
    client
        .batch_execute(&format!("DROP SCHEMA {q} CASCADE"))
        .await
        .unwrap();
}

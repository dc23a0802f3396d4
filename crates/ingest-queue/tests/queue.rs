//! The queue against a real PostgreSQL: a schema of its own per test.

use std::collections::HashSet;
use std::time::Duration;

use ingest_queue::{Heartbeat, JobState, NewJob, Queue, Schema, migrate};
use serde_json::json;
use tokio_postgres::{Client, NoTls};

fn url() -> String {
    std::env::var("INGEST_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

async fn connect() -> Client {
    let (client, conn) = tokio_postgres::connect(&url(), NoTls)
        .await
        .expect("PostgreSQL for tests");
    tokio::spawn(conn);
    client
}

/// A fresh, migrated schema; dropped first if a previous run left it.
async fn queue(name: &str) -> (Client, Queue) {
    let mut client = connect().await;
    let schema = Schema::new(&format!("itq_{name}_{}", std::process::id())).unwrap();
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            schema.quoted()
        ))
        .await
        .unwrap();
    migrate(&mut client, &schema).await.unwrap();
    (client, Queue::new(schema))
}

fn job(n: i64) -> NewJob {
    NewJob {
        kind: "load".into(),
        payload: json!({"n": n}),
        target_table: Some("public.t".into()),
        awaiting_upload: false,
        max_attempts: 3,
        idempotency_key: None,
        request_hash: None,
        created_by: None,
        source_name: None,
    }
}

async fn drop_schema(client: &Client, q: &Queue) {
    client
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", q.schema().quoted()))
        .await
        .unwrap();
}

#[tokio::test]
async fn migrations_apply_once_even_when_started_together() {
    let schema = Schema::new(&format!("itq_migrate_{}", std::process::id())).unwrap();
    let admin = connect().await;
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            schema.quoted()
        ))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let schema = schema.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = connect().await;
            migrate(&mut c, &schema).await.unwrap()
        }));
    }
    let mut applied = Vec::new();
    for t in tasks {
        applied.extend(t.await.unwrap());
    }
    assert_eq!(
        applied,
        (1..=ingest_queue::LATEST).collect::<Vec<_>>(),
        "each migration applied by exactly one"
    );
    assert_eq!(
        ingest_queue::applied_version(&admin, &schema)
            .await
            .unwrap(),
        ingest_queue::LATEST
    );
    admin
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", schema.quoted()))
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let (client, q) = queue("claim").await;
    for n in 0..200 {
        q.create(&client, &job(n)).await.unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let q = q.clone();
        workers.push(tokio::spawn(async move {
            let c = connect().await;
            let mut got = Vec::new();
            while let Some(j) = q
                .claim(&c, &format!("w{w}"), Duration::from_secs(60))
                .await
                .unwrap()
            {
                assert_eq!(j.state, JobState::Running);
                assert_eq!(j.attempt, 1);
                got.push(j.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 200);
    assert_eq!(distinct.len(), 200);
    drop_schema(&client, &q).await;
}

#[tokio::test]
async fn an_expired_lease_returns_the_job_to_another_worker() {
    let (client, q) = queue("lease").await;
    let (created, _) = q.create(&client, &job(1)).await.unwrap();
    let first = q
        .claim(&client, "dead", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, created.id);
    // Nothing to rescue while the lease holds.
    assert_eq!(q.rescue(&client).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(q.rescue(&client).await.unwrap(), 1);
    let second = q
        .claim(&client, "alive", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempt), (created.id, 2));
    // The old worker, if it was only slow, finds its lease gone and touches nothing.
    let beat = q
        .heartbeat(
            &client,
            created.id,
            "dead",
            Duration::from_secs(60),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(beat, Heartbeat::Lost);
    assert!(
        !q.succeeded(&client, created.id, "dead", &json!({}))
            .await
            .unwrap()
    );
    assert!(
        q.succeeded(&client, created.id, "alive", &json!({"rows": 5}))
            .await
            .unwrap()
    );
    let done = q.get(&client, created.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.stats, Some(json!({"rows": 5})));
    assert_eq!(done.attempt_errors.as_array().unwrap().len(), 1);
    drop_schema(&client, &q).await;
}

#[tokio::test]
async fn retriable_failures_back_off_then_fail_after_max_attempts() {
    let (client, mut q) = queue("retry").await;
    q.backoff.base = Duration::from_secs(30);
    let (created, _) = q.create(&client, &job(1)).await.unwrap();
    for attempt in 1..=3 {
        let j = q
            .claim(&client, "w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(j.attempt, attempt);
        let state = q
            .failed(&client, j.id, "w", "connection reset", true, None)
            .await
            .unwrap();
        if attempt < 3 {
            assert_eq!(state, Some(JobState::Queued));
            let j = q.get(&client, created.id).await.unwrap().unwrap();
            // base 30 s * 2^(attempt-1), times [0.5, 1]
            let wait = (j.run_after - chrono::Utc::now()).num_milliseconds();
            let full = 30_000 * (1 << (attempt - 1));
            assert!(
                wait > full / 2 - 2000 && wait <= full,
                "attempt {attempt}: waits {wait} ms"
            );
            // Not due yet: no worker gets it.
            assert!(
                q.claim(&client, "w", Duration::from_secs(60))
                    .await
                    .unwrap()
                    .is_none()
            );
            client
                .execute(
                    &format!("UPDATE {}.jobs SET run_after = now()", q.schema().quoted()),
                    &[],
                )
                .await
                .unwrap();
        } else {
            assert_eq!(state, Some(JobState::Failed));
        }
    }
    let j = q.get(&client, created.id).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert_eq!(j.attempt_errors.as_array().unwrap().len(), 3);
    assert!(j.finished_at.is_some());
    // A retry asked for by a user runs it again.
    let j = q.retry(&client, created.id).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Queued);
    let j = q
        .claim(&client, "w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.attempt, 4);
    drop_schema(&client, &q).await;
}

#[tokio::test]
async fn a_failure_that_cannot_succeed_on_retry_fails_at_once() {
    let (client, q) = queue("noretry").await;
    let (created, _) = q.create(&client, &job(1)).await.unwrap();
    let j = q
        .claim(&client, "w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let state = q
        .failed(
            &client,
            j.id,
            "w",
            "3 rows rejected",
            false,
            Some(&json!({"rejected": 3})),
        )
        .await
        .unwrap();
    assert_eq!(state, Some(JobState::Failed));
    let j = q.get(&client, created.id).await.unwrap().unwrap();
    assert_eq!(
        (j.attempt, j.error.as_deref()),
        (1, Some("3 rows rejected"))
    );
    assert!(
        q.claim(&client, "w", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    drop_schema(&client, &q).await;
}

#[tokio::test]
async fn cancel_stops_a_queued_job_at_once_and_a_running_one_at_its_heartbeat() {
    let (client, q) = queue("cancel").await;
    let (a, _) = q.create(&client, &job(1)).await.unwrap();
    let (b, _) = q.create(&client, &job(2)).await.unwrap();
    let running = q
        .claim(&client, "w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(running.id, a.id);
    let queued = q.cancel(&client, b.id).await.unwrap().unwrap();
    assert_eq!(queued.state, JobState::Cancelled);
    let asked = q.cancel(&client, a.id).await.unwrap().unwrap();
    assert_eq!(
        (asked.state, asked.cancel_requested),
        (JobState::Running, true)
    );
    let beat = q
        .heartbeat(
            &client,
            a.id,
            "w",
            Duration::from_secs(60),
            &json!({"rows": 10}),
        )
        .await
        .unwrap();
    assert_eq!(beat, Heartbeat::CancelRequested);
    assert!(q.cancelled(&client, a.id, "w").await.unwrap());
    assert_eq!(
        q.get(&client, a.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    // A finished job cannot be cancelled.
    assert_eq!(
        q.cancel(&client, a.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    drop_schema(&client, &q).await;
}

#[tokio::test]
async fn an_idempotency_key_gives_back_the_same_job() {
    let (client, q) = queue("idem").await;
    let mut new = job(1);
    new.idempotency_key = Some("order-feed-2026-11-23".into());
    new.request_hash = Some("h1".into());
    new.awaiting_upload = true;
    let (first, created) = q.create(&client, &new).await.unwrap();
    assert!(created);
    assert_eq!(first.state, JobState::PendingUpload);
    let (again, created) = q.create(&client, &new).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);
    assert_eq!(
        q.request_hash(&client, first.id).await.unwrap().as_deref(),
        Some("h1")
    );
    // An upload job is not claimed before its body is in.
    assert!(
        q.claim(&client, "w", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        q.uploaded(
            &client,
            first.id,
            &serde_json::json!({"url": "s3://b/k.csv"})
        )
        .await
        .unwrap()
    );
    assert!(
        !q.uploaded(
            &client,
            first.id,
            &serde_json::json!({"url": "s3://b/k.csv"})
        )
        .await
        .unwrap(),
        "only once"
    );
    assert_eq!(
        q.claim(&client, "w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    drop_schema(&client, &q).await;
}

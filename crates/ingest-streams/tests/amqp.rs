//! The RabbitMQ adapter against the real broker on 127.0.0.1:5672 (guest/guest; started
//! with `rabbitmq-server -detached` when the port is closed): ids, payloads, multiple
//! acks, the prefetch bound, and redelivery of what was not acknowledged.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use ingest_streams::amqp_queue::AmqpQueue;
use ingest_streams::message::Message;

const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn broker_up() {
    let open = || {
        TcpStream::connect_timeout(&"127.0.0.1:5672".parse().unwrap(), Duration::from_secs(1))
            .is_ok()
    };
    if open() {
        return;
    }
    let _ = std::process::Command::new("rabbitmq-server")
        .arg("-detached")
        .status();
    let started = Instant::now();
    while !open() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "RabbitMQ did not open 127.0.0.1:5672 within 60 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn sha256_hex(body: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Message `n`: even ones carry a message_id, odd ones not (their id is the body's hash).
fn body(n: usize) -> String {
    format!("{{\"n\": {n}}}")
}

fn expected_id(n: usize) -> String {
    if n.is_multiple_of(2) {
        format!("m-{n}")
    } else {
        sha256_hex(body(n).as_bytes())
    }
}

async fn publish(channel: &Channel, queue: &str, range: std::ops::Range<usize>) {
    for n in range {
        let mut properties = BasicProperties::default();
        if n.is_multiple_of(2) {
            properties = properties.with_message_id(format!("m-{n}").as_str().into());
        }
        channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body(n).as_bytes(),
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// Messages until `count` or `deadline` (as consume.rs gathers a batch).
async fn gather(q: &mut AmqpQueue, count: usize, deadline: Duration) -> Vec<Message> {
    let started = Instant::now();
    let mut batch = Vec::new();
    while batch.len() < count {
        let left = deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        batch.extend(q.next(count - batch.len(), left).await.unwrap());
    }
    batch
}

/// Waits until the queue has `expected` ready messages and no consumer: the adapter's
/// connection closed and the broker requeued what it had not acknowledged (a dropped
/// consumer is cancelled first: its unacknowledged deliveries stay with the channel until
/// the channel closes).
async fn wait_ready(channel: &Channel, queue: &str, expected: u32) {
    let started = Instant::now();
    loop {
        let q = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        if q.consumer_count() == 0 && q.message_count() == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} ready and {} consumers, not {expected} and none",
            q.message_count(),
            q.consumer_count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn n_of(m: &Message) -> usize {
    let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
    v["n"].as_u64().unwrap() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_acks_and_redelivery() {
    broker_up();
    let queue = format!(
        "ingest-amqp-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let url = url::Url::parse(&format!("{BROKER}?queue={queue}")).unwrap();

    // A queue that is not there: an error naming it (and nothing declared).
    let missing = url::Url::parse(&format!("{BROKER}?queue={queue}-missing")).unwrap();
    let err = AmqpQueue::connect(&missing, 10).await.err().unwrap();
    assert!(err.contains(&format!("{queue}-missing")), "{err}");
    assert!(!err.contains("guest:guest"), "{err}");

    let admin = Connection::connect(BROKER, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = admin.create_channel().await.unwrap();
    // Deleted at the end; should the test fail first, the broker drops it once unused
    // for ten minutes.
    let mut arguments = FieldTable::default();
    arguments.insert("x-expires".into(), AMQPValue::LongInt(600_000));
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            arguments,
        )
        .await
        .unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    publish(&channel, &queue, 0..500).await;

    // 500 messages in batches of 100, each acknowledged (one multiple ack) after "commit".
    let mut q = AmqpQueue::connect(&url, 100).await.unwrap();
    let mut seen = Vec::new();
    let mut last_tag = 0u64;
    for _ in 0..5 {
        let batch = gather(&mut q, 100, Duration::from_secs(10)).await;
        assert_eq!(batch.len(), 100);
        for m in &batch {
            assert_eq!(m.partition, "");
            let tag: u64 = m.position.parse().unwrap();
            assert!(tag > last_tag, "delivery tags increase");
            last_tag = tag;
        }
        q.ack(&batch).await.unwrap();
        // Acknowledging the same batch again is a no-op (not a channel error).
        q.ack(&batch).await.unwrap();
        seen.extend(batch);
    }
    assert_eq!(last_tag, 500);
    assert!(
        q.next(10, Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty()
    );
    let ns: Vec<usize> = seen.iter().map(n_of).collect();
    assert_eq!(ns, (0..500).collect::<Vec<_>>(), "every payload, in order");
    for m in &seen {
        let n = n_of(m);
        assert_eq!(m.payload.as_ref(), body(n).as_bytes());
        assert_eq!(
            m.id.as_deref(),
            Some(expected_id(n).as_str()),
            "message {n}"
        );
    }
    drop(q);
    // The multiple acks acknowledged all 500 (were one left, it would come back below).
    wait_ready(&channel, &queue, 0).await;

    // 150 more; 100 read (the prefetch holds back the rest) and never acknowledged.
    publish(&channel, &queue, 500..650).await;
    let mut q = AmqpQueue::connect(&url, 100).await.unwrap();
    let unacked = gather(&mut q, 100, Duration::from_secs(10)).await;
    assert_eq!(unacked.len(), 100);
    assert!(
        q.next(50, Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty(),
        "no more than the prefetch count in flight"
    );
    drop(q);
    wait_ready(&channel, &queue, 150).await;

    // Connected again: the same 100 come back (same ids), then the other 50.
    let mut q = AmqpQueue::connect(&url, 100).await.unwrap();
    let again = gather(&mut q, 100, Duration::from_secs(10)).await;
    let ids =
        |ms: &[Message]| -> BTreeSet<String> { ms.iter().map(|m| m.id.clone().unwrap()).collect() };
    assert_eq!(ids(&again), ids(&unacked));
    assert_eq!(again.len(), 100);
    q.ack(&again).await.unwrap();
    let rest = gather(&mut q, 100, Duration::from_secs(2)).await;
    assert_eq!(rest.len(), 50);
    let mut all: Vec<usize> = again.iter().chain(&rest).map(n_of).collect();
    all.sort_unstable();
    assert_eq!(all, (500..650).collect::<Vec<_>>());
    for m in again.iter().chain(&rest) {
        assert_eq!(m.id.as_deref(), Some(expected_id(n_of(m)).as_str()));
    }
    q.ack(&rest).await.unwrap();
    drop(q);
    wait_ready(&channel, &queue, 0).await;

    channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    admin.close(200, "OK".into()).await.unwrap();
}

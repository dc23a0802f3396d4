//! The NATS JetStream adapter against a real server with JetStream on 127.0.0.1:4222
//! (`nats-server -a 127.0.0.1 -p 4222 -js`): a stream of its own, published to with
//! async-nats, read through `NatsStream` in batches, resumed after a stored sequence, started
//! at the end, and carried on after its consumer is lost.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use ingest_streams::message::Message;
use ingest_streams::nats_stream::NatsStream;

const SERVER: &str = "nats://127.0.0.1:4222";

/// A stream of its own (deleted when dropped, even if the test fails) and its subject.
struct TestStream {
    js: jetstream::Context,
    name: String,
    subject: String,
}

impl TestStream {
    async fn new() -> TestStream {
        let client = async_nats::connect(SERVER).await.unwrap_or_else(|e| {
            panic!("no NATS server on {SERVER} ({e}): start one with JetStream (`-js`), as scripts/brokers-up.sh does")
        });
        let js = jetstream::new(client);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("INGEST_TEST_{}_{nanos}", std::process::id());
        let subject = format!("ingest.test.{name}");
        js.create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            storage: stream::StorageType::Memory,
            ..Default::default()
        })
        .await
        .expect("the test stream");
        TestStream { js, name, subject }
    }

    fn url(&self) -> url::Url {
        url::Url::parse(&format!("{SERVER}/{}?consumer=test", self.name)).unwrap()
    }

    /// Publishes `{"n": n}` for each n, in order, and waits for the stream's acks.
    async fn publish(&self, ns: std::ops::RangeInclusive<u64>) {
        let mut acks = Vec::new();
        for n in ns {
            acks.push(
                self.js
                    .publish(self.subject.clone(), payload(n).into())
                    .await
                    .expect("publish"),
            );
        }
        for ack in acks {
            ack.await.expect("the stream's ack");
        }
    }

    async fn consumers(&self) -> Vec<String> {
        let stream = self.js.get_stream(&self.name).await.unwrap();
        let mut names = stream.consumer_names();
        let mut out = Vec::new();
        while let Some(n) = names.next().await {
            out.push(n.unwrap());
        }
        out
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let js = self.js.clone();
        let name = self.name.clone();
        // The test's runtime is going away: delete from a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(5), js.delete_stream(&name)).await;
                })
        })
        .join();
    }
}

fn payload(n: u64) -> String {
    format!("{{\"n\": {n}}}")
}

/// Checks that `got` are exactly the messages `from..=to`, in order.
fn assert_messages(got: &[Message], from: u64, to: u64) {
    let positions: Vec<u64> = got.iter().map(|m| m.position.parse().unwrap()).collect();
    assert_eq!(positions, (from..=to).collect::<Vec<_>>());
    for (m, n) in got.iter().zip(from..) {
        assert_eq!(m.partition, "");
        assert_eq!(m.id, None);
        assert_eq!(std::str::from_utf8(&m.payload).unwrap(), payload(n));
    }
}

/// Reads until `count` messages came, in batches of at most `max`; panics after 20 s.
async fn read(reader: &mut NatsStream, count: usize, max: usize) -> Vec<Message> {
    let started = Instant::now();
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {} of {count} messages came",
            out.len()
        );
        let got = reader
            .next(max, Duration::from_millis(500))
            .await
            .expect("next");
        assert!(got.len() <= max, "{} messages asked for {max}", got.len());
        out.extend(got);
    }
    assert_eq!(out.len(), count, "more messages than were published");
    out
}

/// Nothing more comes within `wait`.
async fn assert_idle(reader: &mut NatsStream, wait: Duration) {
    let started = Instant::now();
    let got = reader.next(100, wait).await.expect("next");
    assert!(got.is_empty(), "unexpected messages: {got:?}");
    assert!(
        started.elapsed() >= wait.mul_f64(0.8),
        "an empty next came back after {:?}, before its wait of {wait:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_resumes_starts_latest_and_survives_a_lost_consumer() {
    let stream = TestStream::new().await;
    stream.publish(1..=1000).await;

    // From the first message: 1,000 there, so ten full batches of 100.
    let mut reader = NatsStream::connect(&stream.url(), None, false)
        .await
        .expect("connect");
    let mut all = Vec::new();
    for _ in 0..10 {
        let batch = reader
            .next(100, Duration::from_secs(5))
            .await
            .expect("next");
        assert_eq!(batch.len(), 100, "a batch short of what the stream holds");
        all.extend(batch);
    }
    assert_messages(&all, 1, 1000);
    assert_idle(&mut reader, Duration::from_millis(300)).await;

    // Messages published while the reader reads, and one awaited: the wait ends with it.
    let publisher = {
        let js = stream.js.clone();
        let subject = stream.subject.clone();
        tokio::spawn(async move {
            for n in 1001..=1200u64 {
                js.publish(subject.clone(), payload(n).into())
                    .await
                    .unwrap()
                    .await
                    .unwrap();
                if n % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    let more = read(&mut reader, 200, 30).await;
    publisher.await.unwrap();
    assert_messages(&more, 1001, 1200);
    let late = {
        let js = stream.js.clone();
        let subject = stream.subject.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            js.publish(subject, payload(1201).into())
                .await
                .unwrap()
                .await
                .unwrap();
        })
    };
    let started = Instant::now();
    let got = reader.next(100, Duration::from_secs(10)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a message that came during the wait did not end it ({:?})",
        started.elapsed()
    );
    late.await.unwrap();
    assert_messages(&got, 1201, 1201);

    // A call given up half-way (its pull request still waiting on the server), then a
    // message: the next call still returns it.
    let given_up = tokio::time::timeout(
        Duration::from_millis(200),
        reader.next(10, Duration::from_secs(3)),
    )
    .await;
    assert!(given_up.is_err(), "nothing to read, yet the call ended");
    stream.publish(1202..=1202).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_messages(&read(&mut reader, 1, 10).await, 1202, 1202);

    // The server loses our consumer (as an idle ephemeral one is): made again, from the
    // message after the last one returned.
    for name in stream.consumers().await {
        stream
            .js
            .delete_consumer_from_stream(&name, &stream.name)
            .await
            .unwrap();
    }
    stream.publish(1203..=1210).await;
    let started = Instant::now();
    assert_messages(&read(&mut reader, 8, 100).await, 1203, 1210);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "a lost consumer was made again only after {:?}",
        started.elapsed()
    );
    assert_idle(&mut reader, Duration::from_millis(300)).await;
    drop(reader);

    // Resumed after a stored sequence: from 501 on, whatever `start_latest` says.
    for start_latest in [false, true] {
        let mut resumed = NatsStream::connect(&stream.url(), Some(500), start_latest)
            .await
            .expect("connect after 500");
        assert_messages(&read(&mut resumed, 710, 100).await, 501, 1210);
        assert_idle(&mut resumed, Duration::from_millis(200)).await;
    }
    // After the last message: nothing until a new one.
    let mut at_end = NatsStream::connect(&stream.url(), Some(1210), false)
        .await
        .unwrap();
    assert_idle(&mut at_end, Duration::from_millis(200)).await;

    // A position past the stream's end (a stream made anew under the same name) is refused.
    let err = NatsStream::connect(&stream.url(), Some(5000), false)
        .await
        .err()
        .expect("a position past the end");
    assert!(err.contains("past its last message (1210)"), "{err}");

    // From the end: the 1,210 already there are skipped, new ones read.
    let mut latest = NatsStream::connect(&stream.url(), None, true)
        .await
        .expect("connect at the end");
    assert_idle(&mut latest, Duration::from_millis(300)).await;
    stream.publish(1211..=1215).await;
    assert_messages(&read(&mut latest, 5, 100).await, 1211, 1215);
    assert_messages(&read(&mut at_end, 5, 2).await, 1211, 1215);
    assert_idle(&mut latest, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn urls_name_their_stream() {
    let no_stream = url::Url::parse(&format!("{SERVER}/?consumer=test")).unwrap();
    let err = NatsStream::connect(&no_stream, None, false)
        .await
        .err()
        .expect("no stream named");
    assert!(err.contains("name the stream"), "{err}");
    let missing = url::Url::parse(&format!("{SERVER}/INGEST_NO_SUCH_STREAM")).unwrap();
    let err = NatsStream::connect(&missing, None, false)
        .await
        .err()
        .expect("no such stream");
    assert!(err.contains("INGEST_NO_SUCH_STREAM"), "{err}");
}

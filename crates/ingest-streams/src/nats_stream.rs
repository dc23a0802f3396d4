//! NATS JetStream: a stream read through an ephemeral pull consumer of our own (no
//! acknowledgements: `AckPolicy::None`), started right after the consumer's position kept in
//! PostgreSQL (a stream sequence), never from a durable consumer's state on the server.
//!
//! Every message read is checked against the consumer's delivery sequence, and the consumer
//! is made anew right after the last message returned whenever that cannot be trusted: a
//! gap (the server delivered messages that never reached us: a reconnect), a `next` given up
//! half-way (its pull request may still take messages), a consumer the server dropped (idle
//! too long: its pulls get no answer at all). So each message of the stream is returned
//! once, in order, whatever happens between two calls. Memory: one call asks for at most
//! `max` messages.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;

use crate::message::Message;

/// How long the server keeps our ephemeral consumer without a pull: longer than a batch's
/// load takes, as a rule (one that outlives it is made again, from the last message returned).
const INACTIVE: Duration = Duration::from_secs(300);

/// The shortest wait worth a waiting pull request.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// How long the server has to answer a pull request beyond the request's own wait (a no-wait
/// pull is answered at once): past it, the consumer is taken as gone and made anew.
const FIRST_ANSWER: Duration = Duration::from_secs(3);

/// How long the server has for the next message of an answer under way, or to answer a
/// request of the API.
const ANSWER: Duration = Duration::from_secs(10);

pub struct NatsStream {
    jetstream: jetstream::Context,
    stream: String,
    description: String,
    /// The pull consumer and the delivery sequence of the last message of it we returned;
    /// `None` until made (again). Boxed: its cached info is large.
    consumer: Option<Box<(jetstream::consumer::PullConsumer, u64)>>,
    /// A call is under way: still set when `next` begins, the last one was given up.
    busy: bool,
    /// The stream sequence of the last message returned (or the stored one); `None`: none
    /// yet, read from the stream's first message.
    after: Option<u64>,
    /// The messages after the last one read, as the server counted them at the last read.
    pending: Option<u64>,
}

/// What a pull request gave before it ended.
struct Pulled {
    messages: Vec<Message>,
    /// Why the consumer cannot be trusted any more (a gap, an error): made anew before the
    /// next pull.
    broken: Option<String>,
}

impl NatsStream {
    /// Messages in the stream not read yet (as of the last message read).
    pub fn lag(&self) -> Option<u64> {
        self.pending
    }

    /// `nats://host:port/STREAM?consumer=NAME` (`tls://` for TLS; the stream's name is the
    /// path; user and password or a token may come in the URL). `after`: the stored stream
    /// sequence to resume after (None: from the first message, or from new messages only
    /// when `start_latest`).
    pub async fn connect(
        url: &url::Url,
        after: Option<u64>,
        start_latest: bool,
    ) -> Result<NatsStream, String> {
        let stream = url.path().trim_matches('/').to_string();
        if stream.is_empty() || stream.contains('/') {
            return Err("nats://host:port/STREAM: name the stream in the path".into());
        }
        let name = url
            .query_pairs()
            .find(|(k, _)| k == "consumer" || k == "group")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut server = url.clone();
        server.set_path("");
        server.set_query(None);
        server.set_fragment(None);
        let addr = async_nats::ServerAddr::from_url(server).map_err(|e| e.to_string())?;
        let client = async_nats::ConnectOptions::new()
            .name("ingest consume")
            .connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let jetstream = jetstream::new(client);
        let info = jetstream
            .get_stream(&stream)
            .await
            .map_err(|e| format!("stream {stream}: {e}"))?;
        let last = info.cached_info().state.last_sequence;
        let after = match after {
            // Sequences only grow: a position past the end is another stream's of that name.
            Some(a) if a > last => {
                return Err(format!(
                    "stream {stream}: the stored position {a} is past its last message ({last}): \
                     was the stream made anew? (then the consumer's positions are to be reset)"
                ));
            }
            Some(a) => Some(a),
            // "New messages only" as a sequence, so that a consumer made again later starts
            // at the same place.
            None if start_latest => Some(last),
            None => None,
        };
        let description = if name.is_empty() {
            "ingest consume".to_string()
        } else {
            format!("ingest consume {name}")
        };
        Ok(NatsStream {
            jetstream,
            stream,
            description,
            consumer: None,
            busy: false,
            // Until a message says: the stream's messages after the position (deleted ones
            // counted too, an upper bound).
            pending: Some(last.saturating_sub(after.unwrap_or(0))),
            after,
        })
    }

    /// Up to `max` messages, waiting up to `wait` for the first; each Message has partition
    /// `""`, position the JetStream stream sequence as decimal text, id None, payload the
    /// message body.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Message>, String> {
        if max == 0 {
            return Ok(Vec::new());
        }
        if self.busy {
            // The last call was given up half-way: what the server delivered to it is lost
            // to us, and its pull request may still be waiting there.
            self.drop_consumer().await;
        }
        self.busy = true;
        let deadline = Instant::now() + wait;
        // A consumer that fails is made again once within a call (the server may have
        // dropped it while we loaded a batch); a second failure is the answer.
        let mut failed = String::new();
        for _ in 0..2 {
            let pulled = match self.pull(max, deadline).await {
                Ok(p) => p,
                Err(e) => {
                    self.busy = false;
                    return Err(e);
                }
            };
            if let Some(reason) = pulled.broken {
                self.drop_consumer().await;
                if pulled.messages.is_empty() {
                    failed = reason;
                    continue;
                }
            }
            self.busy = false;
            return Ok(pulled.messages);
        }
        self.busy = false;
        Err(format!("stream {}: {failed}", self.stream))
    }

    /// What is there now (up to `max`); else the first message within `deadline` and
    /// whatever followed it by then.
    async fn pull(&mut self, max: usize, deadline: Instant) -> Result<Pulled, String> {
        if self.consumer.is_none() {
            self.consumer = Some(Box::new((self.create().await?, 0)));
        }
        let Some((consumer, returned)) = self.consumer.as_deref() else {
            unreachable!("made above");
        };
        let mut state = Reading {
            delivered: *returned,
            after: self.after,
            messages: Vec::new(),
            pending: None,
        };
        let mut broken = state.read(consumer.fetch().max_messages(max)).await;
        if broken.is_none() && state.messages.is_empty() {
            // Nothing there for us: unless the server delivered messages that never reached
            // us (a connection lost, say), which it will not deliver again to this consumer.
            broken = match tokio::time::timeout(ANSWER, consumer.get_info()).await {
                Ok(Ok(info)) if info.delivered.consumer_sequence == state.delivered => None,
                Ok(Ok(info)) => Some(format!(
                    "the server delivered {} messages, {} reached us",
                    info.delivered.consumer_sequence, state.delivered
                )),
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("the consumer's state was not answered".into()),
            };
        }
        if broken.is_none() && state.messages.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left >= MIN_WAIT {
                let first = consumer.batch().max_messages(1).expires(left);
                broken = state.read_batch(first.messages().await, left).await;
                if broken.is_none() && state.messages.len() == 1 && max > 1 {
                    broken = state.read(consumer.fetch().max_messages(max - 1)).await;
                }
            }
        }
        if let Some((_, returned)) = self.consumer.as_deref_mut() {
            *returned = state.delivered;
        }
        if state.pending.is_some() {
            self.pending = state.pending;
        }
        self.after = state.after;
        Ok(Pulled {
            messages: state.messages,
            broken,
        })
    }

    /// A pull consumer from the message after `after` (or the stream's first).
    async fn create(&self) -> Result<jetstream::consumer::PullConsumer, String> {
        let deliver_policy = match self.after {
            Some(a) => jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: a + 1,
            },
            None => jetstream::consumer::DeliverPolicy::All,
        };
        let config = pull::Config {
            description: Some(self.description.clone()),
            deliver_policy,
            ack_policy: jetstream::consumer::AckPolicy::None,
            inactive_threshold: INACTIVE,
            memory_storage: true,
            num_replicas: 1,
            ..Default::default()
        };
        self.jetstream
            .create_consumer_on_stream(config, &self.stream)
            .await
            .map_err(|e| format!("stream {}: a consumer could not be made: {e}", self.stream))
    }

    /// Forgets the consumer, and deletes it on the server if it is still there.
    async fn drop_consumer(&mut self) {
        if let Some((consumer, _)) = self.consumer.take().map(|c| *c) {
            let name = consumer.cached_info().name.clone();
            let _ = tokio::time::timeout(
                ANSWER,
                self.jetstream
                    .delete_consumer_from_stream(&name, &self.stream),
            )
            .await;
        }
    }
}

/// Messages read so far in one call, with the consumer's delivery sequence and the stream
/// sequence they reached.
struct Reading {
    delivered: u64,
    after: Option<u64>,
    messages: Vec<Message>,
    /// The messages after the last one read, as the server counted them.
    pending: Option<u64>,
}

impl Reading {
    /// Reads one no-wait pull (what is there now), until the server ends it.
    async fn read(&mut self, fetch: pull::FetchBuilder<'_>) -> Option<String> {
        self.read_batch(fetch.messages().await, Duration::ZERO)
            .await
    }

    /// Reads a pull request's answer to its end (the server ends a request that waits
    /// `wait` by then); `Some(why)` if the consumer is to be made anew.
    async fn read_batch(
        &mut self,
        batch: Result<pull::Batch, pull::BatchError>,
        wait: Duration,
    ) -> Option<String> {
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => return Some(format!("a pull request failed: {e}")),
        };
        // A consumer the server dropped gets no answer at all (not even "no responders"):
        // its first answer is not waited for long.
        let mut limit = wait + FIRST_ANSWER;
        loop {
            let item = match tokio::time::timeout(limit, batch.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => return None,
                Err(_) => {
                    return Some(format!(
                        "a pull request was not answered within {limit:?} (the consumer is gone?)"
                    ));
                }
            };
            limit = ANSWER;
            let message = match item {
                Ok(m) => m,
                Err(e) => return Some(e.to_string()),
            };
            let (stream_sequence, consumer_sequence, published) = match message.info() {
                Ok(i) => {
                    self.pending = Some(i.pending);
                    (i.stream_sequence, i.consumer_sequence, i.published)
                }
                Err(e) => return Some(format!("a message without its sequences: {e}")),
            };
            if consumer_sequence != self.delivered + 1
                || self.after.is_some_and(|a| stream_sequence <= a)
            {
                return Some(format!(
                    "delivery {consumer_sequence} (stream sequence {stream_sequence}) after delivery {}: messages were missed",
                    self.delivered
                ));
            }
            self.delivered = consumer_sequence;
            self.after = Some(stream_sequence);
            self.messages.push(Message {
                partition: String::new(),
                position: stream_sequence.to_string(),
                id: None,
                key: Some(message.message.subject.to_string()),
                timestamp: i64::try_from(published.unix_timestamp_nanos())
                    .ok()
                    .map(|ns| chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339()),
                payload: message.message.payload,
            });
        }
    }
}

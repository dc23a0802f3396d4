//! RabbitMQ (AMQP 0-9-1) queues: no positions, so a delivery is acknowledged only once its
//! batch committed (one `basic.ack` with `multiple`), and a redelivered message is known by
//! its id (the `message_id` property, else a SHA-256 of the body) kept in PostgreSQL.
//!
//! Manual acknowledgements only: a delivery not acknowledged when the connection closes
//! (the process died, the batch failed) goes back to the queue and is delivered again.
//! The channel's prefetch (`basic.qos`) bounds what is in flight: the batch size.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, Consumer};

use crate::message::Message;

/// How long connecting may take when the URL sets no `connection_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct AmqpQueue {
    /// Kept for its lifetime: dropping the last handle closes the connection, and the
    /// broker requeues what was not acknowledged.
    _connection: Connection,
    channel: Channel,
    consumer: Consumer,
    queue: String,
    /// The highest delivery tag handed out by [`AmqpQueue::next`] (tags count from 1 on
    /// the channel).
    delivered: u64,
    /// The highest delivery tag acknowledged (everything up to it, with `multiple`).
    acked: u64,
    /// The queue's ready messages after the last acknowledgement.
    ready: Option<u64>,
}

impl AmqpQueue {
    /// The queue's ready messages, as the broker counted them after the last batch.
    pub fn lag(&self) -> Option<u64> {
        self.ready
    }

    /// `amqp://user:pass@host:port/VHOST?queue=NAME` (vhost `%2f` = "/"). `prefetch`: the
    /// channel's basic.qos prefetch count (= the batch size: bounded memory).
    ///
    /// `amqps://` connects with TLS (rustls, the system's roots). The URL's other query
    /// parameters (`heartbeat`, `connection_timeout`, `frame_max`, `channel_max`,
    /// `auth_mechanism`) are lapin's. The queue must exist: it is checked (a passive
    /// declare), never declared or purged.
    pub async fn connect(url: &url::Url, prefetch: u16) -> Result<AmqpQueue, String> {
        let queue = url
            .query_pairs()
            .find(|(k, _)| k == "queue")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if queue.is_empty() {
            return Err("amqp://user:pass@host:port/VHOST?queue=NAME: name the queue".into());
        }
        if prefetch == 0 {
            return Err("the prefetch count (the batch size) must be at least 1".into());
        }
        let mut server = url.clone();
        let rest: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "queue")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if rest.is_empty() {
            server.set_query(None);
        } else {
            server.query_pairs_mut().clear().extend_pairs(rest);
        }
        let has_timeout = url.query_pairs().any(|(k, _)| k == "connection_timeout");
        // Errors name the server without its credentials.
        let mut named = server.clone();
        let _ = named.set_username("");
        let _ = named.set_password(None);

        let properties =
            ConnectionProperties::default().with_connection_name("ingest-streams".into());
        let connecting = Connection::connect(server.as_str(), properties);
        let connection = if has_timeout {
            connecting.await
        } else {
            tokio::time::timeout(CONNECT_TIMEOUT, connecting)
                .await
                .map_err(|_| format!("{named}: no connection after {CONNECT_TIMEOUT:?}"))?
        }
        .map_err(|e| format!("{named}: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("{named}: opening a channel: {e}"))?;
        let declared = channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("queue {queue:?} on {named}: {e}"))?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| format!("queue {queue:?}: basic.qos: {e}"))?;
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                // The broker names the consumer.
                "".into(),
                BasicConsumeOptions {
                    no_ack: false,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("queue {queue:?}: basic.consume: {e}"))?;
        Ok(AmqpQueue {
            _connection: connection,
            channel,
            consumer,
            queue,
            delivered: 0,
            acked: 0,
            ready: Some(u64::from(declared.message_count())),
        })
    }

    /// Up to `max` deliveries, waiting up to `wait` for the first (then only those already
    /// received). Each Message: partition "", position = the delivery tag as decimal text,
    /// id = the AMQP message_id property (when not empty), else a hex SHA-256 of the body,
    /// payload = body.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Message>, String> {
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let first = match tokio::time::timeout(wait, self.consumer.next()).await {
            Err(_) => return Ok(out),
            Ok(item) => item,
        };
        let mut item = first;
        loop {
            let delivery = match item {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Err(format!("queue {:?}: {e}", self.queue)),
                None => {
                    return Err(format!(
                        "queue {:?}: the broker cancelled the consumer (the queue deleted, or the channel or connection closed)",
                        self.queue
                    ));
                }
            };
            self.delivered = self.delivered.max(delivery.delivery_tag);
            let id = match delivery.properties.message_id() {
                Some(id) if !id.as_str().is_empty() => id.as_str().to_string(),
                _ => hex(ring::digest::digest(&ring::digest::SHA256, &delivery.data).as_ref()),
            };
            out.push(Message {
                partition: String::new(),
                position: delivery.delivery_tag.to_string(),
                id: Some(id),
                key: Some(delivery.routing_key.to_string()),
                timestamp: delivery
                    .properties
                    .timestamp()
                    .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
                    .map(|t| t.to_rfc3339()),
                payload: Bytes::from(delivery.data),
            });
            if out.len() >= max {
                break;
            }
            match self.consumer.next().now_or_never() {
                Some(next) => item = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// Acknowledges every delivery up to and including `batch`'s last one (basic.ack with
    /// multiple = true). Called only after the batch committed.
    pub async fn ack(&mut self, batch: &[Message]) -> Result<(), String> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let tag: u64 = last
            .position
            .parse()
            .map_err(|_| format!("{:?} is not an AMQP delivery tag", last.position))?;
        if tag <= self.acked {
            // Already acknowledged (with a later batch's multiple ack): acking a tag twice
            // would close the channel (PRECONDITION_FAILED, unknown delivery tag).
            return Ok(());
        }
        if tag > self.delivered {
            return Err(format!(
                "queue {:?}: delivery tag {tag} was not delivered on this channel",
                self.queue
            ));
        }
        self.channel
            .basic_ack(tag, BasicAckOptions { multiple: true })
            .await
            .map_err(|e| format!("queue {:?}: basic.ack: {e}", self.queue))?;
        self.acked = tag;
        // How many wait: a passive declare answers the queue's ready count.
        self.ready = self
            .channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .ok()
            .map(|q| u64::from(q.message_count()));
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

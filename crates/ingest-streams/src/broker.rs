//! The brokers a consumer reads, behind one interface: the next messages, the
//! acknowledgement after a commit (queues), and how far behind the consumer is.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::amqp_queue::AmqpQueue;
use crate::consume::ConsumeOptions;
use crate::kafka_topic::KafkaTopic;
use crate::message::Message;
use crate::nats_stream::NatsStream;
use crate::redis_stream::RedisStream;

/// Why a broker could not be opened.
pub enum Unreachable {
    /// Not a scheme ingest reads.
    Scheme(String),
    /// The broker refused or is not there.
    Broker(String),
}

/// Where the messages come from.
pub enum Broker {
    Redis(RedisStream),
    Kafka(KafkaTopic),
    Nats(Box<NatsStream>),
    Amqp(Box<AmqpQueue>),
}

impl Broker {
    /// Opens the broker of `url`, after the `stored` positions.
    pub async fn connect(
        url: &url::Url,
        options: &ConsumeOptions,
        stored: &BTreeMap<String, String>,
    ) -> Result<Broker, Unreachable> {
        Ok(match url.scheme() {
            "redis" | "rediss" => {
                let after = stored.get("").cloned().unwrap_or_else(|| {
                    if options.start_latest {
                        "$".into()
                    } else {
                        "0".into()
                    }
                });
                Broker::Redis(
                    RedisStream::connect(url, &options.field, after)
                        .await
                        .map_err(Unreachable::Broker)?,
                )
            }
            "kafka" => Broker::Kafka(
                KafkaTopic::connect(url, stored, options.start_latest)
                    .await
                    .map_err(Unreachable::Broker)?,
            ),
            "nats" => {
                let after = stored.get("").and_then(|p| p.parse::<u64>().ok());
                Broker::Nats(Box::new(
                    NatsStream::connect(url, after, options.start_latest)
                        .await
                        .map_err(Unreachable::Broker)?,
                ))
            }
            // Prefetch = the batch: RabbitMQ holds back the rest until the batch is acknowledged.
            "amqp" | "amqps" => Broker::Amqp(Box::new(
                AmqpQueue::connect(url, options.batch_rows.min(u16::MAX as usize) as u16)
                    .await
                    .map_err(Unreachable::Broker)?,
            )),
            other => {
                return Err(Unreachable::Scheme(format!(
                    "{other}:// is not a stream ingest reads (kafka://, amqp://, nats://, redis://)"
                )));
            }
        })
    }

    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Message>, String> {
        match self {
            Broker::Redis(r) => r.next(max, wait).await,
            Broker::Kafka(k) => k.next(max, wait).await,
            Broker::Nats(n) => n.next(max, wait).await,
            Broker::Amqp(q) => q.next(max, wait).await,
        }
    }

    /// After the batch committed: a queue's deliveries are acknowledged (streams have
    /// nothing to acknowledge: the position stored is the acknowledgement).
    pub async fn ack(&mut self, batch: &[Message]) -> Result<(), String> {
        match self {
            Broker::Amqp(q) => q.ack(batch).await,
            _ => Ok(()),
        }
    }

    /// Messages in the source not read yet, where the broker says (Kafka's high watermarks).
    pub fn lag(&self) -> Option<u64> {
        match self {
            Broker::Kafka(k) => Some(k.lag()),
            Broker::Nats(n) => n.lag(),
            Broker::Redis(r) => r.lag(),
            Broker::Amqp(q) => q.lag(),
        }
    }

    /// Whether messages have positions (streams) rather than ids to remember (queues).
    pub fn positioned(&self) -> bool {
        !matches!(self, Broker::Amqp(_))
    }
}

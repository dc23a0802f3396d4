//! Kafka (rskafka, pure Rust): every partition of the topic read from the consumer's own
//! offsets (kept in PostgreSQL with the batches, not committed to the broker's group), a
//! fetch at a time, so memory holds one batch whatever the lag.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use rskafka::client::ClientBuilder;
use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};

use crate::message::Message;

/// The bytes asked of one partition per fetch.
const FETCH_BYTES: i32 = 4 << 20;

struct Partition {
    id: i32,
    client: PartitionClient,
    /// The next offset to read.
    next: i64,
    /// The partition's high watermark at the last fetch.
    high: i64,
}

pub struct KafkaTopic {
    partitions: Vec<Partition>,
    /// The partition to read first next time, so that none is starved.
    turn: usize,
}

impl KafkaTopic {
    /// `kafka://host:port[,host:port]/TOPIC`; `stored` maps a partition's number to the
    /// offset last loaded; a partition without one starts at the earliest record (or the
    /// latest, with `start_latest`).
    pub async fn connect(
        url: &url::Url,
        stored: &BTreeMap<String, String>,
        start_latest: bool,
    ) -> Result<KafkaTopic, String> {
        let topic = url.path().trim_start_matches('/').to_string();
        if topic.is_empty() {
            return Err("kafka://host:port/TOPIC: name the topic in the path".into());
        }
        let brokers: Vec<String> = url
            .host_str()
            .unwrap_or("127.0.0.1")
            .split(',')
            .map(|h| format!("{h}:{}", url.port().unwrap_or(9092)))
            .collect();
        let client = ClientBuilder::new(brokers)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let topics = client.list_topics().await.map_err(|e| e.to_string())?;
        let Some(found) = topics.into_iter().find(|t| t.name == topic) else {
            return Err(format!("no topic {topic:?} on the broker"));
        };
        let mut partitions = Vec::new();
        for id in found.partitions {
            let pc = client
                .partition_client(topic.clone(), id, UnknownTopicHandling::Retry)
                .await
                .map_err(|e| e.to_string())?;
            let next = match stored
                .get(&id.to_string())
                .and_then(|o| o.parse::<i64>().ok())
            {
                Some(done) => done + 1,
                None => {
                    let at = if start_latest {
                        OffsetAt::Latest
                    } else {
                        OffsetAt::Earliest
                    };
                    pc.get_offset(at).await.map_err(|e| e.to_string())?
                }
            };
            partitions.push(Partition {
                id,
                client: pc,
                next,
                high: next,
            });
        }
        Ok(KafkaTopic {
            partitions,
            turn: 0,
        })
    }

    /// Up to `max` records, from each partition in turn; the broker waits up to `wait` for
    /// a partition that has nothing new.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Message>, String> {
        let mut out = Vec::new();
        let n = self.partitions.len();
        let wait_ms = (wait.as_millis() as i32 / n.max(1) as i32).max(1);
        for k in 0..n {
            if out.len() >= max {
                break;
            }
            let p = &mut self.partitions[(self.turn + k) % n];
            let (records, high) = p
                .client
                .fetch_records(p.next, 1..FETCH_BYTES, wait_ms)
                .await
                .map_err(|e| e.to_string())?;
            p.high = high;
            for r in records {
                if r.offset < p.next {
                    continue;
                }
                if out.len() >= max {
                    break;
                }
                p.next = r.offset + 1;
                out.push(Message {
                    partition: p.id.to_string(),
                    position: r.offset.to_string(),
                    id: None,
                    key: r
                        .record
                        .key
                        .as_deref()
                        .map(|k| String::from_utf8_lossy(k).into_owned()),
                    timestamp: Some(r.record.timestamp.to_rfc3339()),
                    payload: Bytes::from(r.record.value.unwrap_or_default()),
                });
            }
        }
        self.turn = (self.turn + 1) % n.max(1);
        Ok(out)
    }

    /// Records in the topic not read yet, by the high watermarks of the last fetches.
    pub fn lag(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| (p.high - p.next).max(0) as u64)
            .sum()
    }
}

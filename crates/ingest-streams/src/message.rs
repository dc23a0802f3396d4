//! A message as a consumer received it, and its records: a JSON object is one record, a
//! JSON array or NDJSON payload several. Records become NDJSON lines for the load, each
//! line remembering its message, so a reject finds the message it came from.

use bytes::Bytes;
use serde_json::value::RawValue;

/// One message of a broker.
#[derive(Debug, Clone)]
pub struct Message {
    /// A Kafka partition's number; `""` for a stream with one.
    pub partition: String,
    /// Where the message is in its partition (offset, sequence, entry id): what the
    /// consumer's position becomes once it is loaded.
    pub position: String,
    /// RabbitMQ's `message_id` (or a hash of the body): what makes a redelivery a no-op.
    pub id: Option<String>,
    /// A Kafka record's key, a NATS subject, a RabbitMQ routing key (for `--meta key`).
    pub key: Option<String>,
    /// When the broker took the message, RFC 3339 (for `--meta timestamp`).
    pub timestamp: Option<String>,
    pub payload: Bytes,
}

/// What a message can add to its records as columns (`--meta partition,offset,...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    Partition,
    Offset,
    Key,
    Timestamp,
}

impl Meta {
    pub const NAMES: &'static str = "partition, offset, key, timestamp";

    pub fn parse(name: &str) -> Option<Meta> {
        match name.trim() {
            "partition" => Some(Meta::Partition),
            "offset" | "position" | "sequence" => Some(Meta::Offset),
            "key" | "subject" | "routing_key" => Some(Meta::Key),
            "timestamp" => Some(Meta::Timestamp),
            _ => None,
        }
    }

    /// The column it fills.
    pub fn column(self) -> &'static str {
        match self {
            Meta::Partition => "partition",
            Meta::Offset => "offset",
            Meta::Key => "key",
            Meta::Timestamp => "timestamp",
        }
    }

    fn value(self, m: &Message) -> Option<&str> {
        match self {
            Meta::Partition => Some(m.partition.as_str()).filter(|p| !p.is_empty()),
            Meta::Offset => Some(m.position.as_str()),
            Meta::Key => m.key.as_deref(),
            Meta::Timestamp => m.timestamp.as_deref(),
        }
    }
}

/// A batch's records as NDJSON, the message of each line (by index in the batch), and the
/// messages that are not JSON records at all, with why.
#[derive(Debug, Default)]
pub struct Records {
    pub ndjson: Vec<u8>,
    /// `line_message[k]` is the message of line `k + 1`.
    pub line_message: Vec<usize>,
    pub unreadable: Vec<(usize, String)>,
}

/// The records of `messages`, in order, each with the `meta` fields asked for (written
/// first; a record's own field of the same name wins over the message's).
pub fn records(messages: &[Message], meta: &[Meta]) -> Records {
    let mut out = Records::default();
    for (i, m) in messages.iter().enumerate() {
        match split(&m.payload) {
            Ok(parts) => {
                for part in parts {
                    let fields: Vec<String> = meta
                        .iter()
                        .filter(|f| !part.contains(&format!("\"{}\"", f.column())))
                        .map(|f| {
                            format!(
                                "{}: {}",
                                serde_json::json!(f.column()),
                                serde_json::json!(f.value(m))
                            )
                        })
                        .collect();
                    // `{`, the meta fields, then the record's own.
                    let body = part.strip_prefix('{').unwrap_or(part).trim_start();
                    out.ndjson.push(b'{');
                    if !fields.is_empty() {
                        out.ndjson.extend_from_slice(fields.join(", ").as_bytes());
                        if !body.starts_with('}') {
                            out.ndjson.extend_from_slice(b", ");
                        }
                    }
                    ingest_formats::json::push_ndjson_line(&mut out.ndjson, body);
                    out.line_message.push(i);
                }
            }
            Err(reason) => out.unreadable.push((i, reason)),
        }
    }
    out
}

/// A payload's records, each an object: one object, an array of them, or NDJSON.
fn split(payload: &[u8]) -> Result<Vec<&str>, String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8 ({e})"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("an empty message".into());
    }
    if trimmed.starts_with('[') {
        let values: Vec<&RawValue> =
            serde_json::from_str(trimmed).map_err(|e| format!("not JSON: {e}"))?;
        return objects(values);
    }
    match serde_json::from_str::<&RawValue>(trimmed) {
        Ok(v) => objects(vec![v]),
        // Several lines: NDJSON.
        Err(first) => {
            let lines: Result<Vec<&RawValue>, _> = trimmed
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str::<&RawValue>)
                .collect();
            match lines {
                Ok(values) if values.len() > 1 => objects(values),
                _ => Err(format!("not JSON: {first}")),
            }
        }
    }
}

/// The records' texts, each an object.
fn objects(values: Vec<&RawValue>) -> Result<Vec<&str>, String> {
    values
        .into_iter()
        .map(|v| {
            let t = v.get().trim();
            if t.starts_with('{') {
                Ok(t)
            } else {
                Err(format!("a record is not a JSON object: {}", short(t)))
            }
        })
        .collect()
}

fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(payload: &str) -> Message {
        Message {
            partition: String::new(),
            position: "1".into(),
            id: None,
            key: Some("k".into()),
            timestamp: None,
            payload: Bytes::from(payload.to_string()),
        }
    }

    #[test]
    fn payloads_become_lines_that_know_their_message() {
        let r = records(
            &[
                m(r#"{"id": 1, "note": "a\nb"}"#),
                m("not json"),
                m(r#"[{"id": 2}, {"id": 3}]"#),
                m("{\"id\": 4}\n{\"id\": 5}\n"),
                m("[1, 2]"),
            ],
            &[],
        );
        assert_eq!(
            String::from_utf8(r.ndjson).unwrap(),
            "{\"id\": 1, \"note\": \"a\\nb\"}\n{\"id\": 2}\n{\"id\": 3}\n{\"id\": 4}\n{\"id\": 5}\n"
        );
        assert_eq!(r.line_message, [0, 2, 2, 3, 3]);
        assert_eq!(
            r.unreadable.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [1, 4]
        );
        assert!(r.unreadable[0].1.starts_with("not JSON"));
        // Meta fields go first; a record's own field of the name stays its own.
        let r = records(
            &[m(r#"{"id": 1}"#), m(r#"{"key": "mine"}"#), m("{}")],
            &[Meta::Key, Meta::Offset],
        );
        assert_eq!(
            String::from_utf8(r.ndjson).unwrap(),
            "{\"key\": \"k\", \"offset\": \"1\", \"id\": 1}\n{\"offset\": \"1\", \"key\": \"mine\"}\n{\"key\": \"k\", \"offset\": \"1\"}\n"
        );
    }
}

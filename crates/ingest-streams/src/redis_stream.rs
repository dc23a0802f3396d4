//! Redis Streams: entries read with `XREAD` from the consumer's own position (kept in
//! PostgreSQL, not in a Redis group), the JSON in the entry's field `data` (or `--field`).

use std::time::Duration;

use bytes::Bytes;
use redis::AsyncCommands;
use redis::streams::{StreamReadOptions, StreamReadReply};

use crate::message::Message;

pub struct RedisStream {
    conn: redis::aio::MultiplexedConnection,
    key: String,
    field: String,
    /// The id read after: the stored position, `0` (the beginning) or `$` (new entries).
    after: String,
}

impl RedisStream {
    /// `redis://host:port/STREAM` (the path is the stream's key).
    pub async fn connect(
        url: &url::Url,
        field: &str,
        after: String,
    ) -> Result<RedisStream, String> {
        let key = url.path().trim_start_matches('/').to_string();
        if key.is_empty() {
            return Err("redis://host:port/STREAM: name the stream in the path".into());
        }
        let mut server = url.clone();
        server.set_path("");
        server.set_query(None);
        let client = redis::Client::open(server.as_str()).map_err(|e| e.to_string())?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        Ok(RedisStream {
            conn,
            key,
            field: field.to_string(),
            after,
        })
    }

    /// Redis does not count the entries after an id cheaply (XRANGE would read them):
    /// no lag is told.
    pub fn lag(&self) -> Option<u64> {
        None
    }

    /// Up to `max` entries after the last one read, waiting up to `wait` for the first.
    pub async fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Message>, String> {
        // The server holds a blocking read for `wait`: the answer may take that long.
        self.conn
            .set_response_timeout(wait + Duration::from_secs(10));
        let options = StreamReadOptions::default()
            .count(max)
            .block(wait.as_millis().max(1) as usize);
        let reply: Option<StreamReadReply> = self
            .conn
            .xread_options(&[&self.key], &[&self.after], &options)
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                let payload = entry
                    .map
                    .get(&self.field)
                    .and_then(|v| redis::from_redis_value::<Vec<u8>>(v.clone()).ok())
                    .unwrap_or_default();
                self.after = entry.id.clone();
                // An entry id is `<milliseconds>-<seq>`: when Redis took it.
                let timestamp = entry
                    .id
                    .split('-')
                    .next()
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339());
                out.push(Message {
                    partition: String::new(),
                    position: entry.id,
                    id: None,
                    key: None,
                    timestamp,
                    payload: Bytes::from(payload),
                });
            }
        }
        Ok(out)
    }
}

//! The consumer: messages gathered into micro-batches (closed on rows, bytes or linger,
//! whichever first), each batch one load into the table with the engine's modes, its
//! positions (and dead letters) written in the load's own transaction. A consumer killed
//! at any moment starts again from the positions stored with the last batch committed.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use ingest_formats::{ByteCounter, RecordSource, json_source};
use ingest_load::{BeforeCommit, LoadError, LoadSummary, Progress, RecordsInput, RejectLimit};
use ingest_pg::ConnectSource;

use crate::broker::{Broker, Unreachable};
use crate::dead_letter::{self, DeadLetter};
use crate::message::{Message, Records, records};
use crate::positions::{self, PositionError};

/// How a consumer runs, beside its source.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    pub database: ConnectSource,
    /// The service's schema (positions, rules); `None`: `INGEST_SCHEMA`, else `ingest`.
    pub service_schema: Option<String>,
    pub table: String,
    /// `insert`, `upsert`, `merge` or `replace`, as `ingest load --mode` takes them.
    pub mode: String,
    pub key: Vec<String>,
    /// Rejected messages tolerated in one batch (without a dead-letter table).
    pub max_errors: String,
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub linger: Duration,
    pub dead_letter: Option<String>,
    /// Begin at the end of the stream when the consumer has no position yet.
    pub start_latest: bool,
    /// The entry field that holds the JSON (Redis).
    pub field: String,
    /// Stop (successfully) after this long without a message; `None`: run until stopped.
    pub until_idle: Option<Duration>,
    /// What of each message becomes columns too (`--meta partition,offset,key,timestamp`).
    pub meta: Vec<crate::message::Meta>,
    /// The service's job this consumer runs as: each rejected message is added to its
    /// rejects (its partition and position as the place), with the batch.
    pub job: Option<uuid::Uuid>,
}

/// A batch size as people write it (`8MB`, `512k`, `1048576`), for `batch_bytes`; the
/// error says what is wrong, its caller names the option.
pub fn parse_byte_size(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_lowercase();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: usize = number
        .parse()
        .map_err(|_| "a size such as 8MB".to_string())?;
    let scale = match unit.trim() {
        "" | "b" => 1,
        "kb" | "k" => 1 << 10,
        "mb" | "m" => 1 << 20,
        "gb" | "g" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (B, kB, MB, GB)")),
    };
    Ok(n * scale)
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("{0}")]
    Usage(String),
    #[error("{source_name}: {message}")]
    Broker {
        source_name: String,
        message: String,
    },
    #[error(transparent)]
    Position(#[from] PositionError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(
        "{count} messages of a batch could not be read as JSON records, more than --max-errors allows (the first: {first}); nothing was acknowledged"
    )]
    Unreadable { count: usize, first: String },
}

impl ConsumeError {
    /// What a reconnect may cure: the broker or the database went away, or another
    /// consumer committed first (the positions are read again).
    fn retriable(&self) -> bool {
        self.exit_code() == 3
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            ConsumeError::Usage(_) => 2,
            ConsumeError::Broker { .. } | ConsumeError::Position(_) => 3,
            ConsumeError::Load(e) => e.exit_code(),
            ConsumeError::Unreadable { .. } => 1,
        }
    }
}

/// What a consumer did so far.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConsumeStats {
    /// What the consumer is doing: `consuming`, or why it waits (another consumer holds
    /// the source, the broker or the database went away and it reconnects).
    pub status: String,
    pub reconnects: u64,
    /// Messages in the source not read yet, as the broker counts them: Kafka's high
    /// watermarks, JetStream's pending count, the queue's ready messages (RabbitMQ); Redis
    /// does not tell.
    pub lag: Option<u64>,
    pub batches: u64,
    pub messages: u64,
    pub rows_written: u64,
    pub rejected: u64,
    pub dead_letters: u64,
    pub positions: BTreeMap<String, String>,
}

/// A source URL without its credentials or its consumer's name: how positions, seen ids
/// and dead letters name it (a RabbitMQ queue is named in the query: it stays).
fn source_name(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "group" && k != "consumer")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.set_query(None);
    if !kept.is_empty() {
        u.query_pairs_mut().extend_pairs(kept);
    }
    u.to_string()
}

/// Consumes `url` as `group` into the table until stopped (or idle, with `until_idle`);
/// `report` sees the stats after each batch.
pub async fn consume(
    url: &str,
    group: &str,
    options: &ConsumeOptions,
    report: &(dyn Fn(&ConsumeStats) + Sync),
) -> Result<ConsumeStats, ConsumeError> {
    let mut stats = ConsumeStats::default();
    let mut backoff = Duration::from_secs(1);
    loop {
        let before = stats.batches;
        match consume_once(url, group, options, report, &mut stats).await {
            Ok(()) => return Ok(stats),
            Err(e) if e.retriable() => {
                if stats.batches > before {
                    backoff = Duration::from_secs(1);
                }
                stats.reconnects += 1;
                stats.status = format!("reconnecting in {} s: {e}", backoff.as_secs());
                report(&stats);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long a consumer waits before trying again for a source another one holds.
const HELD_RETRY: Duration = Duration::from_secs(2);

/// One connection's worth of consuming: until idle (`Ok`) or an error.
async fn consume_once(
    url: &str,
    group: &str,
    options: &ConsumeOptions,
    report: &(dyn Fn(&ConsumeStats) + Sync),
    stats: &mut ConsumeStats,
) -> Result<(), ConsumeError> {
    let parsed =
        url::Url::parse(url).map_err(|e| ConsumeError::Usage(format!("{url}: not a URL ({e})")))?;
    let source = source_name(&parsed);
    let group = parsed
        .query_pairs()
        .find(|(k, _)| k == "group" || k == "consumer")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| group.to_string());
    // Unnamed, a consumer is the source's `default` one.
    let group = if group.is_empty() {
        "default".to_string()
    } else {
        group
    };
    let mut req = ingest_load::args::request(&ingest_load::args::defaults(&options.table))
        .map_err(ConsumeError::Usage)?;
    if let Some(s) = &options.service_schema {
        req.service_schema =
            ingest_queue::Schema::new(s).map_err(|e| ConsumeError::Usage(e.to_string()))?;
    }
    let schema = req.service_schema.quoted();
    let mut client = ingest_pg::connect(&options.database)
        .await
        .map_err(LoadError::from)?;
    // Where positions are kept: created or brought up to date, as `serve` does on start.
    ingest_queue::migrate(&mut client, &req.service_schema)
        .await
        .map_err(|e| ConsumeError::Position(PositionError::Database(e.to_string())))?;
    if let Some(t) = &options.dead_letter {
        dead_letter::ensure(&client, t).await.map_err(|e| {
            ConsumeError::Usage(format!(
                "--dead-letter {t}: {}",
                ingest_queue::full_message(&e)
            ))
        })?;
    }
    // One consumer per source and name at a time, across processes and machines: the
    // lock is the session's, gone with it when the process dies.
    let key = format!("ingest-consumer:{group}:{source}");
    loop {
        let held: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[&key],
            )
            .await
            .map_err(|e| {
                ConsumeError::Position(PositionError::Database(ingest_queue::full_message(&e)))
            })?
            .get(0);
        if held {
            break;
        }
        stats.status = format!("waiting: another consumer {group} of {source} is running");
        report(stats);
        tokio::time::sleep(HELD_RETRY).await;
    }
    let mut stored = positions::load(&client, &schema, &group, &source).await?;
    let broker_err = |message: String| ConsumeError::Broker {
        source_name: source.clone(),
        message,
    };
    let mut broker = Broker::connect(&parsed, options, &stored)
        .await
        .map_err(|e| match e {
            Unreachable::Scheme(m) => ConsumeError::Usage(m),
            Unreachable::Broker(m) => broker_err(m),
        })?;
    let limit: RejectLimit = options
        .max_errors
        .parse()
        .map_err(|e| ConsumeError::Usage(format!("--max-errors {e}")))?;
    stats.positions = stored.clone();
    stats.status = "consuming".into();
    stats.lag = broker.lag();
    let mut idle_since = Instant::now();
    loop {
        let batch = gather(&mut broker, options).await.map_err(broker_err)?;
        if batch.is_empty() {
            if options
                .until_idle
                .is_some_and(|d| idle_since.elapsed() >= d)
            {
                return Ok(());
            }
            continue;
        }
        idle_since = Instant::now();
        // A queue redelivers what was not acknowledged: what was loaded before is skipped.
        let all = batch;
        let batch = if broker.positioned() {
            all.clone()
        } else {
            let ids: Vec<String> = all.iter().filter_map(|m| m.id.clone()).collect();
            let seen = positions::seen(&client, &schema, &group, &source, &ids).await?;
            all.iter()
                .filter(|m| m.id.as_ref().is_none_or(|id| !seen.contains(id)))
                .cloned()
                .collect()
        };
        let recs = records(&batch, &options.meta);
        if options.dead_letter.is_none()
            && !recs.unreadable.is_empty()
            && limit.exceeded(recs.unreadable.len() as u64, batch.len() as u64)
        {
            return Err(ConsumeError::Unreadable {
                count: recs.unreadable.len(),
                first: recs.unreadable[0].1.clone(),
            });
        }
        let outcome = if batch.is_empty() {
            Outcome {
                written: 0,
                rejected: 0,
                dead_letters: 0,
            }
        } else {
            let kept = Kept {
                schema: &schema,
                group: &group,
                source: &source,
                stored: &stored,
                positioned: broker.positioned(),
            };
            load_batch(&req, options, &kept, &batch, &recs).await?
        };
        // Committed: only now may a queue forget the deliveries.
        broker.ack(&all).await.map_err(broker_err)?;
        if broker.positioned() {
            for m in &batch {
                stored.insert(m.partition.clone(), m.position.clone());
            }
        }
        stats.batches += 1;
        stats.messages += batch.len() as u64;
        stats.rows_written += outcome.written;
        stats.rejected += outcome.rejected;
        stats.dead_letters += outcome.dead_letters;
        stats.positions = stored.clone();
        stats.lag = broker.lag();
        report(stats);
    }
}

/// Messages until the batch is full (rows or bytes) or `linger` passed since the first.
async fn gather(broker: &mut Broker, options: &ConsumeOptions) -> Result<Vec<Message>, String> {
    let mut batch: Vec<Message> = Vec::new();
    let mut bytes = 0;
    let started = Instant::now();
    let wait = options.linger.max(Duration::from_millis(10));
    while batch.len() < options.batch_rows && bytes < options.batch_bytes {
        let left = if batch.is_empty() {
            wait
        } else {
            wait.saturating_sub(started.elapsed())
        };
        if left.is_zero() {
            break;
        }
        let got = broker.next(options.batch_rows - batch.len(), left).await?;
        if got.is_empty() {
            break;
        }
        bytes += got.iter().map(|m| m.payload.len()).sum::<usize>();
        batch.extend(got);
    }
    Ok(batch)
}

struct Outcome {
    written: u64,
    rejected: u64,
    dead_letters: u64,
}

/// Where a consumer keeps what it has loaded: positions, or (a queue's) message ids.
struct Kept<'a> {
    schema: &'a str,
    group: &'a str,
    source: &'a str,
    stored: &'a BTreeMap<String, String>,
    positioned: bool,
}

/// One batch as one load; its dead letters and positions (or message ids) commit with its
/// rows.
async fn load_batch(
    base: &ingest_load::LoadRequest,
    options: &ConsumeOptions,
    kept: &Kept<'_>,
    batch: &[Message],
    recs: &Records,
) -> Result<Outcome, ConsumeError> {
    let (schema, group, source, stored) = (kept.schema, kept.group, kept.source, kept.stored);
    let ids: Vec<String> = if kept.positioned {
        Vec::new()
    } else {
        batch.iter().filter_map(|m| m.id.clone()).collect()
    };
    let mut req = base.clone();
    let mut args = ingest_load::args::defaults(&options.table);
    args.mode = match options.mode.as_str() {
        "upsert" => ingest_load::args::Mode::Upsert,
        "merge" => ingest_load::args::Mode::Merge,
        "replace" => ingest_load::args::Mode::Replace,
        _ => ingest_load::args::Mode::Insert,
    };
    args.key = options.key.clone();
    args.max_errors = if options.dead_letter.is_some() {
        "100%".into()
    } else {
        options.max_errors.clone()
    };
    let shaped = ingest_load::args::request(&args).map_err(ConsumeError::Usage)?;
    req.mode = shaped.mode;
    req.key = shaped.key;
    req.max_errors = shaped.max_errors;
    req.database = options.database.clone();
    req.allow_empty = true;
    req.file = "messages".into();
    let errors = tempfile::Builder::new()
        .suffix(".ndjson")
        .tempfile()
        .map_err(|e| ConsumeError::Usage(e.to_string()))?;
    req.errors_file = Some(errors.path().to_path_buf());
    let ndjson = bytes::Bytes::from(recs.ndjson.clone());
    req.records = Some(RecordsInput {
        label: "messages",
        open: Arc::new(move || {
            Ok(Box::new(json_source(
                Box::new(Cursor::new(ndjson.clone())),
                Default::default(),
                ByteCounter::default(),
            )) as Box<dyn RecordSource>)
        }),
    });
    // The last position of each partition in the batch (a queue's have none).
    let mut ends: BTreeMap<String, String> = BTreeMap::new();
    if kept.positioned {
        for m in batch {
            ends.insert(m.partition.clone(), m.position.clone());
        }
    }
    let dead = Arc::new(Mutex::new(0u64));
    let commit = {
        let (schema, group, source) = (schema.to_string(), group.to_string(), source.to_string());
        let (stored, dead_table, errors_path) = (
            stored.clone(),
            options.dead_letter.clone(),
            errors.path().to_path_buf(),
        );
        let unreadable: Vec<(usize, String)> = recs.unreadable.clone();
        let line_message = recs.line_message.clone();
        let (job, service_schema) = (options.job, req.service_schema.clone());
        let messages: Vec<Message> = batch.to_vec();
        let dead = dead.clone();
        BeforeCommit(Arc::new(move |client, _summary| {
            let service_schema = service_schema.clone();
            let (schema, group, source, stored, ends, ids) = (
                schema.clone(),
                group.clone(),
                source.clone(),
                stored.clone(),
                ends.clone(),
                ids.clone(),
            );
            let (dead_table, errors_path, unreadable, line_message, messages, dead) = (
                dead_table.clone(),
                errors_path.clone(),
                unreadable.clone(),
                line_message.clone(),
                messages.clone(),
                dead.clone(),
            );
            async move {
                let letters = dead_letters(&messages, &unreadable, &line_message, &errors_path);
                if let Some(job) = job {
                    let rows: Vec<ingest_queue::RejectRow> = letters
                        .iter()
                        .map(|l| ingest_queue::RejectRow {
                            line: l.position.parse().unwrap_or(0),
                            column: None,
                            value: Some(l.payload.chars().take(10_000).collect()),
                            reason: l.reason.clone(),
                            file: Some(format!("{source} at {}", l.position)),
                        })
                        .collect();
                    ingest_queue::Queue::new(service_schema.clone())
                        .append_rejects(client, job, &rows)
                        .await
                        .map_err(|e| format!("the job's rejects: {e}"))?;
                }
                if let Some(table) = &dead_table {
                    *dead.lock().expect("not poisoned") = letters.len() as u64;
                    dead_letter::insert(client, table, &source, &letters)
                        .await
                        .map_err(|e| {
                            format!(
                                "the dead-letter table {table}: {}",
                                ingest_queue::full_message(&e)
                            )
                        })?;
                }
                for (partition, to) in &ends {
                    positions::advance(
                        client,
                        &schema,
                        &group,
                        &source,
                        partition,
                        stored.get(partition).map(String::as_str),
                        to,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                if !ids.is_empty() {
                    positions::mark_seen(client, &schema, &group, &source, &ids)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            .boxed()
        }))
    };
    req.before_commit = Some(commit.clone());
    if recs.ndjson.is_empty() {
        // Nothing to load (every message unreadable): the dead letters and the positions
        // still commit together.
        let client = ingest_pg::connect(&options.database)
            .await
            .map_err(LoadError::from)?;
        let db = |e: tokio_postgres::Error| {
            ConsumeError::Position(PositionError::Database(ingest_queue::full_message(&e)))
        };
        client.batch_execute("BEGIN").await.map_err(db)?;
        (commit.0)(&client, &LoadSummary::default())
            .await
            .map_err(LoadError::Vetoed)?;
        client.batch_execute("COMMIT").await.map_err(db)?;
        let dead_letters = *dead.lock().expect("not poisoned");
        return Ok(Outcome {
            written: 0,
            rejected: recs.unreadable.len() as u64,
            dead_letters,
        });
    }
    let mut summary = LoadSummary::default();
    ingest_load::run(&req, &mut summary, &Progress::quiet()).await?;
    let written = summary.rows_inserted + summary.rows_updated + summary.rows_unchanged;
    let dead_letters = *dead.lock().expect("not poisoned");
    Ok(Outcome {
        written,
        rejected: summary.rows_rejected + recs.unreadable.len() as u64,
        dead_letters,
    })
}

/// The messages that could not load: those that are not JSON records, and those with a
/// record the table refused (each message once, with its first reason).
fn dead_letters(
    messages: &[Message],
    unreadable: &[(usize, String)],
    line_message: &[usize],
    errors: &std::path::Path,
) -> Vec<DeadLetter> {
    let mut reasons: BTreeMap<usize, String> = unreadable.iter().cloned().collect();
    for line in std::fs::read_to_string(errors).unwrap_or_default().lines() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if r["warning"].as_bool() == Some(true) {
            continue;
        }
        let Some(at) = r["line"]
            .as_u64()
            .and_then(|l| line_message.get(l as usize - 1))
        else {
            continue;
        };
        let reason = match r["column"].as_str() {
            Some(c) => format!("column {c}: {}", r["reason"].as_str().unwrap_or("")),
            None => r["reason"].as_str().unwrap_or("").to_string(),
        };
        reasons.entry(*at).or_insert(reason);
    }
    reasons
        .into_iter()
        .map(|(i, reason)| DeadLetter {
            position: messages[i].position.clone(),
            payload: String::from_utf8_lossy(&messages[i].payload).into_owned(),
            reason,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_byte_size;

    #[test]
    fn byte_sizes_read_as_people_write_them() {
        assert_eq!(parse_byte_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_byte_size(" 8MB "), Ok(8 << 20));
        assert_eq!(parse_byte_size("512k"), Ok(512 << 10));
        assert_eq!(parse_byte_size("1 GB"), Ok(1 << 30));
        assert_eq!(parse_byte_size("64b"), Ok(64));
    }

    #[test]
    fn a_bad_byte_size_says_what_is_wrong() {
        assert_eq!(parse_byte_size("MB"), Err("a size such as 8MB".to_string()));
        assert_eq!(
            parse_byte_size("8TB"),
            Err("unknown unit \"tb\" (B, kB, MB, GB)".to_string())
        );
    }
}

//! `ingest consume URL --into TABLE`: a stream consumer, micro-batches loaded exactly once.

use std::time::Duration;

use clap::Args;
use ingest_pg::ConnectSource;
use ingest_streams::message::Meta;
use ingest_streams::{ConsumeOptions, consume};

const EXAMPLES: &str = "Examples:
  ingest consume kafka://127.0.0.1:9092/orders --group loader --into public.orders --key id --mode upsert
  ingest consume 'amqp://guest:guest@127.0.0.1:5672/%2f?queue=orders' --into public.orders --key id --mode upsert
  ingest consume 'nats://127.0.0.1:4222/ORDERS?consumer=loader' --into public.orders
  ingest consume redis://127.0.0.1:6379/orders --group loader --into public.orders --key id --mode upsert
  ingest consume redis://127.0.0.1:6379/orders?group=audit --into audit.orders --dead-letter audit.orders_dead
  ingest consume redis://127.0.0.1:6379/orders --group once --into orders --until-idle 5s   # drain, then stop

Each batch (closed on --batch-rows, --batch-bytes or --linger, whichever comes first) is one
load, written in one transaction with the consumer's position: a consumer killed at any
moment starts again where the last committed batch ended, and no message is loaded twice.
Positions are kept per consumer (--group) and source in the service's schema (`ingest
migrate` creates it). RabbitMQ deliveries are acknowledged only after the batch committed,
and their message ids are kept with it, so a redelivery is a no-op. A Redis entry's JSON is
in its field `data` (--field).";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ConsumeArgs {
    /// The stream: kafka://host:port/TOPIC, amqp://user:pass@host:port/VHOST?queue=Q,
    /// nats://host:port/STREAM, redis://host:port/STREAM
    pub url: String,
    /// The table to load into
    #[arg(long)]
    pub into: String,
    /// The consumer's name: its positions and dead letters are its own
    #[arg(long, default_value = "")]
    pub group: String,
    /// insert, upsert, merge or replace
    #[arg(long, default_value = "insert")]
    pub mode: String,
    /// Key columns for upsert and merge, comma-separated (default: the primary key)
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,
    /// A batch closes at this many messages
    #[arg(long, default_value_t = 10_000)]
    pub batch_rows: usize,
    /// ... or at this many bytes of payload (8MB, 512kB)
    #[arg(long, default_value = "8MB")]
    pub batch_bytes: String,
    /// ... or this long after its first message
    #[arg(long, default_value = "1s")]
    pub linger: String,
    /// Rejected messages tolerated in a batch (a count or a share, 1%); over it the consumer
    /// stops (exit 1) with the batch not loaded
    #[arg(long, default_value = "0")]
    pub max_errors: String,
    /// A table (created if absent) for the messages that cannot load, with their payload
    /// and why; the consumer goes on
    #[arg(long)]
    pub dead_letter: Option<String>,
    /// Where a consumer with no stored position starts: earliest or latest
    #[arg(long, default_value = "earliest")]
    pub start: String,
    /// The field of a Redis entry that holds the JSON
    #[arg(long, default_value = "data")]
    pub field: String,
    /// Stop (exit 0) after this long without a message (default: run until stopped)
    #[arg(long)]
    pub until_idle: Option<String>,
    /// Also load these of each message into columns of the same names: partition,
    /// offset (sequence, entry id, delivery tag), key (Kafka key, NATS subject, RabbitMQ
    /// routing key), timestamp
    #[arg(long, value_delimiter = ',')]
    pub meta: Vec<String>,
    /// The PostgreSQL to load into and keep the positions in (default: PG* variables)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// No line per batch
    #[arg(short, long)]
    pub quiet: bool,
}

fn bytes(text: &str) -> Result<usize, String> {
    ingest_streams::parse_byte_size(text).map_err(|e| format!("--batch-bytes {text:?}: {e}"))
}

fn duration(flag: &str, text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{flag} {text:?}: {e} (e.g. 500ms, 1s, 5m)"))
}

pub async fn run(a: ConsumeArgs) -> i32 {
    let options = match options(&a) {
        Ok(o) => o,
        Err(m) => {
            eprintln!("ingest: {m}");
            return 2;
        }
    };
    let quiet = a.quiet;
    let report = move |s: &ingest_streams::ConsumeStats| {
        if s.status != "consuming" {
            // Waiting or reconnecting is said even with -q.
            eprintln!("ingest: {}", s.status);
        } else if !quiet {
            eprintln!(
                "ingest: {} batches, {} messages, {} rows written, {} rejected, {} dead letters; at {:?}",
                s.batches, s.messages, s.rows_written, s.rejected, s.dead_letters, s.positions
            );
        }
    };
    tokio::select! {
        r = consume(&a.url, &a.group, &options, &report) => match r {
            Ok(stats) => {
                println!("{}", serde_json::to_string(&stats).expect("stats serialise"));
                0
            }
            Err(e) => {
                eprintln!("ingest: {e}");
                e.exit_code()
            }
        },
        // Dropping the batch in flight rolls it back: the next start reads it again.
        _ = tokio::signal::ctrl_c() => {
            eprintln!("ingest: interrupted; the batch in flight was not written");
            130
        }
    }
}

fn options(a: &ConsumeArgs) -> Result<ConsumeOptions, String> {
    if !["insert", "upsert", "merge", "replace"].contains(&a.mode.as_str()) {
        return Err(format!(
            "--mode {:?}: insert, upsert, merge or replace",
            a.mode
        ));
    }
    let start_latest = match a.start.as_str() {
        "earliest" | "beginning" => false,
        "latest" | "end" => true,
        other => return Err(format!("--start {other:?}: earliest or latest")),
    };
    Ok(ConsumeOptions {
        database: match &a.database_url {
            Some(url) => ConnectSource::Url(url.clone()),
            None => ConnectSource::Env,
        },
        service_schema: None,
        table: a.into.clone(),
        mode: a.mode.clone(),
        key: a
            .key
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        max_errors: a.max_errors.clone(),
        batch_rows: a.batch_rows.max(1),
        batch_bytes: bytes(&a.batch_bytes)?,
        linger: duration("--linger", &a.linger)?,
        dead_letter: a.dead_letter.clone(),
        start_latest,
        field: a.field.clone(),
        until_idle: a
            .until_idle
            .as_deref()
            .map(|d| duration("--until-idle", d))
            .transpose()?,
        meta: a
            .meta
            .iter()
            .map(|m| Meta::parse(m).ok_or_else(|| format!("--meta {m:?}: one of {}", Meta::NAMES)))
            .collect::<Result<_, _>>()?,
        job: None,
    })
}

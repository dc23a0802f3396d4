"""A fast publisher for bench/streams.sh: N small JSON messages into a broker, as quickly as
the broker takes them (batched, pipelined, no per-message waits), checked at the end; the same
messages as an NDJSON file; and a small concurrent client of POST /v1/tables/{table}/records.

  publish_streams.py kafka --url HOST:PORT --target TOPIC --count N [--partitions 3] [--group G ...]
  publish_streams.py amqp  [--url amqp://...] --target QUEUE --count N
  publish_streams.py nats  [--url nats://...] --target STREAM --count N      # subject: <stream>.in
  publish_streams.py redis [--url redis://...] --target KEY --count N [--group G ...]
  publish_streams.py none  --count N --ndjson FILE
  publish_streams.py delete BROKER [--url ...] --target NAME               # remove the queue/stream/key
  publish_streams.py records --api http://127.0.0.1:PORT --table T --batch B --requests R
                     [--concurrency 4] [--start-id K]

Message i (--start-id, default 1, up to start+count-1) is the one JSON object
  {"id": i, "customer": "<name> <n>", "amount": 1234.56, "at": "2026-01-01T00:00:00Z" + i s}
(about 90 bytes; every body distinct). Each publisher starts from nothing (the topic is new,
the queue, stream or key deleted first) and checks that the broker holds exactly N messages
afterwards (Kafka: every delivery report without error; RabbitMQ: the queue depth; JetStream:
the stream's count; Redis: XLEN), exiting 1 when it does not. It prints one line: the count
and the seconds publishing took. Kafka: acks=1, linger 50 ms, the id as the key (hashed over
--partitions); RabbitMQ: persistent messages with a message_id, no publisher confirms, on two
connections (the channel's own asynchronous publish, flushed every 5000); JetStream: plain
(core) publishes to the stream's subject, flushed every 10,000, then the stream's count awaited;
Redis: XADD pipelines of 10,000, the JSON in field `data`.
--group G: Kafka, commits offset 0 for G on every partition; Redis, creates group G at 0.

`records` posts R JSON arrays of B records each (ids from --start-id on) from --concurrency
threads, each on its own keep-alive connection, and prints: requests, rows, seconds (from the
first request to the last answer; the bodies are made before), rows/s, failures (not 200).
"""
import argparse, asyncio, http.client, json, sys, threading, time, urllib.parse

NAMES = ["Ana Silva", "João Souza", "Mária Gonçalves", "Çécile Lima", "Bruno Oliveira",
         "Luíza O'Neil", "Pedro Santos", "Zoë Costa"]
BASE = 1767225600  # 2026-01-01T00:00:00Z


def body(i):
    t = time.gmtime(BASE + i)
    c = i * 7919 % 10_000_000
    return ('{"id": %d, "customer": "%s %d", "amount": %d.%02d, "at": "%04d-%02d-%02dT%02d:%02d:%02dZ"}'
            % (i, NAMES[i % 8], i % 5000, c // 100, c % 100,
               t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)).encode()


def bodies(a):
    return [body(i) for i in range(a.start_id, a.start_id + a.count)]


def chunks(seq, size):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def fail(msg):
    print(msg, file=sys.stderr)
    return False


# ---------------------------------------------------------------- Kafka
def kafka(a, msgs):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    bs = (a.url or "127.0.0.1:9092").split("://", 1)[-1].rstrip("/")
    topic = a.target
    adm = AdminClient({"bootstrap.servers": bs})
    if topic in adm.list_topics(timeout=10).topics:
        for f in adm.delete_topics([topic]).values():
            f.result(10)
        time.sleep(1)
    for f in adm.create_topics([NewTopic(topic, num_partitions=a.partitions, replication_factor=1)]).values():
        f.result(10)
    for g in a.group:
        c = Consumer({"bootstrap.servers": bs, "group.id": g, "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(topic, p, 0) for p in range(a.partitions)], asynchronous=False)
        c.close()
    p = Producer({"bootstrap.servers": bs, "linger.ms": 50, "acks": 1, "enable.idempotence": False,
                  "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000,
                  "queue.buffering.max.kbytes": 1 << 20})
    state = {"ok": 0, "err": 0, "first": None}

    def report(e, _m):
        if e is None:
            state["ok"] += 1
        else:
            state["err"] += 1
            state["first"] = state["first"] or e
    for k, m in enumerate(msgs):
        while True:
            try:
                p.produce(topic, key=b"%d" % (a.start_id + k), value=m, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        if k % 10_000 == 0:
            p.poll(0)   # serve the delivery reports now and then
    left = p.flush(120)
    if left or state["err"] or state["ok"] != len(msgs):
        return fail("kafka: %d of %d messages acknowledged, %d failed (%s), %d left"
                    % (state["ok"], len(msgs), state["err"], state["first"], left))
    return True


# ---------------------------------------------------------------- RabbitMQ
def amqp_channel(url):
    import pika
    for attempt in range(20):
        try:
            conn = pika.BlockingConnection(pika.URLParameters(url))
            return conn, conn.channel()
        except pika.exceptions.AMQPConnectionError:
            if attempt == 19:
                raise
            time.sleep(1)


def amqp_part(url, queue, start_id, lo, hi):
    """Messages lo..hi-1 on a connection of their own. BlockingChannel.basic_publish waits for
    its socket after every message: the channel's own (asynchronous) publish, flushed every
    5000, is three times as fast."""
    import pika
    conn, ch = amqp_channel(url)
    impl = ch._impl
    for k in range(lo, hi):
        impl.basic_publish("", queue, body(start_id + k),
                           pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                message_id="b%d" % (start_id + k)))
        if k % 5000 == 4999:
            conn.process_data_events(0)
    conn.process_data_events(0)
    conn.close()


def amqp(a, msgs):
    import multiprocessing
    url = a.url or "amqp://guest:guest@127.0.0.1:5672/%2f"
    conn, ch = amqp_channel(url)
    ch.queue_delete(a.target)
    ch.queue_declare(a.target, durable=True)
    conn.close()   # not kept idle (its heartbeats unanswered) while the others publish
    # pika spends its time marshalling frames in Python: two processes, one connection each
    n = len(msgs)
    half = n // 2
    procs = [multiprocessing.Process(target=amqp_part, args=(url, a.target, a.start_id, 0, half)),
             multiprocessing.Process(target=amqp_part, args=(url, a.target, a.start_id, half, n))]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
    if any(pr.exitcode != 0 for pr in procs):
        return fail("amqp: a publishing process failed (exit %s)" % [pr.exitcode for pr in procs])
    conn, ch = amqp_channel(url)
    got, end = None, time.time() + 60
    while time.time() < end:
        got = ch.queue_declare(a.target, passive=True).method.message_count
        if got == n:
            break
        time.sleep(0.2)
    conn.close()
    return got == n or fail("amqp: the queue holds %s messages, not %d" % (got, n))


# ---------------------------------------------------------------- NATS JetStream
async def nats_pub(a, msgs):
    import nats
    from nats.js.errors import NotFoundError
    nc = await nats.connect(a.url or "nats://127.0.0.1:4222", pending_size=64 << 20)
    js = nc.jetstream()
    stream, subject = a.target, a.target.lower() + ".in"
    try:
        await js.delete_stream(stream)
    except NotFoundError:
        pass
    await js.add_stream(name=stream, subjects=[subject])
    # Plain publishes: the stream stores what arrives on its subject; no reply per message.
    for part in chunks(msgs, 10_000):
        for m in part:
            await nc.publish(subject, m)
        await nc.flush(timeout=60)
    got, end = 0, time.time() + 60
    while time.time() < end:
        got = (await js.stream_info(stream)).state.messages
        if got >= len(msgs):
            break
        await asyncio.sleep(0.2)
    await nc.close()
    return got == len(msgs) or fail("nats: the stream holds %d messages, not %d" % (got, len(msgs)))


# ---------------------------------------------------------------- Redis Streams
def redis_pub(a, msgs):
    import redis
    r = redis.Redis.from_url(a.url or "redis://127.0.0.1:6379/0")
    r.delete(a.target)
    for g in a.group:
        r.xgroup_create(a.target, g, id="0", mkstream=True)
    for part in chunks(msgs, 10_000):
        p = r.pipeline(transaction=False)
        for m in part:
            p.xadd(a.target, {"data": m})
        p.execute()
    got = r.xlen(a.target)
    return got == len(msgs) or fail("redis: the stream holds %d entries, not %d" % (got, len(msgs)))


def delete(a):
    try:
        if a.what == "kafka":
            from confluent_kafka.admin import AdminClient
            adm = AdminClient({"bootstrap.servers": (a.url or "127.0.0.1:9092").split("://", 1)[-1]})
            for f in adm.delete_topics([a.target]).values():
                f.result(10)
        elif a.what == "amqp":
            conn, ch = amqp_channel(a.url or "amqp://guest:guest@127.0.0.1:5672/%2f")
            ch.queue_delete(a.target)
            conn.close()
        elif a.what == "nats":
            async def go():
                import nats
                from nats.js.errors import NotFoundError
                nc = await nats.connect(a.url or "nats://127.0.0.1:4222")
                try:
                    await nc.jetstream().delete_stream(a.target)
                except NotFoundError:
                    pass
                await nc.close()
            asyncio.run(go())
        elif a.what == "redis":
            import redis
            redis.Redis.from_url(a.url or "redis://127.0.0.1:6379/0").delete(a.target)
        return True
    except Exception as e:  # noqa: BLE001
        return fail("%s: could not delete %s: %s" % (a.what, a.target, e))


# ---------------------------------------------------------------- POST /v1/tables/{table}/records
def records(a):
    u = urllib.parse.urlparse(a.api)
    path = "/v1/tables/%s/records?mode=insert" % urllib.parse.quote(a.table)
    reqs = [b"[" + b",".join(body(a.start_id + r * a.batch + k) for k in range(a.batch)) + b"]"
            for r in range(a.requests)]
    failures, first, lock = [0], [None], threading.Lock()

    def worker(part):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        for b in part:
            c.request("POST", path, b, {"content-type": "application/json"})
            resp = c.getresponse()
            data = resp.read()
            if resp.status != 200:
                with lock:
                    failures[0] += 1
                    first[0] = first[0] or "%d %s" % (resp.status, data[:300])
        c.close()

    threads = [threading.Thread(target=worker, args=(reqs[k::a.concurrency],)) for k in range(a.concurrency)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - start
    rows = a.requests * a.batch
    print("%d %d %.3f %.1f %d" % (a.requests, rows, took, rows / took, failures[0]))
    if first[0]:
        print("records: %d requests failed; the first: %s" % (failures[0], first[0]), file=sys.stderr)
    return failures[0] == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["kafka", "amqp", "nats", "redis", "none", "delete", "records"])
    ap.add_argument("broker", nargs="?", help="with delete: kafka|amqp|nats|redis")
    ap.add_argument("--url")
    ap.add_argument("--target")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--start-id", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--group", action="append", default=[])
    ap.add_argument("--ndjson")
    ap.add_argument("--api")
    ap.add_argument("--table")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--requests", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=4)
    a = ap.parse_args()
    if a.what == "records":
        sys.exit(0 if records(a) else 1)
    if a.what == "delete":
        a.what = a.broker
        sys.exit(0 if delete(a) else 1)
    if a.what != "none" and not a.target:
        ap.error("--target is required")
    msgs = bodies(a) if a.what != "amqp" else [None] * a.count   # amqp: made in its processes
    if a.ndjson:
        with open(a.ndjson, "wb") as f:
            for m in msgs:
                f.write(m + b"\n")
    start = time.time()
    ok = {"none": lambda: True, "kafka": lambda: kafka(a, msgs), "amqp": lambda: amqp(a, msgs),
          "nats": lambda: asyncio.run(nats_pub(a, msgs)), "redis": lambda: redis_pub(a, msgs)}[a.what]()
    print("%d %.3f" % (a.count, time.time() - start))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

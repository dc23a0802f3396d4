#!/usr/bin/env bash
# Pull sources against the usual tools, in one run:
#   1. 1M rows of a MariaDB table (test.bench_customers, made once) into PostgreSQL:
#      `ingest pull` (mysql spec, insert, --full), pgloader (data only, truncate) and
#      MariaDB's SELECT ... INTO OUTFILE followed by psql \copy (both steps timed: the
#      practical limit);
#   2. 100k records of a mock REST API (bench/mock_api.py) in pages of 1000 (cursor
#      pagination, bearer token): `ingest pull` (http spec, upsert, --full) and dlt's
#      rest_api source (bench/dlt_rest.py: extract + normalize + load, merge on id).
# Each tool loads an empty table (truncated before each round); the best of its rounds
# counts, rounds taken in turns. The time is the wall clock of the whole command (process
# start included); peak RSS is that of the tool's own process(es) (not the servers'), the
# largest of its rounds. The ratio is the tool's time over ingest's (2.00x: twice as long).
# After every round the rows in PostgreSQL are counted; at the end the tables are compared.
#   bench/sources.sh                      # 1M rows, 100k records, 3 rounds each
#   N=300000 API_N=50000 RUNS=2 SLOW_RUNS=1 bench/sources.sh
# SLOW_RUNS (default RUNS): the rounds of pgloader and dlt. On 2 cores the rounds take ~2 min
# (plus the release build, and ~15 s the first time to make the MariaDB table).
# Needs: PostgreSQL (scripts/pg-up.sh), MariaDB on 127.0.0.1:3306 (scripts/mariadb-up.sh),
# python3, curl, bc, /usr/bin/time; installs pgloader (apt) and dlt[postgres] (pip, into
# scripts/py-env.sh's virtualenv) when missing, and leaves out a tool it cannot install.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
API_N=${API_N:-100000}
RUNS=${RUNS:-3}
SLOW_RUNS=${SLOW_RUNS:-$RUNS}
. bench/lib.sh
bench_setup ingest_bench_sources
MY=mysql://root@127.0.0.1:3306/test
scripts/mariadb-up.sh >/dev/null
my() { mariadb -h127.0.0.1 -uroot -Dtest "$@"; }
env DATABASE_URL="$DB" "$BIN" migrate >/dev/null

# --- The MariaDB table, made once (INSERT ... SELECT from the sequence engine) ---
if [ "$(my -N -e "select count(*) from information_schema.tables where table_schema = 'test' and table_name = 'bench_customers'")" = 0 ] \
  || [ "$(my -N -e 'select count(*) from bench_customers')" != "$N" ]; then
  echo "sources: making test.bench_customers ($N rows) in MariaDB" >&2
  my <<SQL
DROP TABLE IF EXISTS bench_customers;
CREATE TABLE bench_customers (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  balance DECIMAL(20,4),
  created_at DATETIME(6),
  active TINYINT(1),
  profile JSON,
  updated_at DATETIME(6) NOT NULL,
  KEY bench_customers_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO bench_customers
SELECT seq,
       CONCAT(ELT(1 + seq % 8, 'Ana', 'João', 'Mária', 'Çécile', 'Bruno', 'Luíza', 'Pedro', 'Zoë'), ' ',
              ELT(1 + seq DIV 8 % 6, 'Silva', 'Souza', 'Gonçalves', 'Oliveira', "O'Neil", 'Lima'), ' ', seq),
       IF(seq % 50 = 0, NULL, (seq * 7919 % 100000000) / 10000 - 1000),
       TIMESTAMP('2020-01-01') + INTERVAL seq * 37 SECOND + INTERVAL seq % 1000 * 1000 MICROSECOND,
       IF(seq % 97 = 0, NULL, seq % 5 <> 0),
       IF(seq % 10 = 0, NULL, JSON_OBJECT('tier', ELT(1 + seq % 4, 'bronze', 'prata', 'ouro', 'platina'),
                                           'score', seq % 1000, 'email', CONCAT('c', seq, '@example.com'),
                                           'tags', JSON_ARRAY('a', seq % 3), 'note', 'linha "um"\tdois')),
       TIMESTAMP('2025-01-01') + INTERVAL seq DIV 4 SECOND + INTERVAL 123456 MICROSECOND
FROM seq_1_to_$N;
SQL
fi
CUSTOMERS="(id numeric(20,0) primary key, name text, balance numeric(20,4), created_at timestamp,
  active boolean, profile jsonb, updated_at timestamp)"
psql "$DB" -q -c "create table customers $CUSTOMERS" -c "create table customers_copy $CUSTOMERS" \
  -c "create schema pgloader" -c "create table pgloader.bench_customers $CUSTOMERS" \
  -c "create table trips (id bigint primary key, plate text, driver text, km numeric(10,1),
      fare numeric(10,2), updated_at timestamptz, route jsonb)"

cat > "$W/src_mysql.yaml" <<YAML
name: bench_customers
source: {type: mysql, url: "$MY", table: bench_customers}
incremental: {cursor_field: updated_at, tie_breaker: id}
target: {table: public.customers, mode: insert}
YAML

# --- pgloader (Debian's), into its own schema: the table made above, data only ---
pgl=yes
command -v pgloader >/dev/null || apt-get install -y -qq pgloader >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq pgloader >/dev/null 2>&1; } || true
command -v pgloader >/dev/null || pgl="no (apt-get install pgloader failed)"
cat > "$W/src_pgloader.load" <<LOAD
LOAD DATABASE
  FROM mysql://root@127.0.0.1:3306/test
  INTO ${DB/#postgres:/postgresql:}
  WITH data only, truncate
  INCLUDING ONLY TABLE NAMES MATCHING 'bench_customers'
  ALTER SCHEMA 'test' RENAME TO 'pgloader';
LOAD

# --- SELECT ... INTO OUTFILE where the server may write (secure_file_priv), else the
# client's --batch output (the same escapes as COPY's text format; NULL written as NULL) ---
priv=$(my -N -e 'select @@secure_file_priv')
if [ "$priv" = NULL ] || [ -z "$priv" ]; then out_dir=$W/outfile; else out_dir=${priv%/}; fi
mkdir -p "$out_dir" 2>/dev/null && chmod 1777 "$out_dir" 2>/dev/null || true
rm -f "$out_dir/bench_customers.tsv"
if my -e "select 1 into outfile '$out_dir/bench_customers.tsv'" 2>/dev/null && [ -r "$out_dir/bench_customers.tsv" ]; then
  dump_how="SELECT * INTO OUTFILE"
  cat > "$W/src_dump.sh" <<DUMP
set -e
rm -f '$out_dir/bench_customers.tsv'
mariadb -h127.0.0.1 -uroot -Dtest -e "select * from bench_customers into outfile '$out_dir/bench_customers.tsv'"
psql '$DB' -qc "\\copy customers_copy from '$out_dir/bench_customers.tsv'"
rm -f '$out_dir/bench_customers.tsv'
DUMP
else
  dump_how="mariadb --batch > file"
  cat > "$W/src_dump.sh" <<DUMP
set -e
mariadb -h127.0.0.1 -uroot -Dtest --batch --skip-column-names -e 'select * from bench_customers' > '$W/bench_customers.tsv'
psql '$DB' -qc "\\copy customers_copy from '$W/bench_customers.tsv' with (null 'NULL')"
rm -f '$W/bench_customers.tsv'
DUMP
fi
rm -f "$out_dir/bench_customers.tsv"

# --- The mock API, its pages made once before the rounds ---
export MOCK_API_TOKEN=bench-$RANDOM$RANDOM
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 bench/mock_api.py --port "$PORT" --records "$API_N" 2>"$W/mock_api.log" &
MOCK_PID=$!
trap 'kill $MOCK_PID 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.5; done
python3 - "$PORT" <<'PY'
import json, os, sys, urllib.request
url, n = f"http://127.0.0.1:{sys.argv[1]}/v2/trips?per_page=1000", 0
headers = {"Authorization": "Bearer " + os.environ["MOCK_API_TOKEN"]}
cursor = None
while True:
    page = json.load(urllib.request.urlopen(urllib.request.Request(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)))
    n, cursor = n + len(page["data"]), page["meta"]["next"]
    if not cursor:
        break
print(f"sources: the mock API serves {n} records", file=sys.stderr)
PY
cat > "$W/src_http.yaml" <<YAML
name: bench_trips
source:
  type: http
  base_url: http://127.0.0.1:$PORT/v2
  auth: {type: bearer, token: "\${env:MOCK_API_TOKEN}"}
  request: {path: /trips, params: {updated_since: "{cursor}", per_page: 1000}}
  records: \$.data[*]
  pagination: {type: cursor, cursor_path: \$.meta.next, param: cursor}
incremental: {cursor_field: updated_at}
target: {table: public.trips, mode: upsert, key: [id]}
YAML

# --- dlt, in the project's virtualenv (else one of its own under $W) ---
dlt_ok=yes
PY=$(scripts/py-env.sh 2>/dev/null) || PY=
if [ -z "$PY" ] || ! "$PY" -c 'import dlt, psycopg2' 2>/dev/null; then
  if [ -n "$PY" ]; then "$PY" -m pip install -q --disable-pip-version-check 'dlt[postgres]' >&2 || true; fi
  if [ -z "$PY" ] || ! "$PY" -c 'import dlt, psycopg2' 2>/dev/null; then
    [ -x "$W/dlt-venv/bin/python" ] || python3 -m venv "$W/dlt-venv" >&2
    PY=$W/dlt-venv/bin/python
    "$PY" -c 'import dlt, psycopg2' 2>/dev/null || "$PY" -m pip install -q --disable-pip-version-check 'dlt[postgres]' >&2 || true
  fi
fi
"$PY" -c 'import dlt, psycopg2' 2>/dev/null || dlt_ok="no (pip install 'dlt[postgres]' failed)"
dlt_version=$("$PY" -c 'import dlt; print(dlt.__version__)' 2>/dev/null || echo '?')
rm -rf "$W/dlt_pipelines"

# --- The rounds ---
# measure CASE CMD...: one round of CMD (its output in $W/src_CASE.log) under /usr/bin/time;
# sets T (wall seconds) and RSS (KB). A failure is said loudly, and counts as no time.
measure() {
  local c=$1 s e rc=0
  shift
  s=$(date +%s.%N)
  /usr/bin/time -f %M -o "$W/src_rss" "$@" >"$W/src_$c.log" 2>&1 || rc=$?
  e=$(date +%s.%N)
  T=$(echo "$e - $s" | bc)
  RSS=$(tail -1 "$W/src_rss")
  if [ "$rc" != 0 ]; then
    echo "!!!!! $c FAILED (exit $rc); the end of $W/src_$c.log:" >&2
    tail -5 "$W/src_$c.log" >&2
    T=
  fi
}
count() { psql "$DB" -Atqc "select count(*) from $1" 2>/dev/null || echo 0; }
declare -A best peak rows rounds bad
record() { # CASE TABLE WANT: keeps the best time and the largest RSS, checks the count
  local c=$1 n
  n=$(count "$2")
  rows[$c]=$n
  rounds[$c]=$(( ${rounds[$c]:-0} + 1 ))
  [ "$n" = "$3" ] || { bad[$c]="!!!!! $n rows in $2 after $c, want $3"; echo "${bad[$c]}" >&2; }
  [ "${peak[$c]:-0}" -ge "$RSS" ] || peak[$c]=$RSS
  if [ -n "$T" ] && { [ -z "${best[$c]:-}" ] || [ "$(echo "$T < ${best[$c]}" | bc)" = 1 ]; }; then best[$c]=$T; fi
}
fresh() { psql "$DB" -qc "truncate $1" -c checkpoint; }
dlt_fresh() {
  psql "$DB" -qc "do \$\$ begin if to_regclass('dlt_trips.trips') is not null then truncate dlt_trips.trips; end if; end \$\$" -c checkpoint
}

start=$(date +%s)
for r in $(seq "$RUNS"); do
  echo "sources: round $r of $RUNS" >&2
  fresh customers
  measure ingest_mysql env DATABASE_URL="$DB" "$BIN" pull "$W/src_mysql.yaml" --full -q
  record ingest_mysql customers "$N"
  if [ "$pgl" = yes ] && [ "$r" -le "$SLOW_RUNS" ]; then
    fresh pgloader.bench_customers
    measure pgloader pgloader --root-dir "$W/pgloader" "$W/src_pgloader.load"
    record pgloader pgloader.bench_customers "$N"
  fi
  fresh customers_copy
  measure dump bash "$W/src_dump.sh"
  record dump customers_copy "$N"
  fresh trips
  measure ingest_http env DATABASE_URL="$DB" "$BIN" pull "$W/src_http.yaml" --full -q
  record ingest_http trips "$API_N"
  if [ "$dlt_ok" = yes ] && [ "$r" -le "$SLOW_RUNS" ]; then
    dlt_fresh
    measure dlt "$PY" bench/dlt_rest.py --base-url "http://127.0.0.1:$PORT/v2" --db "$DB" \
      --dataset dlt_trips --pipelines-dir "$W/dlt_pipelines"
    record dlt dlt_trips.trips "$API_N"
  fi
done
took=$(( $(date +%s) - start ))

# --- The same rows everywhere? (each table has its key, so same count + A except B empty) ---
same() { # A B COLUMNS
  local a b
  a=$(count "$1") b=$(count "$2")
  [ "$a" = "$b" ] && [ "$(psql "$DB" -Atqc "select count(*) from (select $3 from $1 except select $3 from $2) d" 2>/dev/null)" = 0 ] \
    && echo yes || echo "NO !!!!!"
}
cust_cols="id, name, balance, created_at, active, profile, updated_at"
trip_cols="id, plate::text, driver::text, km, fare, updated_at, route"

row() { # CASE LABEL BASE_CASE WANT
  local c=$1 t=${best[$1]:-} ratio_s="" note=${bad[$1]:-}
  if [ -z "$t" ]; then printf '  %-46s %s\n' "$2" "no successful round ${note:+-- $note}"; return; fi
  if [ "$c" != "$3" ] && [ -n "${best[$3]:-}" ]; then ratio_s="$(ratio "$t" "${best[$3]}")x"; fi
  printf '  %-46s %6s %9s %8.2fs %10.0f %7s MB %8s  %s\n' "$2" "${rounds[$c]}" "${rows[$c]}" "$t" \
    "$(echo "$4 / $t" | bc -l)" "$(( ${peak[$c]:-0} / 1024 ))" "$ratio_s" "$note"
}
printf '\n%-48s %6s %9s %9s %10s %10s %8s\n' "case (best of the rounds)" "rounds" "rows" "seconds" "rows/s" "peak RSS" "vs ingest"
echo "MariaDB test.bench_customers -> PostgreSQL ($N rows)"
row ingest_mysql "ingest pull (mysql spec, insert, --full)" ingest_mysql "$N"
if [ "$pgl" = yes ]; then row pgloader "pgloader $(pgloader --version | head -1 | grep -o '[0-9][^"]*') (data only, truncate)" ingest_mysql "$N"
else printf '  %-46s skipped: %s\n' "pgloader" "$pgl"; fi
row dump "$dump_how + psql \\copy" ingest_mysql "$N"
echo "REST API (mock, $API_N records, pages of 1000, cursor) -> PostgreSQL"
row ingest_http "ingest pull (http spec, upsert, --full)" ingest_http "$API_N"
if [ "$dlt_ok" = yes ]; then row dlt "dlt $dlt_version rest_api (extract+normalize+load)" ingest_http "$API_N"
else printf '  %-46s skipped: %s\n' "dlt" "$dlt_ok"; fi
echo
echo "same rows as the dump's \\copy: ingest $(same customers customers_copy "$cust_cols")$(
  [ "$pgl" = yes ] && echo ", pgloader $(same pgloader.bench_customers customers_copy "$cust_cols")")"
if [ "$dlt_ok" = yes ]; then echo "same trips in ingest's and dlt's tables: $(same trips dlt_trips.trips "$trip_cols")"; fi
echo "the rounds took ${took}s (peak RSS: the tool's processes, the largest of its rounds; the dump's is its two clients')"

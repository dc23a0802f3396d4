#!/usr/bin/env bash
# The Bulk API against the engine it runs, on the same files in the same run:
#  1. the 1M-row upsert (half the rows new) through the API (upload, then wait) against
#     `ingest load` of the same file into the same table state; goal: under 5% added;
#  2. 1000 jobs of 100 rows each through one server with 2 workers; goal: 200 jobs/s.
#   bench/service.sh                 # 1M rows, 3 rounds, 1000 small jobs
#   N=300000 RUNS=5 JOBS=2000 bench/service.sh
# Needs: a PostgreSQL (scripts/pg-up.sh starts one), python3, bc.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-3}
JOBS=${JOBS:-1000}
. bench/lib.sh
bench_setup ingest_bench_svc
orders "$W/orders_$N.csv" "$N" 7 1
orders "$W/updates_$N.csv" "$N" 8 $((N / 2 + 1))
for t in base via_load via_api small_1 small_2 small_3 small_4; do psql "$DB" -qc "create table $t $ORDERS_DDL"; done
psql "$DB" -qc "\\copy base from '$W/orders_$N.csv' csv header"

reset() { psql "$DB" -qc "truncate $1" -c "insert into $1 select * from base" -c "vacuum analyze $1"; }

PORT=$((20000 + RANDOM % 20000))
API=http://127.0.0.1:$PORT
start_server() { # workers
  DATABASE_URL=$DB "$BIN" serve --port "$PORT" --workers "$1" --data-dir "$W/svc-data" --file-root "$W" 2>"$W/serve.log" &
  SRV=$!
  for _ in $(seq 100); do curl -sf "$API/healthz" >/dev/null && return; sleep 0.1; done
  echo "ingest serve did not start: $(tail -3 "$W/serve.log")"; exit 1
}
stop_server() { kill "$SRV"; wait "$SRV" 2>/dev/null || true; }

start_server 1
loads=() apis=()
for r in $(seq "$RUNS"); do
  reset via_load; reset via_api
  loads+=("$(secs env DATABASE_URL="$DB" "$BIN" load "$W/updates_$N.csv" --into via_load --mode upsert -q)")
  apis+=("$(secs env INGEST_API_URL="$API" "$BIN" submit "$W/updates_$N.csv" --into via_api --mode upsert --wait)")
  echo "round $r: load ${loads[-1]} s, API ${apis[-1]} s"
done
same=$(psql "$DB" -Atqc "select (select count(*) from (select * from via_load except all select * from via_api) a) + (select count(*) from (select * from via_api except all select * from via_load) b)")
stop_server
t_load=$(min "${loads[@]}"); t_api=$(min "${apis[@]}")
# Each round's own ratio too: the rounds share the machine's slow and fast spells.
pairs=$(for i in "${!loads[@]}"; do ratio "${apis[$i]}" "${loads[$i]}" 3; echo; done | sort -g | tr '\n' ' ')

start_server 2
one=$(python3 bench/small_jobs.py "$API" "$W" "$JOBS" 100 small_1)
psql "$DB" -qc "truncate small_1"
four=$(python3 bench/small_jobs.py "$API" "$W" "$JOBS" 100 small_1,small_2,small_3,small_4)
stop_server

printf '\n%-52s %9s %9s %8s %8s\n' "case" "baseline" "API" "ratio" "goal"
printf '%-52s %8.2fs %8.2fs %8s %8s\n' "upsert $N rows: ingest load vs submit --wait" "$t_load" "$t_api" "$(ratio "$t_api" "$t_load" 3)" "<1.05"
printf '%-52s %s\n' "  each round's ratio, sorted" "$pairs"
printf '%-52s %9s\n' "both tables end the same" "$([ "$same" = 0 ] && echo yes || echo "NO ($same rows differ)")"
read -r n took rate sub failed <<<"$one"
printf '%-52s %9s %8.2fs %7s/s %8s\n' "$n jobs x 100 rows, 2 workers, one table" "" "$took" "$rate" ">=200"
printf '%-52s (%s failed; submitting them took %.2f s)\n' "" "$failed" "$sub"
read -r n took rate sub failed <<<"$four"
printf '%-52s %9s %8.2fs %7s/s %8s\n' "$n jobs x 100 rows, 2 workers, four tables" "" "$took" "$rate" ">=200"
printf '%-52s (%s failed; submitting them took %.2f s)\n' "" "$failed" "$sub"

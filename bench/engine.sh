#!/usr/bin/env bash
# The load engine against its baselines, on the same generated file in the same run.
#   bench/engine.sh            # 1M rows
#   N=300000 bench/engine.sh   # another size
#   BIG=10000000 bench/engine.sh  # also peak RSS at 10M rows (takes a few minutes)
# Needs: a PostgreSQL (scripts/pg-up.sh starts one), python3, /usr/bin/time (Debian `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
BIG=${BIG:-}
. bench/lib.sh
bench_setup ingest_bench

orders "$W/orders_$N.csv" "$N" 7 1
orders "$W/updates_$N.csv" "$N" 8 $((N / 2 + 1))
for t in ref got ref_up got_up; do psql "$DB" -qc "create table $t $ORDERS_DDL"; done

hand_upsert() {
  psql "$DB" -q <<SQL
create temp table stg (like $1);
\copy stg from '$2' csv header
insert into $1 select * from stg on conflict (id) do update set customer_id=excluded.customer_id, sku=excluded.sku,
  quantity=excluded.quantity, unit_price=excluded.unit_price, ordered_at=excluded.ordered_at, status=excluded.status,
  gift=excluded.gift, note=excluded.note;
SQL
}

t_copy=$(secs psql "$DB" -qc "\\copy ref from '$W/orders_$N.csv' csv header")
t_app=$(secs env DATABASE_URL="$DB" "$BIN" load "$W/orders_$N.csv" --into got -q)
psql "$DB" -qc "insert into ref_up select * from ref; insert into got_up select * from ref" -c "vacuum analyze ref_up, got_up"
t_hand=$(secs hand_upsert ref_up "$W/updates_$N.csv")
t_up=$(secs env DATABASE_URL="$DB" "$BIN" load "$W/updates_$N.csv" --into got_up --mode upsert -q)
t_hand2=$(secs hand_upsert ref_up "$W/updates_$N.csv")
t_up2=$(secs env DATABASE_URL="$DB" "$BIN" load "$W/updates_$N.csv" --into got_up --mode upsert -q)
same=$(psql "$DB" -Atqc "select (select count(*) from (select * from ref_up except all select * from got_up) a) + (select count(*) from (select * from got_up except all select * from ref_up) b)")
psql "$DB" -qc "truncate got"
rss=$(peak_rss env DATABASE_URL="$DB" "$BIN" load "$W/orders_$N.csv" --into got -q)

printf '\n%-44s %9s %9s %7s %6s\n' "case ($N rows)" "baseline" "ingest" "ratio" "goal"
printf '%-44s %8.2fs %8.2fs %6sx %6s\n' "append vs psql \\copy" "$t_copy" "$t_app" "$(ratio "$t_copy" "$t_app")" "1.3x"
printf '%-44s %8.2fs %8.2fs %6sx %6s\n' "upsert (half new) vs \\copy+ON CONFLICT" "$t_hand" "$t_up" "$(ratio "$t_hand" "$t_up")" "1.2x"
printf '%-44s %8.2fs %8.2fs %6sx %6s\n' "re-upsert (all unchanged) vs the same SQL" "$t_hand2" "$t_up2" "$(ratio "$t_hand2" "$t_up2")" "3x"
printf '%-44s %9s\n' "upsert end state equals the SQL's" "$([ "$same" = 0 ] && echo yes || echo "NO ($same rows differ)")"
printf '%-44s %8s MB\n' "peak RSS, append of $N rows" "$((rss / 1024))"
printf 'append: %.0f rows/s ingest, %.0f rows/s psql \\copy\n' "$(echo "$N / $t_app" | bc)" "$(echo "$N / $t_copy" | bc)"
if [ -n "$BIG" ]; then
  orders "$W/orders_$BIG.csv" "$BIG" 7 1
  psql "$DB" -qc "truncate got"
  rss_big=$(peak_rss env DATABASE_URL="$DB" "$BIN" load "$W/orders_$BIG.csv" --into got -q)
  printf '%-44s %8s MB\n' "peak RSS, append of $BIG rows" "$((rss_big / 1024))"
fi

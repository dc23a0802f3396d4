#!/usr/bin/env bash
# Export against psql \copy TO, on the same table in the same run: the 1M-row orders table
# to Parquet and to CSV with `ingest export`, to CSV with `psql \copy ... TO`; best of RUNS,
# and the peak RSS of each export. Goals: Parquet >= 1.5x psql, CSV >= 1.0x, RSS < 150 MB.
#   bench/export.sh             # 1M rows, 5 rounds
#   N=300000 RUNS=3 bench/export.sh
# Needs: a PostgreSQL (scripts/pg-up.sh starts one), python3, bc, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-5}
. bench/lib.sh
bench_setup ingest_bench_export
orders "$W/orders_$N.csv" "$N" 7 1
psql "$DB" -qc "create table orders $ORDERS_DDL" -c "\\copy orders from '$W/orders_$N.csv' csv header" \
  -c "vacuum analyze orders"

psqls=() pqs=() csvs=() pq2s=()
for r in $(seq "$RUNS"); do
  psqls+=("$(secs psql "$DB" -qc "\\copy orders to '$W/export_psql.csv' csv header")")
  pqs+=("$(secs env DATABASE_URL="$DB" "$BIN" export --table orders --to "$W/export.parquet" -q)")
  csvs+=("$(secs env DATABASE_URL="$DB" "$BIN" export --table orders --to "$W/export.csv" -q)")
  pq2s+=("$(secs env DATABASE_URL="$DB" "$BIN" export --table orders --to "$W/export2.parquet" --readers 2 -q)")
done
t_psql=$(min "${psqls[@]}"); t_pq=$(min "${pqs[@]}"); t_csv=$(min "${csvs[@]}"); t_pq2=$(min "${pq2s[@]}")
rss_pq=$(peak_rss env DATABASE_URL="$DB" "$BIN" export --table orders --to "$W/export.parquet" -q)
rss_csv=$(peak_rss env DATABASE_URL="$DB" "$BIN" export --table orders --to "$W/export.csv" -q)
same_csv=$(cmp -s "$W/export_psql.csv" "$W/export.csv" && echo yes || echo no)

printf '\n%-40s %9s %9s %10s\n' "case ($N rows, best of $RUNS)" "seconds" "vs psql" "peak RSS"
printf '%-40s %8.2fs %9s %10s\n' "psql \\copy orders TO csv" "$t_psql" "" ""
printf '%-40s %8.2fs %8sx %7s MB  (goal 1.5x, <150 MB)\n' "ingest export parquet (zstd)" "$t_pq" "$(ratio "$t_psql" "$t_pq")" "$((rss_pq / 1024))"
printf '%-40s %8.2fs %8sx\n' "ingest export parquet, 2 readers" "$t_pq2" "$(ratio "$t_psql" "$t_pq2")"
printf '%-40s %8.2fs %8sx %7s MB  (goal 1.0x)\n' "ingest export csv" "$t_csv" "$(ratio "$t_psql" "$t_csv")" "$((rss_csv / 1024))"
printf '%-40s %s\n' "csv identical to psql's" "$same_csv"
printf 'sizes: csv %s bytes, parquet %s bytes\n' "$(stat -c %s "$W/export.csv")" "$(stat -c %s "$W/export.parquet")"

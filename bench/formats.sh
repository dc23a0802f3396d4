#!/usr/bin/env bash
# Parquet against CSV, and S3 against a local path, on the same rows in the same run.
#   bench/formats.sh            # 1M orders
#   N=300000 bench/formats.sh
# The orders CSV is converted to Parquet by pyarrow (snappy, the default of Spark and
# pyarrow); the S3-compatible server is moto on loopback. Each case loads into an empty
# table and is run RUNS times (default 3); the best time counts.
# Needs: a PostgreSQL (scripts/pg-up.sh), the virtualenv of scripts/py-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-3}
. bench/lib.sh
PY=$(scripts/py-env.sh)
bench_setup ingest_bench_fmt
orders "$W/orders_$N.csv" "$N" 7 1
[ -s "$W/orders_$N.parquet" ] || "$PY" -c "
import sys, pyarrow as pa, pyarrow.csv as pc, pyarrow.parquet as pq
types = {'id': pa.int64(), 'customer_id': pa.int64(), 'sku': pa.string(), 'quantity': pa.int32(),
         'unit_price': pa.decimal128(12, 2), 'ordered_at': pa.timestamp('us', tz='UTC'), 'status': pa.string(),
         'gift': pa.bool_(), 'note': pa.string()}
t = pc.read_csv(sys.argv[1], parse_options=pc.ParseOptions(newlines_in_values=True),
                convert_options=pc.ConvertOptions(column_types=types, strings_can_be_null=False))
pq.write_table(t, sys.argv[2], compression='snappy')
pq.write_table(t, sys.argv[3], compression='snappy', row_group_size=max(1, t.num_rows // 5))" \
  "$W/orders_$N.csv" "$W/orders_$N.parquet" "$W/orders_${N}_rg5.parquet"

port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
"$(dirname "$PY")/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
for _ in $(seq 50); do curl -s "$AWS_ENDPOINT_URL" >/dev/null && break; sleep 0.2; done
"$PY" -c "import boto3,sys; s=boto3.client('s3'); s.create_bucket(Bucket='bench')
for f in sys.argv[1:]: s.upload_file(f, 'bench', 'in/' + f.rsplit('/', 1)[1])" "$W/orders_$N.parquet" "$W/orders_$N.csv" \
  "$W/orders_${N}_rg5.parquet"

load() { env DATABASE_URL="$DB" "$BIN" load "$1" --into t -q; }
once() { # seconds for one run into a fresh table
  psql "$DB" -qc "drop table if exists t; create table t $ORDERS_DDL"
  local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc
}
# The cases take turns, RUNS rounds, so that a slow spell of the machine falls on all of
# them alike; the best of each counts.
declare -A best
cases=(copy csv pq s3pq s3csv pq5 s3pq5)
for _ in $(seq "$RUNS"); do
  for c in "${cases[@]}"; do
    case $c in
      copy) t=$(once psql "$DB" -qc "\\copy t from '$W/orders_$N.csv' csv header") ;;
      csv) t=$(once load "$W/orders_$N.csv") ;;
      pq) t=$(once load "$W/orders_$N.parquet") ;;
      s3pq) t=$(once load "s3://bench/in/orders_$N.parquet") ;;
      s3csv) t=$(once load "s3://bench/in/orders_$N.csv") ;;
      pq5) t=$(once load "$W/orders_${N}_rg5.parquet") ;;
      s3pq5) t=$(once load "s3://bench/in/orders_${N}_rg5.parquet") ;;
    esac
    if [ -z "${best[$c]:-}" ] || [ "$(echo "$t < ${best[$c]}" | bc)" = 1 ]; then best[$c]=$t; fi
  done
done
t_copy=${best[copy]} t_csv=${best[csv]} t_pq=${best[pq]} t_s3pq=${best[s3pq]} t_s3csv=${best[s3csv]}
t_pq5=${best[pq5]} t_s3pq5=${best[s3pq5]}
same=$(psql "$DB" -Atqc "select count(*) from t")
rss() { psql "$DB" -qc "drop table if exists t; create table t $ORDERS_DDL"; peak_rss env DATABASE_URL="$DB" "$BIN" load "$1" --into t -q; }
rss_pq=$(rss "$W/orders_$N.parquet")
rss_s3=$(rss "s3://bench/in/orders_$N.parquet")
rss_csv=$(rss "s3://bench/in/orders_$N.csv")
printf '\n%-40s %9s   (best of %s; %s rows, %s MB CSV, %s MB Parquet)\n' "case" "seconds" "$RUNS" "$N" \
  "$(( $(stat -c %s "$W/orders_$N.csv") >> 20 ))" "$(( $(stat -c %s "$W/orders_$N.parquet") >> 20 ))"
printf '%-40s %8.2fs\n' "psql \\copy, CSV" "$t_copy"
printf '%-40s %8.2fs  %sx psql \\copy\n' "ingest, CSV, local" "$t_csv" "$(ratio "$t_copy" "$t_csv")"
printf '%-40s %8.2fs  %sx CSV (goal >= 1.0)\n' "ingest, Parquet, local" "$t_pq" "$(ratio "$t_csv" "$t_pq")"
printf '%-40s %8.2fs  S3 takes %s of local (goal <= 1.10)\n' "ingest, Parquet, S3 (moto)" "$t_s3pq" "$(ratio "$t_s3pq" "$t_pq")"
printf '%-40s %8.2fs  S3 takes %s of local\n' "ingest, CSV, S3 (moto)" "$t_s3csv" "$(ratio "$t_s3csv" "$t_csv")"
printf '%-40s %8.2fs  %sx CSV\n' "ingest, Parquet in 5 row groups, local" "$t_pq5" "$(ratio "$t_csv" "$t_pq5")"
printf '%-40s %8.2fs  S3 takes %s of local\n' "ingest, Parquet in 5 row groups, S3" "$t_s3pq5" "$(ratio "$t_s3pq5" "$t_pq5")"
printf 'rows in the table after the last timed load: %s\n' "$same"
printf 'peak RSS: Parquet local %s MB, Parquet S3 %s MB, CSV S3 %s MB\n' "$((rss_pq / 1024))" "$((rss_s3 / 1024))" "$((rss_csv / 1024))"

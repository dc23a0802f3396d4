# Shared by the benchmarks (sourced from the project's root): a fresh database, the
# release binary, the orders table and file, and the timing helpers.

W=${BENCH_DIR:-/tmp/ingest-bench}
ORDERS_DDL="(id bigint primary key, customer_id bigint not null, sku varchar(12) not null, quantity integer not null,
      unit_price numeric(12,2) not null, ordered_at timestamptz not null, status text not null, gift boolean, note text)"

# bench_setup NAME: a PostgreSQL (started if need be) with a fresh database NAME, the
# release build and /usr/bin/time. Sets DB and BIN.
bench_setup() {
  mkdir -p "$W"
  local base
  base=$(scripts/pg-up.sh | sed 's#/test$##')
  psql "$base/postgres" -qc "drop database if exists $1 with (force)" -c "create database $1"
  DB=$base/$1
  [ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null 2>&1 || true; }
  cargo build --release -q
  BIN=$PWD/target/release/ingest
}

# orders PATH ROWS SEED FIRST_ID: the generated orders file, made once.
orders() { [ -s "$1" ] || python3 bench/gen_orders.py "$1" "$2" "$3" "$4"; }

# secs CMD...: the wall-clock seconds CMD takes (its output discarded).
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
# ratio A B [DIGITS]: A / B.
ratio() { printf "%.${3:-2}f" "$(echo "scale=$(( ${3:-2} + 2 )); $1 / $2" | bc)"; }
# min X...: the smallest.
min() { echo "$@" | tr ' ' '\n' | sort -g | head -1; }
# peak_rss CMD...: CMD's peak resident set, in KB.
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

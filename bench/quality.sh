#!/usr/bin/env bash
# The cost of quality rules: the same 1M orders loaded without rules, with six row rules
# (range, in, regex, cpf on a valid generated column, not_null, length), and with
# `unique` and `outlier` on top (which stage the rows), in the same run.
#   bench/quality.sh            # 1M orders
#   N=300000 RUNS=5 bench/quality.sh
# Each case loads into an empty table, RUNS rounds taken in turns (default 3); the best
# time counts. Goal: six row rules cost at most 15%; peak RSS stays flat.
# Needs: a PostgreSQL (scripts/pg-up.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-3}
. bench/lib.sh
bench_setup ingest_bench_quality
orders "$W/orders_$N.csv" "$N" 7 1
# The orders file with a valid CPF per row, computed by its check digits.
[ -s "$W/orders_cpf_$N.csv" ] || python3 - "$W/orders_$N.csv" "$W/orders_cpf_$N.csv" <<'PY'
import csv, random, sys
r = random.Random(3)
def cpf():
    d = [r.randint(0, 9) for _ in range(9)]
    for k in (10, 11):
        v = sum(x * w for x, w in zip(d, range(k, 1, -1))) * 10 % 11
        d.append(0 if v == 10 else v)
    s = "".join(map(str, d))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"
with open(sys.argv[1], newline="", encoding="utf-8") as f, open(sys.argv[2], "w", newline="", encoding="utf-8") as o:
    rd, w = csv.reader(f), csv.writer(o)
    w.writerow(next(rd) + ["cpf"])
    for row in rd:
        w.writerow(row + [cpf()])
PY
cat > "$W/row_rules.yaml" <<'YAML'
rules:
  - {id: quantidade, column: quantity, check: range, min: 1, max: 500}
  - {id: situacao, column: status, check: in, values: [novo, pago, enviado, entregue, cancelado]}
  - {id: sku, column: sku, check: regex, pattern: '^SKU-[0-9]{7}$'}
  - {id: cpf, column: cpf, check: cpf}
  - {id: cliente, column: customer_id, check: not_null}
  - {id: nota, column: note, check: length, max: 40}
YAML
{ cat "$W/row_rules.yaml"; cat <<'YAML'
  - {id: sku_unico, column: sku, check: unique, keep: last, severity: warn}
  - {id: preco, column: unit_price, check: outlier, method: iqr, k: 3, severity: warn}
YAML
} > "$W/set_rules.yaml"
DDL="${ORDERS_DDL%)}, cpf text)"
fresh() { psql "$DB" -qc "drop table if exists t; create table t $DDL"; }
load() { env DATABASE_URL="$DB" "$BIN" load "$W/orders_cpf_$N.csv" --into t -q --max-errors 100% "$@"; }
once() { fresh; local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
declare -A best
cases=(none row set)
for _ in $(seq "$RUNS"); do
  for c in "${cases[@]}"; do
    case $c in
      none) t=$(once load) ;;
      row) t=$(once load --rules "$W/row_rules.yaml") ;;
      set) t=$(once load --rules "$W/set_rules.yaml") ;;
    esac
    if [ -z "${best[$c]:-}" ] || [ "$(echo "$t < ${best[$c]}" | bc)" = 1 ]; then best[$c]=$t; fi
  done
done
# One more run of each under /usr/bin/time: peak RSS and the CPU seconds of ingest itself
# (the wall time is mostly the server's COPY on 2 cores; the rules' own cost is CPU).
measure() { fresh; /usr/bin/time -f "%M %U %S" env DATABASE_URL="$DB" "$BIN" load "$W/orders_cpf_$N.csv" --into t -q --max-errors 100% "$@" 2>&1 >/dev/null | tail -1; }
read -r rss_none u s <<<"$(measure)"; cpu_none=$(echo "$u + $s" | bc)
read -r rss_row u s <<<"$(measure --rules "$W/row_rules.yaml")"; cpu_row=$(echo "$u + $s" | bc)
read -r rss_set u s <<<"$(measure --rules "$W/set_rules.yaml")"; cpu_set=$(echo "$u + $s" | bc)
rows=$(psql "$DB" -Atqc "select count(*) from t")
pct() { printf '%.1f' "$(echo "scale=4; ($1 / $2 - 1) * 100" | bc)"; }
printf '\n%-44s %9s %10s %10s   (best of %s; %s rows)\n' "case" "seconds" "ingest CPU" "peak RSS" "$RUNS" "$N"
printf '%-44s %8.2fs %9.2fs %7s MB\n' "no rules" "${best[none]}" "$cpu_none" "$((rss_none / 1024))"
printf '%-44s %8.2fs %9.2fs %7s MB  wall %s%%, CPU %s%% (goal <= 15%%)\n' "six row rules" "${best[row]}" "$cpu_row" \
  "$((rss_row / 1024))" "$(pct "${best[row]}" "${best[none]}")" "$(pct "$cpu_row" "$cpu_none")"
printf '%-44s %8.2fs %9.2fs %7s MB  wall %s%%, CPU %s%%\n' "six row rules + unique + outlier (staged)" "${best[set]}" \
  "$cpu_set" "$((rss_set / 1024))" "$(pct "${best[set]}" "${best[none]}")" "$(pct "$cpu_set" "$cpu_none")"
printf 'rows in the table after the last load: %s\n' "$rows"

"""Deterministic 'orders' CSV files for the benchmark (same shape as the acceptance data).

usage: gen_orders.py PATH ROWS [SEED] [FIRST_ID]
"""
import csv, random, sys, datetime as dt

def main(path, n, seed=7, first=1):
    r = random.Random(seed)
    statuses = ["novo", "pago", "enviado", "entregue", "cancelado"]
    notes = ["", "frágil", 'diz "urgente"', "a, b; c", "linha\nquebrada", "ação  ", "Ünïcödé"]
    base = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "customer_id", "sku", "quantity", "unit_price", "ordered_at", "status", "gift", "note"])
        for i in range(first, first + n):
            w.writerow([i, r.randint(1, 50_000), "SKU-%07d" % r.randint(0, 9_999_999), r.randint(1, 500),
                        "%d.%02d" % (r.randint(0, 99_999), r.randint(0, 99)),
                        (base + dt.timedelta(seconds=r.randint(0, 60_000_000))).isoformat(),
                        r.choice(statuses), "true" if r.random() < 0.1 else "false", r.choice(notes)])

if __name__ == "__main__":
    a = sys.argv
    main(a[1], int(a[2]), int(a[3]) if len(a) > 3 else 7, int(a[4]) if len(a) > 4 else 1)

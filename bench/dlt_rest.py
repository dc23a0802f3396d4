#!/usr/bin/env python3
"""The dlt side of bench/sources.sh: dlt's rest_api source reads bench/mock_api.py's trips
(cursor pagination on meta.next, records under `data`, 1000 a page, bearer token from
MOCK_API_TOKEN) and loads them into PostgreSQL, dataset (schema) DATASET, table `trips`,
merged on `id` (dlt's upsert), with the same column types as ingest's target: km and fare
as decimals, updated_at a timestamp, route one json column (not flattened).

    MOCK_API_TOKEN=secret python bench/dlt_rest.py --base-url http://127.0.0.1:18080/v2 \
        --db postgres://postgres@127.0.0.1:5432/db --dataset dlt_trips --pipelines-dir /tmp/dlt

One run is dlt's whole pipeline.run(): extract, normalize and load. It prints the rows
loaded and each step's seconds on stderr.
"""

import argparse
import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402


def credentials(url):
    """dlt's postgres credentials want a password: a URL without one (trust auth) gets a
    placeholder, which the server does not ask for."""
    u = urlsplit(url)
    netloc = u.netloc
    if u.password is None and "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user}:unused@{host}"
    return urlunsplit(("postgresql", netloc, u.path, u.query, u.fragment))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--db", required=True, help="the PostgreSQL URL")
    ap.add_argument("--dataset", default="dlt_trips")
    ap.add_argument("--pipelines-dir", required=True)
    ap.add_argument("--per-page", type=int, default=1000)
    args = ap.parse_args()

    source = rest_api_source({
        "client": {
            "base_url": args.base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": os.environ.get("MOCK_API_TOKEN", "bench-token")},
            "paginator": {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "cursor"},
        },
        "resources": [{
            "name": "trips",
            "primary_key": "id",
            "write_disposition": "merge",
            "columns": {
                "id": {"data_type": "bigint", "nullable": False},
                "km": {"data_type": "decimal", "precision": 10, "scale": 1},
                "fare": {"data_type": "decimal", "precision": 10, "scale": 2},
                "updated_at": {"data_type": "timestamp"},
                "route": {"data_type": "json"},
            },
            "endpoint": {"path": "trips", "params": {"per_page": args.per_page}, "data_selector": "data"},
        }],
    })
    pipeline = dlt.pipeline(
        pipeline_name="bench_trips",
        pipelines_dir=args.pipelines_dir,
        destination=dlt.destinations.postgres(credentials=credentials(args.db)),
        dataset_name=args.dataset,
    )
    t0 = time.monotonic()
    pipeline.extract(source)
    t1 = time.monotonic()
    normalized = pipeline.normalize()
    t2 = time.monotonic()
    pipeline.load()
    t3 = time.monotonic()
    rows = normalized.row_counts.get("trips", 0) if normalized else 0
    print(f"dlt: {rows} trips; extract {t1 - t0:.2f}s, normalize {t2 - t1:.2f}s, load {t3 - t2:.2f}s",
          file=sys.stderr)


if __name__ == "__main__":
    main()

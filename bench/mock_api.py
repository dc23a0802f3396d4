#!/usr/bin/env python3
"""A small mock REST API for bench/sources.sh (Python stdlib only): a carrier's trips.

    MOCK_API_TOKEN=secret bench/mock_api.py --port 18080 --records 100000

GET /v2/trips?updated_since=ISO&per_page=N&cursor=C answers
    {"data": [{"id", "plate", "driver", "km" (a string), "fare" (a number),
               "updated_at" (ISO 8601, UTC), "route" (an object)}, ...],
     "meta": {"next": "<cursor>" | null}}
in the order of updated_at (then id), the records at or after `updated_since` (all of
them without it), `per_page` at a time (default 100, at most 10000); `cursor` is the
opaque `meta.next` of the page before. The bearer token is MOCK_API_TOKEN (default
`bench-token`): any other answers 401. No throttling. The records are the same on every
start (made from their id); each page's JSON is kept once made, so that a second round
costs the server next to nothing. GET /health answers 200 (for the bench to wait on).
"""

import argparse
import base64
import bisect
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
CITIES = ["Recife", "Olinda", "Caruaru", "Petrolina", "Garanhuns", "Natal", "Maceió", "João Pessoa",
          "Campina Grande", "Fortaleza", "Salvador", "Aracaju"]
FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Hugo", "Iara", "João"]
LAST = ["Silva", "Souza", "Oliveira", "Santos", "Lima", "Ferreira", "Costa", "Almeida"]


def records(n):
    """n trips, updated_at growing with id (three records share each second)."""
    r = random.Random(11)
    out = []
    for i in range(1, n + 1):
        km = r.randint(5, 9000) / 10
        out.append({
            "id": i,
            "plate": f"{chr(65 + r.randint(0, 25))}{chr(65 + r.randint(0, 25))}{chr(65 + r.randint(0, 25))}"
                     f"{r.randint(0, 9)}{chr(65 + r.randint(0, 9))}{r.randint(10, 99)}",
            "driver": f"{r.choice(FIRST)} {r.choice(LAST)}",
            "km": f"{km:.1f}",
            "fare": round(4.5 + km * 2.35, 2),
            "updated_at": (EPOCH + timedelta(seconds=i // 3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "route": {"from": r.choice(CITIES), "to": r.choice(CITIES), "stops": r.randint(0, 6),
                      "toll": r.random() < 0.3},
        })
    return out


def encode_cursor(offset):
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(text):
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    if not raw.startswith("o:"):
        raise ValueError(text)
    return int(raw[2:])


def parse_time(text):
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--records", type=int, default=100000)
    args = ap.parse_args()
    token = os.environ.get("MOCK_API_TOKEN", "bench-token")
    data = records(args.records)
    stamps = [parse_time(d["updated_at"]) for d in data]
    pages = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/health":
                return self.send(200, b'{"ok": true}')
            if url.path.rstrip("/") != "/v2/trips":
                return self.send(404, b'{"error": "not found"}')
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self.send(401, b'{"error": "a bearer token is needed"}')
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                per_page = min(max(int(q.get("per_page", 100)), 1), 10000)
                start = bisect.bisect_left(stamps, parse_time(q["updated_since"])) if q.get("updated_since") else 0
                if q.get("cursor"):
                    start = max(start, decode_cursor(q["cursor"]))
            except (ValueError, KeyError) as e:
                return self.send(400, json.dumps({"error": f"bad parameter: {e}"}).encode())
            key = (start, per_page)
            body = pages.get(key)
            if body is None:
                end = min(start + per_page, len(data))
                nxt = encode_cursor(end) if end < len(data) else None
                body = json.dumps({"data": data[start:end], "meta": {"next": nxt}},
                                  ensure_ascii=False, separators=(",", ":")).encode()
                pages[key] = body
            self.send(200, body)

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"mock_api: {args.records} trips on http://{args.host}:{args.port}/v2/trips", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

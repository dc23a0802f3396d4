#!/usr/bin/env bash
# Property-based tests of the Bulk API against its own OpenAPI document: schemathesis (from
# PyPI, in the virtualenv of scripts/py-env.sh) sends generated requests, with a token, to
# a real `ingest serve`, and fails on any server error, any status or content type the
# document does not list, and any response that breaks its schema. Bounded: about a minute.
# (Whether a request the schema allows is accepted is not checked: the schema states the
# shape of a job, its rules are semantic, e.g. a source needs a url or an upload.)
# Usage: scripts/api-fuzz.sh [extra `st run` arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(scripts/py-env.sh)
ST="$(dirname "$PY")/st"
DATABASE_URL=${INGEST_TEST_DATABASE_URL:-$(scripts/pg-up.sh)}
export DATABASE_URL
cargo build -q -p ingest
BIN=target/debug/ingest
SCHEMA=ingest_api_fuzz
psql "$DATABASE_URL" -qc "drop schema if exists $SCHEMA cascade" 2>/dev/null
"$BIN" migrate --schema "$SCHEMA" >/dev/null
TOKEN=$("$BIN" token create --schema "$SCHEMA" --name fuzz --tables '*')
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
DATA=$(mktemp -d)
"$BIN" serve --port "$PORT" --schema "$SCHEMA" --workers 1 --data-dir "$DATA" >"$DATA/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"; psql "$DATABASE_URL" -qc "drop schema if exists $SCHEMA cascade" 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
status=0
timeout 300 "$ST" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples 50 --seed 1 --no-color \
  -H "Authorization: Bearer $TOKEN" "$@" || status=$?
if grep -q 'API error' "$DATA/serve.log"; then
  echo "api-fuzz: the server logged errors:"; grep 'API error' "$DATA/serve.log" | head -20
  status=1
fi
exit $status

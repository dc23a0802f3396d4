#!/usr/bin/env bash
# The whole test suite against a real PostgreSQL (started or installed if needed).
# Usage: scripts/test.sh [extra cargo-nextest arguments]
# Without arguments it ends with scripts/api-fuzz.sh (schemathesis against `ingest serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
INGEST_TEST_DATABASE_URL=$(scripts/pg-up.sh)
export INGEST_TEST_DATABASE_URL
echo "tests use $INGEST_TEST_DATABASE_URL"
INGEST_TEST_MYSQL_URL=$(scripts/mariadb-up.sh)
export INGEST_TEST_MYSQL_URL
scripts/brokers-up.sh
INGEST_TEST_PYTHON=$(scripts/py-env.sh)
export INGEST_TEST_PYTHON
INGEST_TEST_AZURITE=$(scripts/azurite.sh)
export INGEST_TEST_AZURITE
if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest >/dev/null 2>&1 || true
fi
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The whole suite (no filter given) also fuzzes the Bulk API against its OpenAPI document,
# and drives the web console in a headless Chromium.
if [ $# -eq 0 ]; then
  scripts/api-fuzz.sh
  scripts/browser-tests.sh
fi

#!/usr/bin/env bash
# The web console's browser tests: tests/browser/console.mjs drives `ingest serve`'s console
# in a headless Chromium (Debian's chromium, through playwright-core from npm; no browser is
# ever downloaded), by role and accessible name, against a real PostgreSQL: a pt-BR
# Windows-1252 CSV, a two-sheet xlsx, rejects and tolerance, live progress and Cancel on a
# 1,000,000-row file, the jobs list, both languages, axe-core, and (last: once a token
# exists, every request needs one) a token limited to one table.
# Installs what it lacks (chromium, node, playwright-core and @axe-core/playwright under
# target/browser-node), uses a database of its own (dropped at the end) in the test
# PostgreSQL ($INGEST_TEST_DATABASE_URL, else scripts/pg-up.sh), and a debug build.
# Screenshots of each step: target/browser-shots/ (kept). Logs: target/browser-work/.
# Usage: scripts/browser-tests.sh            (under a minute once built; non-zero on any failure)
#        INGEST_BIN=path/to/ingest scripts/browser-tests.sh    (that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
started=$(date +%s)
WORK=$ROOT/target/browser-work
SHOTS=$ROOT/target/browser-shots
NODEDIR=$ROOT/target/browser-node
mkdir -p "$WORK"
say() { echo "browser-tests: $*"; }
apt_install() {
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >"$WORK/apt.log" 2>&1 \
    || { say "could not install $*: $(tail -1 "$WORK/apt.log")"; exit 1; }
}

# ---- tools, installed once -------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then say "installing chromium (Debian)"; apt_install chromium; fi
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' 2>/dev/null; then
  say "installing node (Debian)"; apt_install nodejs npm
fi
if [ ! -f "$NODEDIR/node_modules/playwright-core/package.json" ] || [ ! -f "$NODEDIR/node_modules/@axe-core/playwright/package.json" ]; then
  say "installing playwright-core and @axe-core/playwright into $NODEDIR"
  mkdir -p "$NODEDIR"
  [ -f "$NODEDIR/package.json" ] || echo '{"name": "ingest-browser-tests", "private": true}' >"$NODEDIR/package.json"
  (cd "$NODEDIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm install --no-audit --no-fund --loglevel=error \
    playwright-core@1 @axe-core/playwright@4) >"$WORK/npm.log" 2>&1 \
    || { say "npm install failed: $(tail -1 "$WORK/npm.log")"; exit 1; }
fi

# ---- the database, the binary, the files -----------------------------------------------------
BASE_URL=${INGEST_TEST_DATABASE_URL:-$(scripts/pg-up.sh)}
DBNAME=ingest_browser_$$_$RANDOM
# the same server and credentials, another database
DB=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$BASE_URL" "$DBNAME")
SCHEMA=ingest_browser
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
URL=http://127.0.0.1:$PORT
RUN=ingest-browser-$$-$RANDOM
SERVER=; DRIVER=; DB_MADE=
cleanup() {
  set +e
  [ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
  # a Chromium left behind all the same, found by the marker this run put on its command line
  local p; for p in $(grep -lsa -- "--ingest-browser-ru[n]=$RUN" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do kill -9 "$p" 2>/dev/null; done
  [ -n "$SERVER" ] && wait "$SERVER" 2>/dev/null
  [ -n "$DB_MADE" ] && psql "$BASE_URL" -qc "drop database if exists $DBNAME with (force)" >/dev/null 2>&1
  say "took $(( $(date +%s) - started ))s"
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP

if [ -n "${INGEST_BIN:-}" ]; then
  BIN=$INGEST_BIN   # a binary built already (e.g. a release build); nothing is built then
else
  say "building"
  cargo build -q -p ingest
  BIN=$ROOT/target/debug/ingest
fi
PY=$(scripts/py-env.sh)
"$PY" tests/browser/fixtures.py "$WORK/files"
psql "$BASE_URL" -qc "create database $DBNAME" >/dev/null; DB_MADE=1
BIG="(id bigint primary key, code text not null, amount numeric(12,2), day date)"
# the 1,000,000-row tables carry indexes: a load lasts long enough (~10 s) to watch and cancel
psql "$DB" -q -v ON_ERROR_STOP=1 <<SQL
create table public.vendas (id bigint primary key, cliente text not null, valor numeric(12,2) not null, data date not null, pago boolean);
create table public.planilha (id bigint primary key, produto text not null, quantidade integer not null);
create table public.produtos (id bigint primary key, nome text not null, preco numeric(10,2), qtd integer not null);
insert into public.produtos values (1000, 'sentinela', 0, 0);
create table public.big_load $BIG;
create table public.big_cancel $BIG;
create index on public.big_load (code); create index on public.big_load (amount, day); create index on public.big_load (day, code);
create index on public.big_cancel (code); create index on public.big_cancel (amount, day); create index on public.big_cancel (day, code);
create table public.pequeno (id bigint primary key, nome text not null, preco numeric(10,2), qtd integer not null);
create table public.axe_produtos (id bigint primary key, nome text not null, preco numeric(10,2), qtd integer not null);
create table public.allowed (id bigint primary key, texto text);
SQL
DATABASE_URL=$DB "$BIN" migrate --schema "$SCHEMA" >/dev/null

# ---- the server and the browser ----------------------------------------------------------------
rm -rf "$WORK/data" "$SHOTS"; mkdir -p "$WORK/data" "$SHOTS"
: >"$WORK/browser.log"
DATABASE_URL=$DB "$BIN" serve --port "$PORT" --schema "$SCHEMA" --workers 2 --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
  curl -sf "$URL/healthz" >/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { say "ingest serve exited: $(tail -1 "$WORK/serve.log")"; exit 1; }
  sleep 0.2
done
say "console at $URL, database $DBNAME, schema $SCHEMA"
status=0
BT_URL=$URL BT_DB=$DB BT_SCHEMA=$SCHEMA BT_BIN=$BIN BT_FILES=$WORK/files BT_WORK=$WORK BT_SHOTS=$SHOTS \
  BT_NODE=$NODEDIR BT_RUN=$RUN timeout -k 10 240 node tests/browser/console.mjs &
DRIVER=$!
wait "$DRIVER" || status=$?
DRIVER=
if grep -q 'API error\|panicked' "$WORK/serve.log"; then
  say "the server logged errors:"; grep 'API error\|panicked' "$WORK/serve.log" | head -10; status=1
fi
[ "$status" = 0 ] || say "FAILED (details: $WORK/browser.log, $WORK/serve.log; screenshots: $SHOTS/)"
exit "$status"

#!/usr/bin/env bash
# Makes sure a PostgreSQL answers on $PG_TEST_HOST:$PG_TEST_PORT (default 127.0.0.1:5432)
# with trust auth for the `postgres` user and a database `test`:
#   1. one is already running: use it;
#   2. Debian's cluster is installed but stopped: allow trust on loopback and start it;
#   3. nothing installed: apt-get install postgresql, then as 2.
# Prints the test database URL on stdout.
set -euo pipefail
host=${PG_TEST_HOST:-127.0.0.1}
port=${PG_TEST_PORT:-5432}
base="postgres://postgres@$host:$port"

ready() { psql "$base/postgres" -Atqc 'select 1' >/dev/null 2>&1; }

if ! ready; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "pg-up: installing PostgreSQL from Debian" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  v=$(ls /etc/postgresql | sort -n | tail -1)
  hba=/etc/postgresql/$v/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 2>&1 \
    || pg_ctlcluster --skip-systemctl-redirect "$v" main reload >&2 2>&1 || true
  for _ in $(seq 60); do ready && break; sleep 1; done
  ready || { echo "pg-up: PostgreSQL did not come up on $host:$port" >&2; exit 1; }
fi
if [ "$(psql "$base/postgres" -Atqc "select count(*) from pg_database where datname = 'test'")" = 0 ]; then
  psql "$base/postgres" -qc 'create database test' >&2
fi
echo "$base/test"

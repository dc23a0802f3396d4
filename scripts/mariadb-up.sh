#!/usr/bin/env bash
# Makes sure MariaDB answers on 127.0.0.1:3306 (root, no password, database `test`) for the
# pull-source tests: starts the machine's server when it is stopped. Prints its URL.
set -euo pipefail
up() { mariadb -h127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1; }
if ! up; then
  if [ -x /usr/sbin/mariadbd ]; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
  fi
  for _ in $(seq 60); do up && break; sleep 1; done
fi
up || { echo "scripts/mariadb-up.sh: no MariaDB on 127.0.0.1:3306 (root, no password)" >&2; exit 1; }
mariadb -h127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >/dev/null
echo "mysql://root@127.0.0.1:3306/test"

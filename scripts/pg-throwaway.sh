#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster from the local binaries
# (initdb/pg_ctl), on a free loopback port, under a temporary directory.
#
#   scripts/pg-throwaway.sh start [--durable]   prints `export` lines: eval them
#   scripts/pg-throwaway.sh stop DIR            stops it and removes DIR
#
# As root, the server runs as the `postgres` user (PostgreSQL refuses root).
# Without --durable it runs with fsync and synchronous_commit off: faster
# tests, no crash safety (benchmarks pass --durable).
set -euo pipefail

find_bin() {
  local d
  # Prefer the real directory (psql and pg_ctl sit beside initdb there).
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  echo "PostgreSQL server binaries (initdb) not found; install them (Debian: apt-get install postgresql)" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

cmd=${1:-}
case "$cmd" in
  start)
    durable=${2:-}
    bin=$(find_bin)
    dir=$(mktemp -d /tmp/missive-pg.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown postgres "$dir"
    fi
    port=$(free_port)
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300"
    if [ "$durable" != "--durable" ]; then
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w start >/dev/null
    psql=$(command -v psql || echo "$bin/psql")
    "$psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE ROLE missive LOGIN PASSWORD 'missive' CREATEDB" \
      -c "CREATE DATABASE missive OWNER missive" >/dev/null
    echo "export MISSIVE_PG_DIR='$dir'"
    echo "export MISSIVE_TEST_DATABASE_URL='postgres://missive:missive@127.0.0.1:$port/missive'"
    ;;
  stop)
    dir=${2:?usage: $0 stop DIR}
    bin=$(find_bin)
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start [--durable] | stop DIR" >&2
    exit 2
    ;;
esac

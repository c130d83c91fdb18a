#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster on a local port and print its DATABASE_URL.
# Usage: scripts/postgres.sh start|stop   (PGPORT defaults to 5433)
# The cluster lives under /tmp so the postgres user can reach it wherever the checkout is.
set -euo pipefail
port="${PGPORT:-5433}"
data="${PGDATA_DIR:-/tmp/ve-portal-postgres-$port}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bin" ] || { echo "PostgreSQL is not installed (scripts/system-packages.sh postgresql)" >&2; exit 1; }

# PostgreSQL refuses to run as root: as root, run it as the postgres user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

case "${1:-start}" in
  start)
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "'$bin/initdb' -D '$data' -U postgres --auth=trust -E UTF8 >/dev/null"
    fi
    if ! as_owner "'$bin/pg_ctl' -D '$data' status" >/dev/null 2>&1; then
      if ! as_owner "'$bin/pg_ctl' -D '$data' -l '$data/server.log' -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" -w start" >/dev/null; then
        echo "PostgreSQL did not start; its log:" >&2
        tail -n 20 "$data/server.log" >&2
        exit 1
      fi
    fi
    echo "postgres://postgres@127.0.0.1:$port/portal"
    ;;
  stop)
    as_owner "'$bin/pg_ctl' -D '$data' -m fast stop" >/dev/null 2>&1 || true
    ;;
esac

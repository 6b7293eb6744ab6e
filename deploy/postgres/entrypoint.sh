#!/bin/bash
# Entry point of mythoughts/postgres, a PostgreSQL image built from Debian's
# packages (deploy/postgres/build.sh) for machines that cannot pull the
# official `postgres` image. It honours the same interface as the official
# image, as far as deploy/compose.yaml uses it:
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE   superuser password (required)
#   POSTGRES_USER (default postgres), POSTGRES_DB (default: POSTGRES_USER)
#   PGDATA (default /var/lib/postgresql/data)
#   /docker-entrypoint-initdb.d/*.sh|*.sql   run once, on an empty data directory
# and then runs `postgres` in the foreground as PID 1 (SIGTERM = smart shutdown,
# SIGINT = fast shutdown).
set -Eeuo pipefail

if [ "${1:-postgres}" != postgres ]; then
  exec "$@"
fi
shift || true

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA POSTGRES_USER POSTGRES_DB

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are exclusive" >&2
    exit 64
  fi
  POSTGRES_PASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: the database is not initialised and neither POSTGRES_PASSWORD nor POSTGRES_PASSWORD_FILE is set" >&2
    exit 64
  fi
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  {
    echo "listen_addresses = '*'"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
  } >>"$PGDATA/postgresql.auto.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"

  # A temporary server on the Unix socket only, for the init scripts.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
  export PGUSER="$POSTGRES_USER" PGDATABASE=postgres
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -q -v db="$POSTGRES_DB" <<<'create database :"db";'
  fi
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        echo "init: running $f"
        if [ -x "$f" ]; then "$f"; else
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) echo "init: running $f"; psql -v ON_ERROR_STOP=1 -q -f "$f" ;;
      *) echo "init: ignoring $f" ;;
    esac
  done
  unset PGUSER PGDATABASE
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "init: database ready"
fi
unset POSTGRES_PASSWORD

exec postgres "$@"

#!/bin/bash
# Runs once, when the PostgreSQL volume is empty (official image and
# mythoughts/postgres alike): one role and one database per service, the role
# owning its database (so the thoughts migration may create the trusted
# pg_trgm extension) and nothing else. Passwords come from Compose secrets.
set -euo pipefail
for service in users thoughts; do
  password="$(cat "/run/secrets/${service}_db_password")"
  psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname postgres \
    -v name="$service" -v password="$password" <<'SQL'
create role :"name" login password :'password';
create database :"name" owner :"name";
revoke all on database :"name" from public;
SQL
  echo "init: database and role '$service' created"
done

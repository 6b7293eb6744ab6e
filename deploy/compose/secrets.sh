#!/usr/bin/env bash
# Generate the Compose secrets into deploy/compose/secrets/ (git-ignored):
# the token signing key pair and random database and administrator passwords.
# Existing files are kept, so running it again changes nothing.
#   deploy/compose/secrets.sh [path/to/mythoughts]
# The key pair comes from `mythoughts keys` (the binary given, else the one
# on PATH, else `cargo run --release -- keys`).
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 0700 "$dir"   # only the owner (and the Docker daemon) can read the secrets

if [ ! -s "$dir/private_key.pem" ]; then
  if [ -n "${1:-}" ]; then "$1" keys --out "$dir" >/dev/null
  elif command -v mythoughts >/dev/null; then mythoughts keys --out "$dir" >/dev/null
  else (cd "$dir/../../.." && cargo run --quiet --release -- keys --out "$dir" >/dev/null); fi
  echo "secrets: new signing key pair"
fi
for name in postgres_password users_db_password thoughts_db_password admin_password; do
  if [ ! -s "$dir/$name" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/$name")
    echo "secrets: new $name"
  fi
done
# Compose (without Swarm) bind-mounts secret files as they are, and the
# containers run as non-root users (65532 for MyThoughts, 999 for
# PostgreSQL): the files must be readable by them. The directory stays 0700.
chmod 0644 "$dir"/*

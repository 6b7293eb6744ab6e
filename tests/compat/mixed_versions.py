#!/usr/bin/env python3
"""Mixed-version journeys: each service at its previous release (N-1) beside
the others at the current code (N), on SQLite and on PostgreSQL.

  mixed_versions.py --current DIR --previous users=DIR --previous thoughts=DIR \
      --previous frontend=DIR [--postgres PG_SOCKET_DIR]

DIR holds `users-service`, `thoughts-service`, `frontend-service` (a `--previous`
DIR needs only the binary of its service). On each engine, with one set of
databases for the whole run:

  1. everything at N migrates the schema and a user's journey (sign up, post,
     search, sign out; `tests/deploy/journey.py`) writes its data;
  2. for each service in turn, that service at N-1 and the others at N: every
     journey written so far is verified (sign in again, the thought is there and
     searchable), then a new one is written — so N-1 runs against the schema N
     migrated, reads what N wrote, and writes what N must read;
  3. everything at N again verifies every journey.

Exits non-zero at the first step that does not behave, naming the versions.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "deploy"))
sys.path.insert(0, HERE)

import journey  # noqa: E402  (tests/deploy/journey.py)
from services import start  # noqa: E402

SERVICES = ("users", "thoughts", "frontend")


def stop(procs):
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            raise SystemExit(f"pid {proc.pid} did not stop within 30 s of SIGTERM")
        if code != 0:
            raise SystemExit(f"pid {proc.pid} exited with {code} on SIGTERM")


@contextlib.contextmanager
def system(binaries, db_env, key_dir, logs, label):
    """users, thoughts and frontend from `binaries` (service → binary path)."""
    procs = []
    try:
        users, users_url, _ = start(binaries["users"], {
            **db_env["users"], "PRIVATE_KEY_PATH": os.path.join(key_dir, "private_key.pem"),
        }, os.path.join(logs, f"{label}-users.log"))
        procs.append(users)
        jwks = f"{users_url}/.well-known/jwks.json"
        thoughts, thoughts_url, _ = start(binaries["thoughts"], {**db_env["thoughts"], "JWKS_URL": jwks},
                                          os.path.join(logs, f"{label}-thoughts.log"))
        procs.append(thoughts)
        frontend, frontend_url, _ = start(binaries["frontend"], {
            "USER_BACKEND_URL": users_url, "THOUGHTS_BACKEND_URL": thoughts_url, "JWKS_URL": jwks,
        }, os.path.join(logs, f"{label}-frontend.log"))
        procs.append(frontend)
        versions = {}
        for name, url in (("users", users_url), ("thoughts", thoughts_url)):
            versions[name] = requests.get(f"{url}/admin/version/", timeout=5).json().get("version", "?")
        yield frontend_url, versions
    finally:
        stop(procs)


def databases(engine, tmp, pg_socket):
    if engine == "sqlite":
        env = {"DATA_DIR": os.path.join(tmp, "data")}
        return {"users": env, "thoughts": env}
    suffix = str(os.getpid())
    base = {"DATABASE_ENGINE": "POSTGRESQL", "POSTGRES_HOST": pg_socket, "POSTGRES_PORT": "5432",
            "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "unused-trust-auth"}
    env = {}
    for service in ("users", "thoughts"):
        name = f"mixed_{service}_{suffix}"
        subprocess.run(["psql", "-h", pg_socket, "-U", "postgres", "-qc", f"drop database if exists {name}"],
                       check=True)
        subprocess.run(["psql", "-h", pg_socket, "-U", "postgres", "-qc", f"create database {name}"], check=True)
        env[service] = {**base, "POSTGRES_DB": name}
    return env


def drop_databases(engine, pg_socket):
    if engine != "postgres":
        return
    for service in ("users", "thoughts"):
        subprocess.run(["psql", "-h", pg_socket, "-U", "postgres", "-qc",
                        f"drop database if exists mixed_{service}_{os.getpid()} with (force)"], check=False)


def run(engine, current, previous, key_dir, tmp, pg_socket, rows):
    engine_dir = os.path.join(tmp, engine)
    os.makedirs(engine_dir)
    db_env = databases(engine, engine_dir, pg_socket)
    written = []  # (written by, journey state)

    def step(label, binaries, verify_all):
        with system(binaries, db_env, key_dir, engine_dir, label) as (base, versions):
            what = f"{engine}, {label} (users {versions['users']}, thoughts {versions['thoughts']})"
            try:
                for writer, state in written:
                    journey.verify(journey.Browser(base), state)
                    rows.append((engine, label, f"verified journey written by {writer}"))
                if not verify_all:
                    state = {}
                    journey.write(journey.Browser(base), state)
                    written.append((label, state))
                    rows.append((engine, label, "wrote a journey"))
            except (journey.JourneyError, requests.RequestException) as e:
                raise SystemExit(f"mixed versions, {what}: {e}")

    try:
        step("all at N", current, verify_all=False)
        for service in SERVICES:
            binaries = dict(current, **{service: previous[service]})
            step(f"{service} at N-1", binaries, verify_all=False)
        step("all at N again", current, verify_all=True)
    finally:
        drop_databases(engine, pg_socket)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--current", required=True, help="folder with the current binaries")
    parser.add_argument("--previous", action="append", default=[], metavar="SERVICE=DIR",
                        help="folder with the previous release's binary of SERVICE")
    parser.add_argument("--postgres", metavar="PG_SOCKET_DIR", help="also run on PostgreSQL")
    args = parser.parse_args()
    current = {s: os.path.join(args.current, f"{s}-service") for s in SERVICES}
    previous = {}
    for item in args.previous:
        service, _, folder = item.partition("=")
        if service not in SERVICES or not folder:
            parser.error(f"--previous {item}: expected one of {', '.join(SERVICES)}=DIR")
        previous[service] = os.path.join(folder, f"{service}-service")
    missing = [s for s in SERVICES if s not in previous]
    if missing:
        parser.error(f"--previous missing for {', '.join(missing)}")
    for path in [*current.values(), *previous.values()]:
        if not os.access(path, os.X_OK):
            parser.error(f"{path}: not an executable")

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rows = []
    engines = ["sqlite"] + (["postgres"] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = os.path.join(tmp, "keys")
        os.makedirs(key_dir)
        with open(os.path.join(key_dir, "private_key.pem"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
        for engine in engines:
            run(engine, current, previous, key_dir, tmp, args.postgres, rows)
    for engine, label, what in rows:
        print(f"  {engine:8} {label:18} {what}")
    print(f"mixed versions: OK, {len(rows)} steps on {' and '.join(engines)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Quick search latency measurement at 100,000 thoughts, on SQLite and PostgreSQL.

Loads N synthetic thoughts straight into a thoughts database (migrated by the
service itself), then times `GET /api/thoughts/?search=...` against a running
thoughts-service for needles of different selectivity, and compares the
database's index-backed query with a forced full scan of the same data
(the baseline), printing the ratio.

Usage: search_latency.py BIN_DIR [--postgres SOCKET_DIR] [--rows N] [--requests R]
Loopback only; every loop is bounded by --rows and --requests.
"""

import argparse
import http.client
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.parse

VOCAB_SEED = 7


def vocabulary(n=5000):
    rng = random.Random(VOCAB_SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def texts(rows):
    rng = random.Random(1)
    words = vocabulary()
    for i in range(rows):
        t = " ".join(rng.choice(words) for _ in range(rng.randint(5, 25)))[:240]
        if i % 10_000 == 0:
            t = "zebrafish " + t  # rare: 10 rows per 100k
        yield t.capitalize(), t


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, env):
    port = free_port()
    proc = subprocess.Popen([binary], env={"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(port), **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{binary} did not become ready")


def stop(proc):
    proc.terminate()
    proc.wait(timeout=30)


def time_requests(port, needle, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = "/api/thoughts/?" + urllib.parse.urlencode({"search": needle})
    samples, count = [], 0
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        samples.append((time.perf_counter() - t) * 1000)
        count = body.count(b'"id"')
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], count


NEEDLES = [("rare word", "ZEBRAFISH"), ("common word", None), ("2 characters", "qx"), ("absent", "nothing-matches-this")]


def common_word():
    # A vocabulary word: appears in a few hundred of 100k rows.
    return vocabulary()[42].upper()


def measure(engine, port, requests, scan_baseline):
    print(f"\n{engine}: GET /api/thoughts/?search=... ({requests} sequential requests each, keep-alive)")
    print(f"  {'needle':<14} {'matches':>7} {'median ms':>10} {'p95 ms':>8} {'scan ms':>8} {'scan/index':>10}")
    for label, needle in NEEDLES:
        needle = needle or common_word()
        median, p95, count = time_requests(port, needle, requests)
        scan = scan_baseline(needle.lower())
        print(f"  {label:<14} {count:>7} {median:>10.2f} {p95:>8.2f} {scan:>8.2f} {scan / median:>10.1f}x")


def sqlite_run(bin_dir, rows, requests, tmp):
    data = os.path.join(tmp, "sqlite")
    env = {"DATA_DIR": data, "PUBLIC_KEY_PATH": os.path.join(tmp, "public_key.pub")}
    proc, _ = start(os.path.join(bin_dir, "thoughts-service"), env)  # migrates
    stop(proc)
    db = sqlite3.connect(os.path.join(data, "thoughts.sqlite3"))
    t = time.monotonic()
    db.executemany("insert into thoughts (username, text, folded, timestamp) values ('bench', ?, ?, '2026-11-26 12:00:00')",
                   texts(rows))
    db.commit()
    print(f"sqlite: loaded {rows} thoughts in {time.monotonic() - t:.1f} s")

    def scan(needle):
        # Baseline: the same answer without the index (a full scan).
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        t = time.perf_counter()
        db.execute("select id, username, text, timestamp from thoughts where folded like ? escape '\\' "
                   "order by id limit 1001", (pattern,)).fetchall()
        return (time.perf_counter() - t) * 1000

    proc, port = start(os.path.join(bin_dir, "thoughts-service"), env)
    try:
        measure("sqlite (FTS5 trigram)", port, requests, lambda n: statistics.median(scan(n) for _ in range(5)))
    finally:
        stop(proc)


def psql(socket_dir, db, sql):
    return subprocess.run(["psql", "-h", socket_dir, "-U", "postgres", "-d", db, "-qAtc", sql],
                          check=True, capture_output=True, text=True).stdout


def postgres_run(bin_dir, rows, requests, tmp, socket_dir):
    db = f"bench_{os.getpid()}"
    psql(socket_dir, "postgres", f"create database {db}")
    env = {"DATABASE_ENGINE": "POSTGRESQL", "POSTGRES_HOST": socket_dir, "POSTGRES_DB": db,
           "POSTGRES_USER": "postgres", "PUBLIC_KEY_PATH": os.path.join(tmp, "public_key.pub")}
    proc, _ = start(os.path.join(bin_dir, "thoughts-service"), env)
    stop(proc)
    csv = os.path.join(tmp, "rows.tsv")
    with open(csv, "w") as f:
        for text, folded in texts(rows):
            f.write(f"bench\t{text}\t{folded}\t2026-11-26 12:00:00\n")
    os.chmod(tmp, 0o755)
    os.chmod(csv, 0o644)
    t = time.monotonic()
    subprocess.run(["psql", "-h", socket_dir, "-U", "postgres", "-d", db, "-qc",
                    f"\\copy thoughts (username, text, folded, timestamp) from '{csv}'"], check=True)
    psql(socket_dir, db, "vacuum analyze thoughts")
    print(f"\npostgres: loaded {rows} thoughts in {time.monotonic() - t:.1f} s")

    def scan(needle):
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = ("set enable_bitmapscan = off; set enable_indexscan = on; explain analyze select id from thoughts "
               f"where folded like '{pattern}' order by id limit 1001")
        out = psql(socket_dir, db, "set enable_bitmapscan = off; " + sql)
        ms = [l for l in out.splitlines() if l.startswith("Execution Time")]
        return float(ms[0].split(":")[1].split()[0]) if ms else float("nan")

    plan = psql(socket_dir, db, "explain select id from thoughts where folded like '%zebrafish%' order by id limit 1001")
    print("  plan for a rare needle: " + " / ".join(l.strip() for l in plan.splitlines() if "Scan" in l))
    proc, port = start(os.path.join(bin_dir, "thoughts-service"), env)
    try:
        measure("postgres (pg_trgm GIN)", port, requests, scan)
    finally:
        stop(proc)
        psql(socket_dir, "postgres", f"drop database {db}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bin_dir")
    p.add_argument("--postgres")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=200)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.path.join(a.bin_dir, "mythoughts"), "keys", "--out", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        sqlite_run(a.bin_dir, a.rows, a.requests, tmp)
        if a.postgres:
            postgres_run(a.bin_dir, a.rows, a.requests, tmp, a.postgres)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What a page costs: median latency of `/` for a signed-in user with 100
thoughts, against `mythoughts up` (release build), compared in the same run
with the backend call the page makes (GET /api/me/thoughts/?order=desc&limit=50, the newest page it shows).

Usage: page_latency.py BIN_DIR [--requests N]   (loopback only, bounded)
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse


def free_base():
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p < 60000:
            return p
    raise SystemExit("no free port")


def call(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = dict(headers or {})
    if body is not None:
        body = urllib.parse.urlencode(body)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.read()


def timed(port, path, headers, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        r.read()
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, r.status
    samples.sort()
    return statistics.median(samples), samples[int(n * 0.95) - 1]


def main():
    a = argparse.ArgumentParser()
    a.add_argument("bin_dir")
    a.add_argument("--requests", type=int, default=300)
    args = a.parse_args()
    base = free_base()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ["PATH"], "LOG_FORMAT": "json", "RUST_LOG": "warn", "SHUTDOWN_DRAIN_SECONDS": "0"}
        proc = subprocess.Popen([os.path.join(args.bin_dir, "mythoughts"), "up", "--port", str(base), "--data-dir", tmp],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if call(base, "GET", "/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("not ready")
                time.sleep(0.05)
            users, thoughts = base + 1, base + 2
            creds = {"username": "reader", "password": "a long enough password"}
            assert call(users, "POST", "/api/users/", creds)[0] == 201
            bearer = json.loads(call(users, "POST", "/api/login/", creds)[1])["Authorized"]
            for i in range(100):
                status, _ = call(thoughts, "POST", "/api/me/thoughts/", {"text": f"Thought number {i}: " + "words " * 20},
                                 {"Authorization": bearer})
                assert status == 201
            page = timed(base, "/", {"Cookie": f'session="{bearer}"'}, args.requests)
            api = timed(thoughts, "/api/me/thoughts/?order=desc&limit=50", {"Authorization": bearer}, args.requests)
            print(f"GET / signed in, 100 thoughts: median {page[0]:.2f} ms, p95 {page[1]:.2f} ms ({args.requests} requests)")
            print(f"its backend call GET /api/me/thoughts/?order=desc&limit=50: median {api[0]:.2f} ms, p95 {api[1]:.2f} ms")
            print(f"page / backend call: {page[0] / api[0]:.2f}x")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

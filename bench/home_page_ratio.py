#!/usr/bin/env python3
"""The signed-in home page against a trivial handler, in one run, with wrk:
`GET /` with a session cookie for a user with 100 thoughts, served by a
release `mythoughts up` (default logging on), and `GET /` of a trivial axum
hello-world, measured alternately ROUNDS times; prints requests/s of each
round and the ratio of the medians (issue 13's target: >= 0.2).

Usage: home_page_ratio.py MYTHOUGHTS [MYTHOUGHTS_B] --baseline HELLO_BIN
       [--rounds 3] [--seconds 5] [--connections 16]

HELLO_BIN serves a trivial handler on 127.0.0.1 at the port given with
`--port N`: the workspace's bench-trivial (crates/bench). With two mythoughts binaries (before and
after a change) both are started and measured in the same rounds.
Loopback only; every loop is bounded.
"""

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse


def free_port(span=1):
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + span < 60000:
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


def wait_ready(port, path, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if call(port, "GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"port {port} not ready")


def start_system(binary, tmp):
    base = free_port(3)
    env = {
        "PATH": os.environ["PATH"],
        "LOG_FORMAT": "json",
        "SHUTDOWN_DRAIN_SECONDS": "0",
        # 100 thoughts in a row: no per-account posting limit here.
        "POSTS_PER_ACCOUNT_PER_MINUTE": "0",
    }
    log = open(os.path.join(tmp, f"log-{base}"), "w")
    proc = subprocess.Popen([binary, "up", "--port", str(base), "--data-dir", os.path.join(tmp, str(base))],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_ready(base, "/readyz")
    users, thoughts = base + 1, base + 2
    # A throwaway account of a throwaway service: its password is made per run.
    creds = {"username": "reader", "password": "reader-" + os.urandom(8).hex()}
    status, body = call(users, "POST", "/api/users/", creds)
    assert status == 201, (status, body)
    bearer = json.loads(call(users, "POST", "/api/login/", creds)[1])["Authorized"]
    for i in range(100):
        status, body = call(thoughts, "POST", "/api/me/thoughts/", {"text": f"Thought number {i}: " + "words " * 20},
                            {"Authorization": bearer})
        assert status == 201, (status, body)
    cookie = f'session="{bearer}"'
    status, page = call(base, "GET", "/", headers={"Cookie": cookie})
    assert status == 200 and page.count(b'class="thought"') == 50, status
    return proc, base, cookie


def wrk(port, seconds, connections, cookie=None):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not bad, out
    return rps


def main():
    a = argparse.ArgumentParser()
    a.add_argument("binaries", nargs="+")
    a.add_argument("--baseline", required=True)
    a.add_argument("--rounds", type=int, default=3)
    a.add_argument("--seconds", type=int, default=5)
    a.add_argument("--connections", type=int, default=16)
    args = a.parse_args()
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            hello = free_port()
            procs.append(subprocess.Popen([args.baseline, "--port", str(hello)], stdout=subprocess.DEVNULL))
            wait_ready(hello, "/")
            systems = []
            for b in args.binaries:
                proc, port, cookie = start_system(b, tmp)
                procs.append(proc)
                systems.append((b, port, cookie))
            results = {"trivial handler": []} | {b: [] for b in args.binaries}
            for r in range(args.rounds):
                results["trivial handler"].append(wrk(hello, args.seconds, args.connections))
                for b, port, cookie in systems:
                    results[b].append(wrk(port, args.seconds, args.connections, cookie))
                print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f} req/s" for k, v in results.items()), flush=True)
            trivial = statistics.median(results["trivial handler"])
            print(f"trivial handler: median {trivial:.0f} req/s")
            for b in args.binaries:
                m = statistics.median(results[b])
                print(f"GET / signed in, 100 thoughts ({b}): median {m:.0f} req/s, ratio {m / trivial:.3f}")
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=30)


if __name__ == "__main__":
    main()

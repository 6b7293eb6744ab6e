#!/usr/bin/env python3
"""Fuzz the users and thoughts services against their own OpenAPI documents.

Starts both services from TARGET_DIR on loopback (SQLite in a temporary
directory, an RSA key pair generated here, an administrator with a random
password), creates an ordinary account, signs both in, posts a few thoughts
so that ids exist, and runs `schemathesis run --checks all` against each
service's /openapi.json (served on its admin listener): a fixed seed, at most
MAX_EXAMPLES examples per operation, every phase including the stateful one.
The ordinary account's token goes with every request, the administrator's
with the /admin/ operations. Exits non-zero unless both runs end with no
failure and no error, after printing each run's summary line.

The services' rate limits are raised through their own settings (login
attempts and failures, sign-ups, posts, searches): the fuzzer sends a few
thousand requests from one address and two accounts in a few minutes and is
here to measure the API, not the limiter, whose 429s the services' API tests
check (the documents still describe every 429).

One worker: with two, Python 3.11's `ast` module fails under hypothesis'
lambda descriptions from two threads ("AST constructor recursion depth
mismatch"), and two workers interleave one run's deletions with the other's
reads, so a run would no longer be a function of its seed.

Usage: schemathesis_run.py TARGET_DIR
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from services import start  # noqa: E402  (tests/compat/services.py)

SEED = 20260911
MAX_EXAMPLES = 100
# Each run has its own deadline; both together stay within a few minutes on 2 cores.
RUN_TIMEOUT_SECONDS = int(os.environ.get("FUZZ_RUN_TIMEOUT_SECONDS", "420"))
SUMMARY = re.compile(r"^=+ (.+ in [0-9.]+s) =+$")
RAISED = "1000000"


def stop(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def login(users_url, username, password):
    r = requests.post(f"{users_url}/api/login/", data={"username": username, "password": password}, timeout=30)
    if r.status_code != 200:
        raise SystemExit(f"login as {username} failed: {r.status_code} {r.text}")
    return r.json()["Authorized"]


def config_file(path, user_token, admin_token):
    """A schemathesis.toml giving the ordinary token to every operation and
    the administrator's to the /admin/ ones (TOML strings written as JSON
    strings, which TOML reads the same)."""
    with open(path, "w") as f:
        f.write(f"headers = {{ Authorization = {json.dumps(user_token)} }}\n\n")
        f.write("[[operations]]\n")
        f.write('include-path-regex = "^/admin/"\n')
        f.write(f"headers = {{ Authorization = {json.dumps(admin_token)} }}\n")


def schemathesis(name, spec_url, base_url, config, report_dir):
    """One schemathesis run; returns (exit code, summary line, seconds)."""
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    cmd = [st, "--config-file", config, "--no-color", "run", spec_url, "--url", base_url,
           "--checks", "all", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
           "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1",
           "--request-timeout", "10", "--report", "junit", "--report-dir", report_dir]
    print(f"\n--- schemathesis against {name}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    try:
        # In the report directory: schemathesis keeps a cache of past crashes
        # in its working directory, which would make a run depend on the last.
        os.makedirs(report_dir, exist_ok=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=RUN_TIMEOUT_SECONDS, cwd=report_dir)
        code, out = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        code, out = 124, out + f"\n(stopped after {RUN_TIMEOUT_SECONDS} s)"
    print(out, flush=True)
    lines = out.splitlines()
    matches = [SUMMARY.match(line.strip()) for line in lines]
    summary = next((m.group(1) for m in reversed(matches) if m), "no summary line")
    # The line under "Test cases:" counts them: "1606 generated, 1606 passed, 2 skipped".
    cases = next((lines[i + 1].strip() for i, line in enumerate(lines[:-1]) if line.strip() == "Test cases:"), "")
    if cases:
        summary = f"{summary}; {cases}"
    return code, summary, time.monotonic() - started


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    target = os.path.abspath(sys.argv[1])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    tmp = tempfile.mkdtemp(prefix="mythoughts-fuzz-")
    procs = []
    results = []
    try:
        private_path, public_path = os.path.join(tmp, "private_key.pem"), os.path.join(tmp, "public_key.pub")
        with open(private_path, "wb") as f:
            f.write(private_pem)
        with open(public_path, "wb") as f:
            f.write(public_pem)
        admin_password = os.urandom(12).hex()
        users, users_url, users_admin = start(os.path.join(target, "users-service"), {
            "SHUTDOWN_DRAIN_SECONDS": "0", "DATA_DIR": os.path.join(tmp, "users-data"), "PRIVATE_KEY_PATH": private_path,
            "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": admin_password,
            "LOGIN_ATTEMPTS_PER_ADDRESS": RAISED, "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS": RAISED,
            "LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR": RAISED, "SIGNUPS_PER_ADDRESS": RAISED,
            "SIGNUPS_PER_MINUTE": RAISED,
        }, os.path.join(tmp, "users.log"))
        procs.append(users)
        thoughts, thoughts_url, thoughts_admin = start(os.path.join(target, "thoughts-service"), {
            "SHUTDOWN_DRAIN_SECONDS": "0", "DATA_DIR": os.path.join(tmp, "thoughts-data"), "PUBLIC_KEY_PATH": public_path,
            # 0 switches the posting limit off; searches get a ceiling no run reaches.
            "POSTS_PER_ACCOUNT_PER_MINUTE": "0", "SEARCHES_PER_ADDRESS_PER_MINUTE": RAISED,
        }, os.path.join(tmp, "thoughts.log"))
        procs.append(thoughts)

        admin_token = login(users_url, "admin", admin_password)
        user_password = os.urandom(12).hex()
        r = requests.post(f"{users_url}/admin/users/", data={"username": "fuzzer", "password": user_password},
                          headers={"Authorization": admin_token}, timeout=30)
        if r.status_code != 201:
            raise SystemExit(f"creating the fuzzer's account failed: {r.status_code} {r.text}")
        user_token = login(users_url, "fuzzer", user_password)
        # A few thoughts, so that the first ids the fuzzer tries exist.
        for n in range(20):
            r = requests.post(f"{thoughts_url}/api/me/thoughts/", data={"text": f"seed thought {n}"},
                              headers={"Authorization": user_token}, timeout=30)
            if r.status_code != 201:
                raise SystemExit(f"seeding thoughts failed: {r.status_code} {r.text}")

        config = os.path.join(tmp, "schemathesis.toml")
        config_file(config, user_token, admin_token)
        for name, admin, base in (("users", users_admin, users_url), ("thoughts", thoughts_admin, thoughts_url)):
            code, summary, took = schemathesis(name, f"{admin}/openapi.json", base, config,
                                               os.path.join(tmp, f"report-{name}"))
            results.append((name, code, summary, took))
        for proc, name in ((users, "users"), (thoughts, "thoughts")):
            if proc.poll() is not None:
                results.append((f"{name} process", 1, f"exited with {proc.returncode} during the run", 0))
    finally:
        stop(procs)
        if os.environ.get("FUZZ_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n== schemathesis, seed %d, %d examples per operation, all checks and phases ==" % (SEED, MAX_EXAMPLES))
    for name, code, summary, took in results:
        print(f"{name}: {summary} (exit {code}, {took:.0f} s)")
    if any(code != 0 for _, code, _, _ in results):
        raise SystemExit("schemathesis: failures (see above)")


if __name__ == "__main__":
    main()

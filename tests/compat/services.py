"""Start one MyThoughts service binary on loopback for the Python drivers
(book_client.py, mixed_versions.py, ../fuzz/schemathesis_run.py)."""

import os
import socket
import subprocess
import time

import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, env, log_path):
    """Start `binary` with `env` on free public and admin ports; wait (30 s at
    most) until its /readyz answers 200. Returns (process, base URL, admin URL)."""
    # Services that share one host each get their own admin port.
    port, admin_port = free_port(), free_port()
    full_env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port),
                "ADMIN_HOST": "127.0.0.1", "ADMIN_PORT": str(admin_port), **env}
    log = open(log_path, "w")
    proc = subprocess.Popen([binary], env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path) as f:
                raise SystemExit(f"{binary} exited with {proc.returncode}:\n{f.read()[-2000:]}")
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base, f"http://127.0.0.1:{admin_port}"
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    raise SystemExit(f"{binary} not ready in 30 s; see {log_path}")

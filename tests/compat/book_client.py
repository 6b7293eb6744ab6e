#!/usr/bin/env python3
"""A client written the way the book's Python services are used, run against
our users-service and thoughts-service binaries, unchanged.

It uses only what the book's code uses: `requests` with form-encoded bodies,
`Authorization: Bearer <JWT>` headers, and PyJWT with an RS256 key for tokens.
The services are configured with the book's variables only (PRIVATE_KEY_PATH
and PUBLIC_KEY_PATH aside, which point at a key pair generated here, and
ADMIN_HOST/ADMIN_PORT, so that the two services' admin listeners, which the
book has not, do not both claim the default port 9000).

Usage: book_client.py TARGET_DIR [--postgres SOCKET_DIR]
"""

import os
import re
import subprocess
import sys
import tempfile
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services import start

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"book client: FAILED: {what}")
    checks += 1


def run(target, engine, tmp, private_pem, public_pem, pg_socket):
    key_dir = os.path.join(tmp, "keys")
    os.makedirs(key_dir, exist_ok=True)
    with open(os.path.join(key_dir, "private_key.pem"), "wb") as f:
        f.write(private_pem)
    with open(os.path.join(key_dir, "public_key.pub"), "wb") as f:
        f.write(public_pem)
    if engine == "sqlite":
        db_env = {"DATA_DIR": os.path.join(tmp, "data")}
        users_db, thoughts_db = db_env, db_env
    else:
        suffix = str(os.getpid())
        for name in (f"compat_users_{suffix}", f"compat_thoughts_{suffix}"):
            subprocess.run(["psql", "-h", pg_socket, "-U", "postgres", "-qc", f"create database {name}"], check=True)
        base_env = {"DATABASE_ENGINE": "POSTGRESQL", "POSTGRES_HOST": pg_socket, "POSTGRES_PORT": "5432",
                    "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "unused-trust-auth"}
        users_db = {**base_env, "POSTGRES_DB": f"compat_users_{suffix}"}
        thoughts_db = {**base_env, "POSTGRES_DB": f"compat_thoughts_{suffix}"}
    admin_password = os.urandom(12).hex()
    users, users_url, users_admin = start(os.path.join(target, "users-service"), {
        **users_db, "PRIVATE_KEY_PATH": os.path.join(key_dir, "private_key.pem"),
        "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": admin_password,
        "VERSION_NAME": "compat", "VERSION_SHA": "abc123",
    }, os.path.join(tmp, f"users-{engine}.log"))
    try:
        thoughts, thoughts_url, thoughts_admin = start(os.path.join(target, "thoughts-service"), {
            **thoughts_db, "PUBLIC_KEY_PATH": os.path.join(key_dir, "public_key.pub"),
        }, os.path.join(tmp, f"thoughts-{engine}.log"))
    except BaseException:
        # Never leave the first service running when the second cannot start.
        users.kill()
        users.wait(timeout=30)
        raise
    try:
        # --- Users backend, as the book's tests and frontend call it ---
        r = requests.post(f"{users_url}/api/login", data={"username": "admin", "password": admin_password})
        check(r.status_code == 200, f"admin login: {r.status_code} {r.text}")
        admin_header = r.json()["Authorized"]
        check(admin_header.startswith("Bearer "), "Authorized holds 'Bearer <JWT>'")

        r = requests.post(f"{users_url}/admin/users/", data={"username": "bruce", "password": "a strong password"},
                          headers={"Authorization": admin_header})
        check(r.status_code == 201, f"create user: {r.status_code} {r.text}")
        user = r.json()
        check(set(user) == {"id", "username", "creation"}, f"user fields: {user}")
        check(user["username"] == "bruce" and TIMESTAMP.match(user["creation"]), f"user body: {user}")

        r = requests.post(f"{users_url}/api/login/", data={"username": "bruce", "password": "wrong"})
        check(r.status_code == 401, f"wrong password: {r.status_code}")
        r = requests.post(f"{users_url}/api/login/", data={"username": "bruce", "password": "a strong password"})
        check(r.status_code == 200, f"login: {r.status_code} {r.text}")
        users_token = r.json()["Authorized"]
        payload = jwt.decode(users_token.split(" ", 1)[1], public_pem, algorithms=["RS256"])
        check(payload["username"] == "bruce" and "aud" not in payload, f"PyJWT verifies our token: {payload}")
        check(payload["exp"] - payload["iat"] == 2 * 24 * 3600, "two-day lifetime")

        # --- Thoughts backend, with a token minted like the book's tests ---
        now = int(time.time())
        book_token = jwt.encode({"username": "bruce", "iat": now, "exp": now + 3600}, private_pem, algorithm="RS256")
        if isinstance(book_token, bytes):  # PyJWT 1.x returned bytes
            book_token = book_token.decode()
        header = {"Authorization": f"Bearer {book_token}"}

        r = requests.post(f"{thoughts_url}/api/me/thoughts/", data={"text": "Hello from the book's client"}, headers=header)
        check(r.status_code == 201, f"create thought: {r.status_code} {r.text}")
        thought = r.json()
        check(set(thought) == {"id", "username", "text", "timestamp"}, f"thought fields: {thought}")
        check(thought["username"] == "bruce" and TIMESTAMP.match(thought["timestamp"]), f"thought: {thought}")

        r = requests.post(f"{thoughts_url}/api/me/thoughts/", data={"text": "Posted with the users service's token"},
                          headers={"Authorization": users_token})
        check(r.status_code == 201, f"users' token accepted by thoughts: {r.status_code}")
        r = requests.post(f"{thoughts_url}/api/me/thoughts/", data={"text": "no token"})
        check(r.status_code == 401, f"unauthorized create: {r.status_code}")
        hs = jwt.encode({"username": "bruce", "iat": now, "exp": now + 3600}, "a-secret-that-is-long-enough-for-hs256", algorithm="HS256")
        hs = hs.decode() if isinstance(hs, bytes) else hs
        r = requests.get(f"{thoughts_url}/api/me/thoughts/", headers={"Authorization": f"Bearer {hs}"})
        check(r.status_code == 401, f"HS256 token refused: {r.status_code}")

        r = requests.get(f"{thoughts_url}/api/me/thoughts/", headers=header)
        check(r.status_code == 200 and [t["username"] for t in r.json()] == ["bruce", "bruce"], f"list mine: {r.text}")
        r = requests.get(f"{thoughts_url}/api/thoughts/", params={"search": "BOOK"})
        check(r.status_code == 200 and [t["id"] for t in r.json()] == [thought["id"]], f"search: {r.text}")
        r = requests.get(f"{thoughts_url}/api/thoughts/{thought['id']}/")
        check(r.status_code == 200 and r.json() == thought, f"get: {r.text}")
        r = requests.get(f"{thoughts_url}/api/thoughts/999999/")
        check(r.status_code == 404 and "message" in r.json(), f"404: {r.status_code}")
        r = requests.get(f"{users_url}/admin/version/")
        check(r.json() == {"commit": "abc123", "version": "compat"}, f"version: {r.text}")

        # A repeated parameter counts with its first value, as reqparse takes it.
        r = requests.post(f"{thoughts_url}/api/me/thoughts/", data=[("text", "first value"), ("text", "second")],
                          headers=header)
        check(r.status_code == 201 and r.json()["text"] == "first value", f"repeated text: {r.text}")
        r = requests.get(f"{thoughts_url}/api/thoughts/", params=[("search", "first value"), ("search", "BOOK")])
        check(r.status_code == 200 and [t["text"] for t in r.json()] == ["first value"], f"repeated search: {r.text}")

        # The book's spec and docs paths, on the admin listener.
        for admin in (users_admin, thoughts_admin):
            spec = requests.get(f"{admin}/openapi.json").json()
            r = requests.get(f"{admin}/swagger.json")
            check(r.status_code == 200 and r.json() == spec, f"{admin}/swagger.json: {r.status_code}")
            r = requests.get(f"{admin}/")
            check(r.status_code == 200 and "swagger-ui" in r.text, f"{admin}/ docs page: {r.status_code}")
    finally:
        for proc in (users, thoughts):
            proc.terminate()
            code = proc.wait(timeout=30)
            check(code == 0, f"clean exit on SIGTERM, got {code}")


def main():
    target = sys.argv[1]
    pg_socket = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--postgres" else None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    engines = ["sqlite"] + (["postgres"] if pg_socket else [])
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            run(target, engine, tmp, private_pem, public_pem, pg_socket)
    print(f"book client compatibility: OK, {checks} checks on {' and '.join(engines)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Bytes per account and per session row of the users service's SQLite schema
(docs/capacity.md): applies services/users/migrations/sqlite/ to a throwaway
file, inserts N generated accounts (argon2id PHC strings of the real length)
with their look-alike keys, then N refresh-token rows, and prints the file's
growth per row after VACUUM. Usage: bench/users_size.py [N] (default 100000)."""
import datetime, glob, hashlib, os, secrets, sqlite3, sys, tempfile
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
tmp = tempfile.TemporaryDirectory(prefix="mythoughts-users-size.")
path = os.path.join(tmp.name, "users.sqlite3")
db = sqlite3.connect(path)
for m in sorted(glob.glob(os.path.join(ROOT, "services/users/migrations/sqlite/*.sql"))):
    db.executescript(open(m).read())
now = datetime.datetime(2026, 12, 2).isoformat(sep=" ")
# A real PHC string's length: $argon2id$v=19$m=19456,t=2,p=1$<22 salt>$<43 hash>
phc = lambda: "$argon2id$v=19$m=19456,t=2,p=1$" + secrets.token_urlsafe(16)[:22] + "$" + secrets.token_urlsafe(32)[:43]
db.executemany("insert into users (username, password_hash, creation, is_admin) values (?,?,?,0)",
               ((f"user{i:07d}", phc(), now) for i in range(N)))
db.executemany("insert into username_keys (name_key, user_id) values (?,?)", ((f"user{i:07d}", i + 1) for i in range(N)))
db.commit(); db.execute("vacuum"); db.commit()
a = os.path.getsize(path)
db.executemany("insert into sessions (token_hash, session_id, username, created, expires, revoked) values (?,?,?,?,?,null)",
               ((hashlib.sha256(os.urandom(16)).hexdigest(), secrets.token_urlsafe(16), f"user{i:07d}", now, now) for i in range(N)))
db.commit(); db.execute("vacuum"); db.commit()
b = os.path.getsize(path)
print(f"SQLite users schema: {N} accounts {a/1e6:.1f} MB ({a/N:.0f} B/account incl. indexes and look-alike key); "
      f"{N} session rows +{(b-a)/1e6:.1f} MB ({(b-a)/N:.0f} B/row)")

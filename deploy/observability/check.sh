#!/usr/bin/env bash
# Checks the observability assets against a running system:
#  - every service's /metrics exposition (on its admin port) passes
#    `promtool check metrics`, and its public port answers 404 for /metrics;
#  - the alert rules pass `promtool check rules` and their unit tests;
#  - every metric the dashboard and the rules use is one the services export
#    (names ending _total, _seconds, _in_flight, _info, _ready, _up, _connections, _state).
# Usage: check.sh MYTHOUGHTS_BINARY   (starts `mythoughts up` on loopback and stops it)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
work="$(mktemp -d)"
port="${CHECK_PORT:-18700}"
LOG_FORMAT=json SHUTDOWN_DRAIN_SECONDS=0 "$bin" up --port "$port" --data-dir "$work/data" > "$work/up.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
f="http://127.0.0.1:$port" u="http://127.0.0.1:$((port + 1))" t="http://127.0.0.1:$((port + 2))"
# `up` puts each service's admin listener (metrics) 10 above its public port.
fa="http://127.0.0.1:$((port + 10))" ua="http://127.0.0.1:$((port + 11))" ta="http://127.0.0.1:$((port + 12))"
for _ in $(seq 1 300); do curl -fs "$f/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$f/readyz" >/dev/null

# Exercise every metric once: sign-up, logins, thoughts, search, a rejected token, a CSRF refusal.
pw="check-$(date +%s%N)"
curl -fs -o /dev/null -X POST "$u/api/users/" -d username=checker -d "password=$pw"
curl -s -o /dev/null -X POST "$u/api/login/" -d username=checker -d password=wrong-password
token="$(curl -fs -X POST "$u/api/login/" -d username=checker -d "password=$pw" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Authorized"])')"
curl -fs -o /dev/null -X POST "$t/api/me/thoughts/" -H "Authorization: $token" -d text=hello
curl -s -o /dev/null "$t/api/me/thoughts/" -H "Authorization: Bearer forged"
curl -fs -o /dev/null "$t/api/thoughts/?search=hello"
curl -fs -o /dev/null "$f/search?search=hello"
curl -s -o /dev/null -X POST "$f/thoughts/new" -d text=no-csrf
for s in "$f" "$u" "$t"; do curl -fs -o /dev/null "$s/readyz"; done

for s in "$f" "$u" "$t"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' "$s/metrics")"
  [ "$code" = 404 ] || { echo "$s/metrics answered $code on the public port, expected 404" >&2; exit 1; }
done
for s in "$fa" "$ua" "$ta"; do
  curl -fs "$s/metrics" > "$work/metrics.txt"
  promtool check metrics < "$work/metrics.txt"
  cat "$work/metrics.txt" >> "$work/all.txt"
  echo "promtool check metrics $s/metrics: OK"
done

cd "$here"
promtool check rules alerts.yaml
promtool test rules alerts.test.yaml
promtool check config prometheus.yml >/dev/null && echo "promtool check config prometheus.yml: OK"

python3 - "$work/all.txt" <<'PY'
import json, re, sys
exported = {l.split()[2] for l in open(sys.argv[1]) if l.startswith("# TYPE")}
def base(name):
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name[: -len(suffix)] in exported:
            return name[: -len(suffix)]
    return name
exprs = [t["expr"] for p in json.load(open("grafana-dashboard.json"))["panels"] for t in p.get("targets", [])]
exprs += re.findall(r"expr: [|]?\s*(.+)", open("alerts.yaml").read())
used = {base(m) for e in exprs for m in re.findall(r"\b([a-z_]+(?:_total|_seconds(?:_bucket|_count|_sum)?|_in_flight|_info|_ready|_up|_connections|_state))\b", e)}
missing = sorted(used - exported)
if missing:
    sys.exit(f"dashboard or rules use metrics nobody exports: {missing}")
print(f"dashboard and rules use {len(used)} metrics, all exported: {', '.join(sorted(used))}")
PY

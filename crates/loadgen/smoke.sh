#!/usr/bin/env bash
# A short, bounded load run for CI: start `mythoughts up` from BIN_DIR on free
# loopback ports with its data in a temporary directory and the settings a
# single-address load needs (crates/loadgen/README.md), run every journey
# for 20 s with at most 8 users, fail on any failed request, stop the system.
#
#   crates/loadgen/smoke.sh [BIN_DIR]        # default target/debug
#
# BIN_DIR holds `mythoughts` and `mythoughts-loadgen` (the test run builds both).
set -euo pipefail
bin="${1:-target/debug}"
for b in mythoughts mythoughts-loadgen; do
  [ -x "$bin/$b" ] || { echo "smoke: $bin/$b is missing (cargo nextest run --workspace builds it)" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/mythoughts-load.XXXXXX")"
up_pid=""
# shellcheck disable=SC2317  # run by the EXIT trap
stop() {
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    kill -TERM "$up_pid"
    # SHUTDOWN_DRAIN_SECONDS=0: it stops within a second or two; bounded anyway.
    for _ in $(seq 1 100); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

# A base port with base, +1, +2 (frontend, users, thoughts) and their admin
# listeners (+10, +11, +12) free on loopback.
base="$(python3 - <<'EOF'
import random, socket
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randrange(20000, 60000)
    if all(free(base + o) for o in (0, 1, 2, 10, 11, 12)):
        print(base)
        break
EOF
)"
[ -n "$base" ] || { echo "smoke: no free ports on 127.0.0.1" >&2; exit 1; }

# The rate limits one address would hit at once (see the README), a fast stop.
SIGNUPS_PER_ADDRESS=1000000 SIGNUPS_PER_MINUTE=1000000 LOGIN_ATTEMPTS_PER_ADDRESS=1000000 \
POSTS_PER_ACCOUNT_PER_MINUTE=0 SEARCHES_PER_ADDRESS_PER_MINUTE=1000000 \
SEARCH_CONCURRENCY=16 DATABASE_MAX_CONNECTIONS=20 SHUTDOWN_DRAIN_SECONDS=0 \
  "$bin/mythoughts" up --port "$base" --bind 127.0.0.1 --data-dir "$work/data" --log-format json \
  >"$work/up.log" 2>&1 &
up_pid=$!

front="http://127.0.0.1:$base"
ready=""
for _ in $(seq 1 300); do   # 30 s at most (a debug build starts in well under one)
  kill -0 "$up_pid" 2>/dev/null || break
  if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$front/readyz" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "smoke: mythoughts up did not become ready on $front; its log:" >&2
  tail -n 40 "$work/up.log" >&2
  exit 1
fi

status=0
started=$(date +%s%N)
"$bin/mythoughts-loadgen" --frontend-url "$front" \
  --users-url "http://127.0.0.1:$((base + 1))" --thoughts-url "http://127.0.0.1:$((base + 2))" \
  --profile plateau --peak-users 8 --duration 20 --max-error-rate 0 --progress-seconds 5 \
  --timeout 10 --report-file "$work/report.md" --no-print-metrics || status=$?
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
printf 'smoke: the load run took %d.%03d s, exit %d\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$status"
if [ "$status" -ne 0 ]; then
  echo "smoke: goose's report:" >&2
  cat "$work/report.md" >&2 || true
  echo "smoke: the last lines mythoughts up logged:" >&2
  tail -n 40 "$work/up.log" >&2
fi
exit "$status"

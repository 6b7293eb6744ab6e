#!/usr/bin/env bash
# What the access log costs: `mythoughts up` with the default log level
# (one JSON line per request) against the same binary with RUST_LOG=warn,
# for one or more binaries (e.g. main's and this tree's), interleaved in
# one run so that the machine's noise hits every variant alike.
#
#   bench/access_log.sh [-r ROUNDS] [-d SECONDS] NAME=BINARY [NAME=BINARY ...]
#   e.g. bench/access_log.sh -r 3 before=/tmp/mythoughts-main after=target/release/mythoughts
#
# Per round and binary: /healthz and GET /api/thoughts/<id>/ (a real API
# route: a primary-key lookup in SQLite), each with `wrk -t1 -c32` on
# 127.0.0.1, with logs on (default level) and off (RUST_LOG=warn). Logs
# go to a file, as a container runtime's pipe would take them. Prints the
# requests/s of every run and, per binary and route, the median ratio
# logging-on / logging-off. Bounded: ROUNDS x binaries x 4 runs of SECONDS.
set -euo pipefail

rounds=3
seconds=5
while getopts "r:d:" opt; do
    case $opt in
        r) rounds=$OPTARG ;;
        d) seconds=$OPTARG ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r ROUNDS] [-d SECONDS] NAME=BINARY..." >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 2; }

work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

base=18400
users="http://127.0.0.1:$((base + 1))"
thoughts="http://127.0.0.1:$((base + 2))"

start() { # binary, RUST_LOG value or "" for the default
    local binary=$1 level=$2
    if [ -n "$level" ]; then
        RUST_LOG=$level "$binary" up --port "$base" --data-dir "$work/data" --log-format json \
            >"$work/log" 2>&1 &
    else
        env -u RUST_LOG "$binary" up --port "$base" --data-dir "$work/data" --log-format json \
            >"$work/log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 1 200); do
        if curl -fs "$thoughts/readyz" >/dev/null 2>&1 && curl -fs "$users/readyz" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    echo "$binary did not become ready:" >&2
    tail -5 "$work/log" >&2
    exit 1
}

stop() {
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
}

rps() { # url
    wrk -t1 -c32 -d"${seconds}s" "$1" | awk '/Requests\/sec/ {print $2}'
}

# One thought to read, created with the first binary.
first=${1#*=}
SHUTDOWN_DRAIN_SECONDS=0 start "$first" warn
curl -fs -X POST "$users/api/users/" -d username=bench -d 'password=a long enough password' >/dev/null
token=$(curl -fs -X POST "$users/api/login/" -d username=bench -d 'password=a long enough password' |
    sed -n 's/.*"Authorized":"\([^"]*\)".*/\1/p')
id=$(curl -fs -X POST "$thoughts/api/me/thoughts/" -H "Authorization: $token" -d text=benchmark |
    sed -n 's/.*"id":\([0-9]*\).*/\1/p')
stop
[ -n "$id" ] || { echo "could not create a thought" >&2; exit 1; }
export SHUTDOWN_DRAIN_SECONDS=0

results="$work/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
    for pair in "$@"; do
        name=${pair%%=*}
        binary=${pair#*=}
        for level in "" warn; do
            start "$binary" "$level"
            for route in healthz thought; do
                case $route in
                    healthz) url="$thoughts/healthz" ;;
                    thought) url="$thoughts/api/thoughts/$id/" ;;
                esac
                r=$(rps "$url")
                label=${level:-default}
                echo "round $round $name $route $label $r" | tee -a "$results"
            done
            lines=$(wc -l <"$work/log")
            stop
            echo "  ($name, ${level:-default}: $lines log lines)"
        done
    done
done

echo
echo "median requests/s and ratio logging-on / logging-off (RUST_LOG=warn):"
for pair in "$@"; do
    name=${pair%%=*}
    for route in healthz thought; do
        on=$(awk -v n="$name" -v r="$route" '$3 == n && $4 == r && $5 == "default" {print $6}' "$results" | sort -n |
            awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        off=$(awk -v n="$name" -v r="$route" '$3 == n && $4 == r && $5 == "warn" {print $6}' "$results" | sort -n |
            awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        ratio=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.2f", a / b}')
        printf "%-8s %-8s default %10s  warn %10s  ratio %s\n" "$name" "$route" "$on" "$off" "$ratio"
    done
done

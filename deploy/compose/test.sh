#!/usr/bin/env bash
# End-to-end check of deploy/compose.yaml (run by .ci/run): bring the stack
# up, walk the user journey through the frontend, stop and remove every
# container, bring it up again and check the data survived, tear it down.
#   deploy/compose/test.sh PYTHON MYTHOUGHTS_BINARY
# PYTHON has `requests`; the binary makes the key pair. The images must exist
# (deploy/docker/build.sh); POSTGRES_IMAGE picks PostgreSQL (default the
# official image, CI: mythoughts/postgres:15 from deploy/postgres/build.sh).
set -euo pipefail
python="$1" mythoughts="$2"
here="$(cd "$(dirname "$0")" && pwd)"
export MYTHOUGHTS_HTTP="127.0.0.1:${COMPOSE_TEST_PORT:-18080}"
project="mythoughts-ci"
# The Compose plugin where there is one (hosted runners), else docker-compose 1.29+ (Debian).
if docker compose version >/dev/null 2>&1; then compose_cmd=(docker compose --ansi never)
else compose_cmd=(docker-compose --ansi never); fi
compose() { "${compose_cmd[@]}" -f "$here/../compose.yaml" -p "$project" "$@"; }
state="$(mktemp)"
teardown() {
  compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  rm -f "$state"
}
trap teardown EXIT

# Wait (at most 180 s) until every container of the project is healthy.
wait_healthy() {
  local deadline=$((SECONDS + 180)) ids id status unhealthy
  while :; do
    ids="$(compose ps -q)"
    unhealthy=0
    for id in $ids; do
      status="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")"
      [ "$status" = healthy ] || unhealthy=$((unhealthy + 1))
    done
    if [ -n "$ids" ] && [ "$unhealthy" = 0 ]; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "the stack did not become healthy within 180 s" >&2
      compose ps >&2; compose logs --tail 30 >&2
      return 1
    fi
    sleep 1
  done
  compose ps
}

compose config -q   # the file is valid for this Compose version
"$here/secrets.sh" "$mythoughts"
teardown
started=$SECONDS
compose up -d 2>&1 | grep -v -e '^Creating' -e '^$' || true
wait_healthy
echo "stack healthy in $((SECONDS - started)) s"
"$python" "$here/../../tests/deploy/journey.py" "http://$MYTHOUGHTS_HTTP" write "$state" \
  --admin-password-file "$here/secrets/admin_password"

echo "-- restart: every container stopped and removed, the volume kept"
compose down >/dev/null 2>&1
compose up -d 2>&1 | grep -v -e '^Creating' -e '^$' || true
wait_healthy
"$python" "$here/../../tests/deploy/journey.py" "http://$MYTHOUGHTS_HTTP" verify "$state"

# The containers log JSON lines, one access line per request.
echo "frontend access log lines since the restart: $(compose logs --no-color frontend | grep -c '"message":"request finished"')"

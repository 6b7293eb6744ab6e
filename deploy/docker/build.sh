#!/usr/bin/env bash
# Build the MyThoughts images offline (no registry needed): static binaries
# on the host, then one `docker build` per image from deploy/docker/Dockerfile.
#   deploy/docker/build.sh            build users, thoughts, frontend, mythoughts
#   SMOKE=1 deploy/docker/build.sh    ... then run each image and probe it
# Each image is tagged with its own version, the commit and `latest`:
# mythoughts/users:<services/users/Cargo.toml's version>, the same for thoughts
# and frontend (released one by one, deploy/release.sh), and the all-in-one
# mythoughts/mythoughts:<the workspace version>. VERSION_NAME, when set,
# replaces every image's version (a development build); VERSION_SHA the commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=x86_64-unknown-linux-gnu
version_of() {
  local manifest="services/$1/Cargo.toml"
  [ "$1" = mythoughts ] && manifest=Cargo.toml
  [ -n "${VERSION_NAME:-}" ] && { echo "$VERSION_NAME"; return; }
  sed -n 's/^version = "\(.*\)"/\1/p' "$manifest" | head -n 1
}
sha="${VERSION_SHA:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}"

# Not the load generator: no image ships it, and built alongside, goose's
# dependency features (reqwest gzip, clap wrap_help) would enter the services.
RUSTFLAGS='-C target-feature=+crt-static' \
  cargo build --release --locked --workspace --exclude loadgen --bins --target "$target" --target-dir target/static
bins="target/static/$target/release"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
mkdir "$ctx/data"
for image in users:users-service thoughts:thoughts-service frontend:frontend-service mythoughts:mythoughts; do
  name="${image%%:*}" binary="${image#*:}" version="$(version_of "${image%%:*}")"
  cp "$bins/$binary" "$ctx/"
  file "$ctx/$binary" | grep -q "static" || { echo "$binary is not statically linked" >&2; exit 1; }
  docker build --quiet -f deploy/docker/Dockerfile \
    --build-arg BINARY="$binary" --build-arg VERSION_NAME="$version" --build-arg VERSION_SHA="$sha" \
    --build-arg SOURCE="${SOURCE:-https://github.com/example/mythoughts}" \
    -t "mythoughts/$name:$version" -t "mythoughts/$name:$sha" -t "mythoughts/$name:latest" "$ctx" >/dev/null
done
for name in users thoughts frontend mythoughts; do
  docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "mythoughts/$name" | grep -E ":($(version_of "$name")|$sha) " | sort
done

[ "${SMOKE:-0}" = 1 ] || exit 0
# Smoke test: run every image, wait for its own health check, probe it.
keys="$(mktemp -d)"
"$bins/mythoughts" keys --out "$keys" >/dev/null
chmod 0755 "$keys"; chmod 0644 "$keys/private_key.pem"   # readable by the image's user (a throwaway smoke key)
cleanup() { docker rm -f mt-smoke-users mt-smoke-thoughts mt-smoke-frontend mt-smoke-all >/dev/null 2>&1 || true; rm -rf "$ctx" "$keys"; }
trap cleanup EXIT
net=mt-smoke
docker network inspect "$net" >/dev/null 2>&1 || docker network create "$net" >/dev/null
docker run -d --name mt-smoke-users --network "$net" --read-only -p 127.0.0.1:18801:8000 -p 127.0.0.1:18811:9000 \
  -v "$keys:/opt/keys:ro" --tmpfs /data:uid=65532 "mythoughts/users:$sha" >/dev/null
docker run -d --name mt-smoke-thoughts --network "$net" --read-only -p 127.0.0.1:18802:8000 \
  -v "$keys:/opt/keys:ro" --tmpfs /data:uid=65532 "mythoughts/thoughts:$sha" >/dev/null
docker run -d --name mt-smoke-frontend --network "$net" --read-only -p 127.0.0.1:18800:8000 \
  -v "$keys:/opt/keys:ro" -e USER_BACKEND_URL=http://mt-smoke-users:8000 \
  -e THOUGHTS_BACKEND_URL=http://mt-smoke-thoughts:8000 "mythoughts/frontend:$sha" >/dev/null
docker run -d --name mt-smoke-all --read-only -p 127.0.0.1:18810:8000 --tmpfs /data:uid=65532 \
  "mythoughts/mythoughts:$sha" >/dev/null
for c in mt-smoke-users mt-smoke-thoughts mt-smoke-frontend mt-smoke-all; do
  for _ in $(seq 1 120); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ] || { docker logs "$c"; exit 1; }
    sleep 0.5
  done
  echo "$c: $(docker inspect -f '{{.State.Health.Status}}' "$c")"
done
for port in 18801 18802 18800 18810; do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null && echo "127.0.0.1:$port/readyz: ready"
done
# Each service reports its own version (its image's VERSION_NAME).
reported="$(curl -fsS "http://127.0.0.1:18801/admin/version/")"; echo "$reported"
case "$reported" in *"\"version\":\"$(version_of users)\""*) ;; *) echo "users reports another version than $(version_of users)" >&2; exit 1 ;; esac
# Metrics and API docs only on the admin port (published here for the probe alone).
code="$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18801/metrics)"
[ "$code" = 404 ] || { echo "public /metrics answered $code, expected 404" >&2; exit 1; }
echo "public /metrics: 404"
metrics="$(curl -fsS "http://127.0.0.1:18811/metrics")"
case "$metrics" in *http_requests_total*) echo "admin /metrics: served" ;; *) echo "admin /metrics: no http_requests_total" >&2; exit 1 ;; esac
curl -fsS -o /dev/null "http://127.0.0.1:18811/docs/" && echo "admin /docs/: served"

#!/usr/bin/env bash
# Build each service's previous release (N-1) and run the mixed-version
# journeys (tests/compat/mixed_versions.py) against the current debug build.
#
#   tests/compat/mixed_versions.sh PYTHON [PG_SOCKET_DIR]
#
# The previous release of a service is the newest release recorded in
# deploy/releases.txt (`<service> <version> <commit>`, written by
# deploy/release.sh beside the `<service>-v<version>` tag) whose version is
# lower than the service's version in its Cargo.toml; when the service has
# had only one release, that release. The record is in the tree so that a
# clean clone without tags can run this; where the tag exists it must name
# the same commit.
#
# Each distinct commit is built once, into the same target dir as the
# current build (registry dependencies are shared, only our crates are
# compiled again), and its binaries are copied aside. Run it last: it
# builds other code into target/debug, and restores the current binaries
# when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="$1"
PG="${2:-}"
ROOT="$PWD"
RELEASES=deploy/releases.txt
CURRENT="$ROOT/target/mixed/current"
WORK="$(mktemp -d)"
trap 'git worktree remove --force "$WORK/src" >/dev/null 2>&1 || true; rm -rf "$WORK"; restore' EXIT

mkdir -p "$CURRENT"
for s in users thoughts frontend; do cp "target/debug/$s-service" "$CURRENT/"; done
restore() { for s in users thoughts frontend; do cp "$CURRENT/$s-service" "target/debug/$s-service"; done; }

version_of() { sed -n 's/^version = "\(.*\)"/\1/p' "services/$1/Cargo.toml" | head -n 1; }

previous_commit() { # service → "version commit"
  local service="$1" current chosen="" newest=""
  current="$(version_of "$service")"
  [ -n "$current" ] || current="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
  while read -r name version commit; do
    [ "$name" = "$service" ] || continue
    newest="$version $commit"
    if [ "$version" != "$current" ] && [ "$(printf '%s\n%s\n' "$version" "$current" | sort -V | head -n 1)" = "$version" ]; then
      chosen="$version $commit"
    fi
  done < <(grep -v '^#' "$RELEASES" | sort -k2,2V)
  [ -n "$newest" ] || { echo "no release of $service in $RELEASES" >&2; exit 1; }
  echo "${chosen:-$newest}"
}

declare -A built
args=()
for service in users thoughts frontend; do
  read -r version commit < <(previous_commit "$service")
  if tag="$(git rev-parse -q --verify "refs/tags/$service-v$version^{commit}" 2>/dev/null)"; then
    [ "$tag" = "$(git rev-parse "$commit^{commit}")" ] || {
      echo "$service-v$version names $tag, $RELEASES says $commit" >&2; exit 1; }
  fi
  out="$ROOT/target/mixed/$commit"
  if [ -z "${built[$commit]:-}" ] && [ ! -x "$out/$service-service" ]; then
    echo "building the previous release of $service: $version at ${commit:0:12}"
    git worktree remove --force "$WORK/src" >/dev/null 2>&1 || true
    git worktree add --detach -q "$WORK/src" "$commit"
    (cd "$WORK/src" && CARGO_TARGET_DIR="$ROOT/target" cargo build -q --locked --bins \
      -p users -p thoughts -p frontend)
    mkdir -p "$out"
    for s in users thoughts frontend; do cp "target/debug/$s-service" "$out/"; done
    built[$commit]=1
  fi
  echo "$service: N = $(version_of "$service") (this tree), N-1 = $version (${commit:0:12})"
  args+=(--previous "$service=$out")
done
restore
"$PYTHON" tests/compat/mixed_versions.py --current "$CURRENT" "${args[@]}" ${PG:+--postgres "$PG"}

#!/usr/bin/env bash
# Build each service's previous release (N-1) and run the mixed-version
# journeys (tests/compat/mixed_versions.py) against the current debug build.
#
#   tests/compat/mixed_versions.sh PYTHON [PG_SOCKET_DIR]
#
# The previous release of a service is its newest release whose version is
# lower than the version in its Cargo.toml (when it has had only one
# release, that release). Releases are the commits deploy/release.sh makes
# ("release: <service> X.Y.Z") and those listed in deploy/releases.txt; both
# are in the history, so a clean clone without tags can run this; where the
# `<service>-vX.Y.Z` tag exists it must name the same commit.
#
# Each distinct commit is built once, in its own target dir
# (target/mixed/build): cargo's artefacts of workspace crates do not depend
# on where the workspace is, so building an older tree into target/ would
# leave its crates there looking fresh to the next build of this tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="$1"
PG="${2:-}"
ROOT="$PWD"
RELEASES=deploy/releases.txt
CURRENT="$ROOT/target/mixed/current"
WORK="$(mktemp -d)"
trap 'git worktree remove --force "$WORK/src" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

mkdir -p "$CURRENT"
for s in users thoughts frontend; do cp "target/debug/$s-service" "$CURRENT/"; done

version_of() { sed -n 's/^version = "\(.*\)"/\1/p' "services/$1/Cargo.toml" | head -n 1; }

releases() { # "<service> <version> <commit>" lines
  grep -v '^#' "$RELEASES"
  git log --format='%H %s' | sed -n 's/^\([0-9a-f]*\) release: \([a-z]*\) \([0-9][0-9.]*\)$/\2 \3 \1/p'
}

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
  done < <(releases | sort -k2,2V)
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
    (cd "$WORK/src" && CARGO_TARGET_DIR="$ROOT/target/mixed/build" cargo build -q --locked --bins \
      -p users -p thoughts -p frontend)
    mkdir -p "$out"
    for s in users thoughts frontend; do cp "target/mixed/build/debug/$s-service" "$out/"; done
    built[$commit]=1
  fi
  echo "$service: N = $(version_of "$service") (this tree), N-1 = $version (${commit:0:12})"
  args+=(--previous "$service=$out")
done
"$PYTHON" tests/compat/mixed_versions.py --current "$CURRENT" "${args[@]}" ${PG:+--postgres "$PG"}

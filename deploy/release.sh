#!/usr/bin/env bash
# Release one service on its own: deploy/release.sh <users|thoughts|frontend> <X.Y.Z>
#
# On a clean checkout, in one commit `release: <service> X.Y.Z` tagged
# `<service>-vX.Y.Z` (annotated), it:
#   1. checks that X.Y.Z is newer than the service's last release tag and not
#      older than its Cargo.toml version, and that CHANGELOG.md's Unreleased
#      section says something;
#   2. users/thoughts: runs the API compatibility gate (api-compat) on
#      api/openapi.json against the last released document: a breaking change
#      is refused unless X.Y.Z is a new major version (before 1.0 a new minor);
#   3. sets the version in services/<service>/Cargo.toml, Cargo.lock, the
#      README's VERSION_NAME default and api/openapi.json's info.version;
#   4. moves the Unreleased notes under `## [X.Y.Z] - <today>`;
#   5. users/thoughts: snapshots api/openapi.json as api/released/X.Y.Z.json,
#      the baseline the next versions are checked against.
# Nothing is pushed: it prints the commands that publish the release (CI
# builds, tests and pushes the service's image tagged X.Y.Z on that tag).
#
# API_COMPAT names an api-compat binary (default: `cargo run -p apicompat`).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "release: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: deploy/release.sh <users|thoughts|frontend> <X.Y.Z>"
service="$1" version="$2"
case "$service" in users | thoughts | frontend) ;; *) die "unknown service '$service' (users, thoughts or frontend)" ;; esac
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$'
[[ "$version" =~ $semver ]] || die "version '$version' is not MAJOR.MINOR.PATCH"

dir="services/$service"
tag="$service-v$version"
manifest="$dir/Cargo.toml" changelog="$dir/CHANGELOG.md" readme="$dir/README.md"
openapi="$dir/api/openapi.json" released="$dir/api/released"

[ -z "$(git status --porcelain)" ] || die "the working tree has uncommitted changes: commit or stash them first"
git rev-parse -q --verify "refs/tags/$tag" >/dev/null && die "tag $tag exists already"

# newer(a, b): a > b in semver order.
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }
current="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$manifest" | head -n 1)"
[ -n "$current" ] || die "$manifest has no version = \"...\" line (version.workspace is not per service)"
last="$(git tag -l "$service-v*" | sed "s/^$service-v//" | grep -E "$semver" | sort -V | tail -n 1 || true)"
if [ -n "$last" ] && ! newer "$version" "$last"; then
  die "$version is not newer than the last release $last ($service-v$last)"
fi
if [ "$version" != "$current" ] && ! newer "$version" "$current"; then
  die "$version is older than $manifest's version $current"
fi

# The Unreleased section: from its heading to the next `## [`.
notes="$(awk '/^## \[Unreleased\]/ {on = 1; next} on && /^## \[/ {exit} on' "$changelog")"
[ -n "$(printf '%s' "$notes" | tr -d '[:space:]')" ] ||
  die "$changelog: nothing under ## [Unreleased]; say what changed (Added, Changed, Deprecated, Removed, Fixed, Security)"

if [ -f "$openapi" ]; then
  if [ -n "${API_COMPAT:-}" ]; then compat=("$API_COMPAT"); else compat=(cargo run --quiet --locked -p apicompat --); fi
  # Checked against the newest release not newer than $version, before
  # $version's own baseline exists.
  "${compat[@]}" --released "$released" --version "$version" "$openapi" ||
    die "the API compatibility gate refused $service $version (above)"
fi

# 3. The version everywhere it is written down.
sed -i "0,/^version = \".*\"$/s//version = \"$version\"/" "$manifest"
awk -v name="$service" -v version="$version" '
  $0 == "name = \"" name "\"" { hit = 1; print; next }
  hit && /^version = / { print "version = \"" version "\""; hit = 0; next }
  { hit = 0; print }' Cargo.lock > Cargo.lock.new && mv Cargo.lock.new Cargo.lock
grep -q "^| \`VERSION_NAME\` |" "$readme" || die "$readme has no VERSION_NAME row in its variables table"
sed -i "s/^| \`VERSION_NAME\` | \`[^\`]*\` |/| \`VERSION_NAME\` | \`$version\` |/" "$readme"

# 4. The changelog: the notes move under the new version, Unreleased stays, empty.
today="$(date -u +%F)"
awk -v heading="## [$version] - $today" '
  /^## \[Unreleased\]/ && !done { print; print ""; print heading; done = 1; next }
  { print }' "$changelog" > "$changelog.new" && mv "$changelog.new" "$changelog"

# 5. The OpenAPI document: its version, then the released baseline.
if [ -f "$openapi" ]; then
  python3 - "$openapi" "$version" <<'PY'
import json, sys
path, version = sys.argv[1:]
with open(path, encoding="utf-8") as f:
    doc = json.load(f)
doc["info"]["version"] = version
# The committed form (testkit::golden::canonical_json): sorted keys, two spaces.
with open(path, "w", encoding="utf-8") as f:
    f.write(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
PY
  mkdir -p "$released"
  cp "$openapi" "$released/$version.json"
  git add "$released/$version.json"
fi

git add "$manifest" Cargo.lock "$readme" "$changelog"
[ -f "$openapi" ] && git add "$openapi"
git commit --quiet -m "release: $service $version" -m "$notes"
git tag -a "$tag" -m "$service $version" -m "$notes"
echo "released $service $version: commit $(git rev-parse --short HEAD), tag $tag"
echo "publish it:  git push origin HEAD $tag"
echo "then roll it out (docs/independent-releases.md), e.g. newTag: $version for mythoughts/$service in deploy/k8s/overlays/<env>/kustomization.yaml"

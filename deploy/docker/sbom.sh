#!/usr/bin/env bash
# One CycloneDX 1.5 SBOM per image, in target/sbom/<image>.cdx.json, made by
# cargo-cyclonedx (installed at a pinned version if missing) from the same
# lock file, target and features as deploy/docker/build.sh's binaries, plus
# the one file the image adds (Debian's CA bundle).
#   deploy/docker/sbom.sh                  write the SBOMs
#   SBOM_PYTHON=venv/bin/python sbom.sh    ... and validate them against the
#                                          CycloneDX schema (cyclonedx-python-lib)
# Note: cargo-cyclonedx lists the binary's package's dev-dependencies too
# (e.g. proptest), so the SBOM is a superset of what is linked in.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=x86_64-unknown-linux-gnu
cyclonedx_version=0.5.9
if ! cargo cyclonedx --help >/dev/null 2>&1; then
  cargo install --locked --quiet --version "$cyclonedx_version" cargo-cyclonedx
fi
# Each image's own version, as deploy/docker/build.sh tags it.
version_of() {
  local manifest="services/$1/Cargo.toml"
  [ "$1" = mythoughts ] && manifest=Cargo.toml
  [ -n "${VERSION_NAME:-}" ] && { echo "$VERSION_NAME"; return; }
  sed -n 's/^version = "\(.*\)"/\1/p' "$manifest" | head -n 1
}
out=target/sbom
mkdir -p "$out"
cargo cyclonedx --quiet --format json --spec-version 1.5 --describe binaries --no-build-deps --target "$target"
ca_version="$(dpkg-query -W -f '${Version}' ca-certificates 2>/dev/null || echo unknown)"
for image in users:services/users/users-service frontend:services/frontend/frontend-service \
  thoughts:services/thoughts/thoughts-service mythoughts:cli/mythoughts; do
  name="${image%%:*}" file="${image#*:}_bin.cdx.json"
  python3 - "$file" "$out/$name.cdx.json" "mythoughts/$name:$(version_of "$name")" "$ca_version" <<'PY'
import json, sys
source, dest, image, ca_version = sys.argv[1:]
bom = json.load(open(source))
bom["metadata"].setdefault("properties", []).append({"name": "mythoughts:image", "value": image})
bom["components"].append({
    "type": "data",
    "bom-ref": "pkg:deb/debian/ca-certificates@" + ca_version,
    "name": "ca-certificates",
    "version": ca_version,
    "description": "CA bundle at /etc/ssl/certs/ca-certificates.crt",
    "purl": "pkg:deb/debian/ca-certificates@" + ca_version,
})
json.dump(bom, open(dest, "w"), indent=1)
print(f"{dest}: {image}, {len(bom['components'])} components")
PY
  rm -f "$file"
done
if [ -n "${SBOM_PYTHON:-}" ]; then
  "$SBOM_PYTHON" - "$out"/*.cdx.json <<'PY'
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
validator = JsonStrictValidator(SchemaVersion.V1_5)
for path in sys.argv[1:]:
    error = validator.validate_str(open(path).read())
    if error:
        sys.exit(f"{path}: not valid CycloneDX 1.5: {error}")
print(f"{len(sys.argv) - 1} SBOMs valid against the CycloneDX 1.5 schema")
PY
fi

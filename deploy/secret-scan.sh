#!/usr/bin/env bash
# Secret scan: detect-secrets over every file git tracks, against the
# reviewed baseline (.secrets.baseline). A finding that is not in the
# baseline marked `"is_secret": false` fails the scan.
#   bash deploy/secret-scan.sh [path/to/detect-secrets]
# After reviewing a new finding that is not a secret (a test password, a
# Secret's name), record it: detect-secrets scan --baseline .secrets.baseline
# then set "is_secret": false on it.
set -euo pipefail
cd "$(dirname "$0")/.."
ds="${1:-detect-secrets}"
work="$(mktemp)"
trap 'rm -f "$work"' EXIT
cp .secrets.baseline "$work"
"$ds" scan --baseline "$work"
python3 - "$work" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
found = [(f, s["line_number"], s["type"]) for f, items in results.items()
         for s in items if s.get("is_secret") is not False]
files = len(results)
if found:
    for f, line, kind in found:
        print(f"possible secret: {f}:{line}: {kind}")
    print(f"{len(found)} unreviewed finding(s); see deploy/secret-scan.sh")
    sys.exit(1)
print(f"secret scan clean: every finding ({sum(len(v) for v in results.values())} in {files} files) was reviewed as not a secret")
PY

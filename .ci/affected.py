#!/usr/bin/env python3
"""Which service pipelines a change needs, read from the Cargo manifests.

Each service's pipeline runs when a file it is built or tested from changes:
its own folder, every workspace crate it depends on (normal and build
dependencies, followed through; its own dev-dependencies), the workspace
Cargo.toml and Cargo.lock, and the CI files. The lists come from the
manifests, so a new dependency on a workspace crate changes the filter with
no second list to keep in step. A consumer's pipeline also runs when one of
the services it calls changes (CONSUMERS): that is where its tests check what
it relies on.

  .ci/affected.py paths <service>      the path filter of one service
  .ci/affected.py changed <base-ref>   key=value lines for $GITHUB_OUTPUT:
                                       which pipelines the diff base-ref...HEAD needs
  .ci/affected.py check                fail unless every service builds and
                                       tests without another service's crate
"""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("users", "thoughts", "frontend")
# Who calls whom (API.md): a change to the key's service also runs the
# value's pipelines, whose tests cover what they use of it.
CONSUMERS = {"users": ("frontend",), "thoughts": ("frontend",)}
# Files whose change runs every pipeline.
EVERYTHING = ("Cargo.toml", "Cargo.lock", ".ci/", ".github/workflows/ci.yml", "rust-toolchain.toml")


def load(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def workspace_crates():
    """name -> folder (relative, with a trailing slash) of every workspace crate."""
    root = load(ROOT / "Cargo.toml")
    crates = {}
    for pattern in root["workspace"]["members"]:
        for manifest in sorted(ROOT.glob(f"{pattern}/Cargo.toml")):
            name = load(manifest)["package"]["name"]
            crates[name] = manifest.parent.relative_to(ROOT).as_posix() + "/"
    return crates


def local_dependencies(folder, crates, tables):
    """The workspace crates a crate's manifest names in `tables`."""
    manifest = load(ROOT / folder / "Cargo.toml")
    names = set()
    for table in tables:
        for name, spec in manifest.get(table, {}).items():
            package = spec.get("package", name) if isinstance(spec, dict) else name
            if package in crates:
                names.add(package)
    return names


def closure(service, crates):
    """The workspace crates `service` is built and tested with (itself included)."""
    seen = {service}
    todo = list(local_dependencies(crates[service], crates, ("dependencies", "build-dependencies", "dev-dependencies")))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(local_dependencies(crates[name], crates, ("dependencies", "build-dependencies")))
    return seen


def paths(service, crates):
    return sorted(crates[name] for name in closure(service, crates)) + list(EVERYTHING)


def touches(files, prefixes):
    return [f for f in files if any(f == p or (p.endswith("/") and f.startswith(p)) for p in prefixes)]


def changed(base, crates):
    diff = subprocess.run(
        ["git", "diff", "--name-only", f"{base}...HEAD"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    files = [line for line in diff.stdout.splitlines() if line]
    own = {s: touches(files, paths(s, crates)) for s in SERVICES}
    for service in SERVICES:
        callees = [callee for callee, consumers in CONSUMERS.items() if service in consumers and own[callee]]
        run = bool(own[service]) or bool(callees)
        why = ", ".join(own[service][:3]) + (" ..." if len(own[service]) > 3 else "")
        if callees:
            why = (why + "; " if why else "") + "consumer of changed " + " and ".join(callees)
        print(f"{service}={'true' if run else 'false'}")
        print(f"{service}: {'run' if run else 'skip'}{' (' + why + ')' if why else ''}", file=sys.stderr)


def check(crates):
    failures = []
    for service in SERVICES:
        others = sorted(closure(service, crates) & (set(SERVICES) - {service}))
        if others:
            failures.append(f"{service} is built or tested with the crate of {', '.join(others)}")
        used = sorted(closure(service, crates) - {service})
        print(f"{service}: {', '.join(used)} (no other service)" if not others else f"{service}: {', '.join(used)}")
    if failures:
        sys.exit("services must not depend on each other, not even in tests:\n  " + "\n  ".join(failures))


def main(args):
    crates = workspace_crates()
    match args:
        case ["paths", service] if service in SERVICES:
            print("\n".join(paths(service, crates)))
        case ["changed", base]:
            changed(base, crates)
        case ["check"]:
            check(crates)
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

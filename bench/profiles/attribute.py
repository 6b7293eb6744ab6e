#!/usr/bin/env python3
"""Attribute perf samples to owners: each sample goes to the innermost frame
(leaf first) that matches one of the given regular expressions, in the order
given; the share of samples per owner is printed.

  perf record -e cpu-clock -F 1500 -g --call-graph dwarf,16384 -p PID -o perf.data -- sleep 5
  perf script -i perf.data -F ip,sym > perf.txt        # inlined frames included
  bench/profiles/attribute.py perf.txt 'writev|sendmsg' 'chrono' 'sqlite3' ...

Put the narrow owners (syscalls, a crate) before the broad ones (tokio::,
axum::): the first match from the leaf wins, so malloc called by chrono counts
as chrono unless malloc is named earlier.
"""
import collections
import re
import sys


def samples(path):
    cur = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                if cur:
                    yield cur
                cur = []
                continue
            parts = line.split(None, 1)
            cur.append(parts[1] if len(parts) > 1 else parts[0])
    if cur:
        yield cur


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(64)
    owners = [(o, re.compile(o)) for o in sys.argv[2:]]
    counts, n = collections.Counter(), 0
    for stack in samples(sys.argv[1]):
        n += 1
        who = "(none)"
        for frame in stack:
            hit = next((o for o, rx in owners if rx.search(frame)), None)
            if hit:
                who = hit
                break
        counts[who] += 1
    print(f"{n} samples")
    for owner, c in counts.most_common():
        print(f"{100 * c / n:6.2f}%  {owner}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fails if a source folder includes a folder that must not depend on it.

The folders, in the order docs/ARCHITECTURE.md ("Layout") gives them: a
file may include headers of its own folder and of folders before it in
LAYERS, never of one after it. Tests, fuzz targets and the bench may
include anything.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = (
    "common",
    "gateway",
    "herdnode/store",
    "herdnode/durable",
    "herdnode/mesh",
    "herdnode/places",
    "herdnode/ops",
    "herdnode",
    "app",
)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def layer_of(path):
    """The LAYERS index of the folder holding path (the longest match), or
    None for paths outside them (generated protos, other libraries)."""
    best = None
    for index, folder in enumerate(LAYERS):
        if path.startswith(folder + "/") and (
                best is None or len(folder) > len(LAYERS[best])):
            best = index
    return best


def main():
    files = subprocess.run(
        ["git", "ls-files", "--", *(f"{f}/*.h" for f in LAYERS),
         *(f"{f}/*.cc" for f in LAYERS)],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    problems = []
    for name in files:
        own = layer_of(name)
        text = (ROOT / name).read_text(encoding="utf-8")
        for included in INCLUDE.findall(text):
            theirs = layer_of(included)
            if theirs is not None and theirs > own:
                problems.append(f"{name}: includes {included} "
                                f"({LAYERS[theirs]}/ comes after {LAYERS[own]}/)")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-layering: {len(problems)} include(s) against the layer "
              "order (docs/ARCHITECTURE.md, Layout)", file=sys.stderr)
        return 1
    print(f"check-layering: {len(files)} files follow the layer order")
    return 0


if __name__ == "__main__":
    sys.exit(main())

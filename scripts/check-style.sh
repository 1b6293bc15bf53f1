#!/usr/bin/env bash
# The quick checks .ci/run makes before it builds anything: clang-format
# (Google style) on every C++ source, the folders' include order
# (scripts/check-layering.py, docs/ARCHITECTURE.md "Layout"), and pyflakes
# on every Python file. clang-tidy needs compile commands: .ci/run runs it
# next (scripts/tidy-changed.sh); scripts/tidy.sh FILE... checks files by hand.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
scripts/check-format.sh || status=1
scripts/check-layering.py || status=1
mapfile -t python < <(git ls-files -- '*.py')
if pyflakes3 "${python[@]}"; then
  echo "pyflakes: ${#python[@]} files clean"
else
  status=1
fi
exit "$status"

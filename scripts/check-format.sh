#!/usr/bin/env bash
# Fails if any of herd's C++ sources differs from clang-format's Google style.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -- '*.cc' '*.h' 2>/dev/null || true)
if [[ ${#files[@]} -eq 0 ]]; then
  mapfile -t files < <(find herdnode gateway tests bench fuzz -name '*.cc' -o -name '*.h' 2>/dev/null)
fi
clang-format --style=file --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"

#!/usr/bin/env bash
# clang-tidy (scripts/tidy.sh) on every C++ source changed since the commit
# named in scripts/tidy-base: .ci/run's second quick stage. It configures a
# build dir of its own (build-tidy/, or HERD_TIDY_BUILD_DIR) for the compile
# commands and generates only the protos' headers, so it runs before, and
# without, the long build. A header is checked through the sources that
# include it (the compile commands name sources only).
#
# scripts/tidy-base moves forward when every source changed since it has
# been tidied clean (this script, or scripts/tidy.sh on the whole tree).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${HERD_TIDY_BUILD_DIR:-build-tidy}
base=$(grep -v '^#' scripts/tidy-base | head -n 1)

if ! git cat-file -e "${base}^{commit}" 2>/dev/null; then
  # A shallow clone without the base: the newest commit's changes at least.
  echo "tidy: base ${base} not in this clone; checking the last commit's changes" >&2
  base=HEAD~1
  git cat-file -e "${base}^{commit}" 2>/dev/null || base=HEAD
fi
sources='\.(cc|h)$'
mapfile -t changed < <(git diff --name-only --diff-filter=d "${base}" -- \
  common gateway herdnode app bench tests | grep -E "${sources}" || true)
files=()
for file in "${changed[@]}"; do
  if [[ $file == *.h ]]; then
    # The sources that include the header by its path (tests include their
    # helpers by name alone).
    mapfile -t -O "${#files[@]}" files < <(git grep -l -F \
      -e "#include \"${file}\"" -e "#include \"$(basename "$file")\"" -- '*.cc' || true)
  else
    files+=("$file")
  fi
done
mapfile -t files < <(printf '%s\n' "${files[@]}" | grep . | sort -u || true)
if ((${#files[@]} == 0)); then
  echo "tidy: no C++ source changed since ${base}"
  exit 0
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
mapfile -t generated < <(ninja -C "$build_dir" -t targets all |
  sed -n 's|^\(protos/gen/[^:]*\.h\): CUSTOM_COMMAND$|\1|p')
ninja -C "$build_dir" "${generated[@]}" >/dev/null
# Sources the build does not compile (none today) cannot be tidied.
compiled=()
for file in "${files[@]}"; do
  if grep -q "\"file\": \"$PWD/$file\"" "$build_dir/compile_commands.json"; then
    compiled+=("$file")
  fi
done
echo "tidy: ${#compiled[@]} sources changed since ${base} (or next to a changed header)"
status=0
printf '%s\n' "${compiled[@]}" |
  HERD_BUILD_DIR=$build_dir xargs -P "$(nproc)" -n 4 scripts/tidy.sh \
    >"$build_dir/tidy.out" 2>&1 || status=1
# clang-tidy prints "N warnings generated" for warnings it suppressed
# (system headers): only findings in herd's files count.
if grep -E '^/.*: (warning|error): ' "$build_dir/tidy.out"; then status=1; fi
if ((status)); then
  echo "tidy: findings above (full output: $build_dir/tidy.out)"
else
  echo "tidy: clean"
fi
exit "$status"

#!/usr/bin/env bash
# Runs clang-tidy (config: .clang-tidy) on herd's sources or the files given,
# using the compile commands of a build dir (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${HERD_BUILD_DIR:-build}
[[ -f $build_dir/compile_commands.json ]] || {
  echo "no $build_dir/compile_commands.json: build first (./test.sh or cmake)" >&2
  exit 2
}
if (($#)); then files=("$@"); else
  mapfile -t files < <(git ls-files -- 'common/*.cc' 'herdnode/*.cc' 'gateway/*.cc' 'app/*.cc' 'bench/*.cc')
fi
# Boost 1.74 does not detect clang 14's C++20 coroutine support by itself.
# The compile commands are GCC's: clang does not know some of its warning
# flags (-Wno-restrict), which is not a finding.
clang-tidy -p "$build_dir" --quiet \
  --extra-arg=-Wno-unknown-warning-option \
  --extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1 \
  --extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE=1 "${files[@]}"

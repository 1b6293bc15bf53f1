#!/usr/bin/env bash
# Builds herd's libFuzzer targets with clang (plus ASan and UBSan) and runs
# each for a bounded time from its seed corpus (fuzz/corpus/<target>/).
#
# Usage: scripts/fuzz.sh [ctest arguments...]
# Environment: HERD_FUZZ_BUILD_DIR (default build-fuzz), HERD_FUZZ_SECONDS
# (default 20 per target), HERD_JOBS (default 2).
# Needs Debian's clang and libclang-rt-14-dev (libFuzzer's runtime).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${HERD_FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "${build_dir}" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHERD_BUILD_TESTS=OFF \
  -DHERD_FUZZ=ON \
  -DHERD_SANITIZE=address,undefined \
  -DHERD_FUZZ_SECONDS="${HERD_FUZZ_SECONDS:-20}"
ninja -C "${build_dir}" -j"${HERD_JOBS:-2}" fuzz_text_protocol fuzz_herd_config

# halt_on_error: the first report is the finding; libFuzzer saves the input
# under <build>/fuzz/artifacts/<target>/.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec ctest --test-dir "${build_dir}" --output-on-failure -L fuzz "$@"

#!/usr/bin/env bash
# Builds herd and its tests with clang and sanitizers and runs the unit and
# end-to-end suites under them (but the fuzz targets and the "large" tests);
# any report fails the run. Installs missing
# Debian packages first, like test.sh. CI runs both (.ci/run).
#
# Usage: scripts/sanitize.sh asan|tsan [ctest arguments...]
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (preset asan-ubsan)
#   tsan: ThreadSanitizer (preset tsan)
# Environment: HERD_SANITIZE_BUILD_DIR (default: the preset's build-asan or
# build-tsan), HERD_JOBS (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
  asan) preset=asan-ubsan build_dir=build-asan ;;
  tsan) preset=tsan build_dir=build-tsan ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments...]" >&2
    exit 2
    ;;
esac
shift

build_dir=${HERD_SANITIZE_BUILD_DIR:-${build_dir}}
source scripts/deps.sh
herd_install_deps
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset "${preset}" -B "${build_dir}" "${launcher[@]}"
ninja -C "${build_dir}" -j"${HERD_JOBS:-2}"

# halt_on_error everywhere: the first report ends the process (a unit test
# fails; a herdnode exits non-zero, which the end-to-end harness reports).
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Debian's gRPC, Abseil and protobuf are not built with TSan; see the file.
# history_size=7 (the most): a busy gRPC process otherwise forgets the other
# access of a race ("failed to restore the stack"), and a report with one
# stack can neither be understood nor matched against the suppressions.
# ignore_noninstrumented_modules: memcpy, malloc and free called from
# uninstrumented code (gRPC's, libstdc++'s) are not checked, since TSan does
# not see that code's ordering; the locks such code takes still count.
export TSAN_OPTIONS="halt_on_error=1:history_size=7:ignore_noninstrumented_modules=1:second_deadlock_stack=1:suppressions=${PWD}/scripts/tsan-suppressions.txt"
exec ctest --test-dir "${build_dir}" --output-on-failure -j"${HERD_JOBS:-2}" \
  --label-exclude 'fuzz|large' "$@"

#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds herd in build/ (Release)
# and runs every test: unit tests, the end-to-end suite, the deployment and
# bench smoke tests, then each libFuzzer target for a bounded time (a clang
# build in build-fuzz/). Arguments go to the main ctest run and skip the
# fuzzers (e.g. ./test.sh -R integration). Exit code: non-zero if any failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source scripts/deps.sh

herd_install_deps
# shellcheck disable=SC2119  # no targets given: build them all
herd_build
status=0
ctest --test-dir "$HERD_BUILD_DIR" --output-on-failure -j2 "$@" || status=$?
if (($# == 0)); then
  scripts/fuzz.sh || status=$?
fi
exit "$status"

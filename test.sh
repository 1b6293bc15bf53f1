#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds herd in build/ (Release)
# and runs every test: unit tests and the end-to-end suite. Arguments go to
# ctest (e.g. ./test.sh -R integration). Exit code: ctest's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source scripts/deps.sh

herd_install_deps
# shellcheck disable=SC2119  # no targets given: build them all
herd_build
exec ctest --test-dir "$HERD_BUILD_DIR" --output-on-failure -j2 "$@"

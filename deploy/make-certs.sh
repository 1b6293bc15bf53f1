#!/usr/bin/env bash
# Makes a herd certificate authority and one certificate per server for the
# nodes' mutual TLS (see README, "Security").
#
#   deploy/make-certs.sh [--force] OUT_DIR NAME...
#
# OUT_DIR/ca.crt, OUT_DIR/ca.key: the herd CA (EC P-256, 10 years). Kept if
#   it exists already (so certificates made earlier stay valid); --force
#   makes a new CA and new certificates for every NAME.
# OUT_DIR/NAME.crt, OUT_DIR/NAME.key: signed by the CA, CN=NAME,
#   subjectAltName DNS:NAME, DNS:localhost, IP:127.0.0.1, IP:::1 plus the
#   entries of $HERD_CERT_EXTRA_SANS, extendedKeyUsage serverAuth and
#   clientAuth (every node is both a server and a client of its peers). An
#   existing certificate is kept unless --force or its key is missing.
#   In HERD_CERT_EXTRA_SANS, "{name}" stands for NAME, e.g.
#   HERD_CERT_EXTRA_SANS="DNS:{name}.herd.herd.svc.cluster.local".
#   Separate entries with commas or spaces.
#
# Keys are written with mode 0600. These are development certificates: for
# production, keep ca.key offline.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/cert-functions.sh"
parse_cert_args NAME "$@"
set -- "${items[@]}"

for name in "$@"; do
  # The name becomes a CN and a DNS SAN: keep it to what both allow.
  [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
    { echo "$0: '$name' is not a valid server name for a certificate" >&2; exit 2; }
done

mkdir -p "$out_dir"

ca_crt=$out_dir/ca.crt
ca_key=$out_dir/ca.key
if ensure_ca "$ca_crt" "$ca_key" "/O=herd/CN=herd CA" "$force"; then
  force=1  # certificates of an earlier CA would no longer verify
fi

extra_sans=${HERD_CERT_EXTRA_SANS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for name in "$@"; do
  crt=$out_dir/$name.crt
  key=$out_dir/$name.key
  if [[ -z $force && -f $crt && -f $key ]]; then
    continue
  fi
  sans="DNS:$name,DNS:localhost,IP:127.0.0.1,IP:::1"
  for extra in ${extra_sans//,/ }; do
    sans+=",${extra//\{name\}/$name}"
  done
  cat >"$work/$name.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
EXT
  sign_cert "$ca_crt" "$ca_key" "$crt" "$key" "/O=herd/CN=$name" \
    "$work/$name.ext" "$work"
  echo "made $crt ($sans)"
done

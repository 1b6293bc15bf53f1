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

usage() {
  echo "usage: $0 [--force] OUT_DIR NAME..." >&2
  exit 2
}

force=
if [[ ${1:-} == --force ]]; then
  force=1
  shift
fi
(($# >= 2)) || usage
out_dir=$1
shift
command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }

for name in "$@"; do
  # The name becomes a CN and a DNS SAN: keep it to what both allow.
  [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
    { echo "$0: '$name' is not a valid server name for a certificate" >&2; exit 2; }
done

mkdir -p "$out_dir"
umask 077
days=3650

# Writes key $1 (EC P-256, mode 0600).
new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

ca_crt=$out_dir/ca.crt
ca_key=$out_dir/ca.key
if [[ -n $force || ! -f $ca_crt || ! -f $ca_key ]]; then
  new_key "$ca_key"
  openssl req -x509 -new -key "$ca_key" -sha256 -days "$days" \
    -subj "/O=herd/CN=herd CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$ca_crt"
  chmod 644 "$ca_crt"
  force=1  # certificates of an earlier CA would no longer verify
  echo "made herd CA $ca_crt"
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
  new_key "$key"
  openssl req -new -key "$key" -subj "/O=herd/CN=$name" -out "$work/$name.csr"
  cat >"$work/$name.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
EXT
  openssl x509 -req -in "$work/$name.csr" -CA "$ca_crt" -CAkey "$ca_key" \
    -CAcreateserial -CAserial "$work/ca.srl" -sha256 -days "$days" \
    -extfile "$work/$name.ext" -out "$crt" 2>/dev/null
  chmod 644 "$crt"
  echo "made $crt ($sans)"
done

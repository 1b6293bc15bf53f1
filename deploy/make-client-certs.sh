#!/usr/bin/env bash
# Makes a client CA and one certificate per client id, for the TLS gateway
# (the herd file's gateway_tls section; README, "Client certificates").
#
#   deploy/make-client-certs.sh [--force] OUT_DIR CLIENT_ID...
#
# OUT_DIR/client-ca.crt, OUT_DIR/client-ca.key: the client CA (EC P-256, 10
#   years), apart from the herd CA so that no client certificate can pass
#   as a node's. Kept if it exists already; --force makes a new CA and new
#   certificates for every CLIENT_ID.
# OUT_DIR/CLIENT_ID.crt, OUT_DIR/CLIENT_ID.key: signed by the client CA,
#   CN=CLIENT_ID, subjectAltName DNS:CLIENT_ID, extendedKeyUsage clientAuth.
#   With gateway_tls.bind_client_id, this certificate may report (IAMAT)
#   only CLIENT_ID's location. An existing certificate is kept unless
#   --force or its key is missing.
#
# Keys are written with mode 0600. Give each client only its own .crt and
# .key; keep client-ca.key offline in production.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/cert-functions.sh"
parse_cert_args CLIENT_ID "$@"
set -- "${items[@]}"

for id in "$@"; do
  # The id becomes a CN (at most 64 characters) and a DNS name, and a file
  # name: keep it to characters all three take as they are.
  [[ $id =~ ^[A-Za-z0-9._@:-]{1,64}$ && $id != .* ]] ||
    { echo "$0: '$id' is not a client id this script can certify (1 to 64 of A-Z a-z 0-9 . _ @ : -, not starting with '.')" >&2; exit 2; }
done

mkdir -p "$out_dir"

ca_crt=$out_dir/client-ca.crt
ca_key=$out_dir/client-ca.key
if ensure_ca "$ca_crt" "$ca_key" "/O=herd/CN=herd client CA" "$force"; then
  force=1  # certificates of an earlier CA would no longer verify
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for id in "$@"; do
  crt=$out_dir/$id.crt
  key=$out_dir/$id.key
  if [[ -z $force && -f $crt && -f $key ]]; then
    continue
  fi
  cat >"$work/client.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:$id
EXT
  sign_cert "$ca_crt" "$ca_key" "$crt" "$key" "/O=herd/CN=$id" \
    "$work/client.ext" "$work"
  echo "made $crt (client id $id)"
done

# Shell functions shared by deploy/make-certs.sh (the herd's node
# certificates) and deploy/make-client-certs.sh (the TLS gateway's client
# certificates): one way to make a key, a CA and a signed certificate.
# Sourced, not run. Keys are written with mode 0600.

cert_days=3650

# Parses the scripts' common arguments, [--force] OUT_DIR ITEM..., into
# force (1 or empty), out_dir and the array items; $1 names the items in
# the usage line. Exits 2 on bad arguments, 1 without openssl.
parse_cert_args() {
  local what=$1
  shift
  force=
  if [[ ${1:-} == --force ]]; then
    force=1
    shift
  fi
  (($# >= 2)) || { echo "usage: $0 [--force] OUT_DIR $what..." >&2; exit 2; }
  out_dir=$1
  shift
  items=("$@")
  command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }
}

# Writes key $1 (EC P-256, mode 0600).
new_key() {
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
  chmod 600 "$1"
}

# Makes CA $1 (certificate) / $2 (key) with subject $3 unless both exist and
# $4 (force) is empty. Prints a line and returns 0 if it made a new one,
# returns 1 if it kept the old one.
ensure_ca() {
  local crt=$1 key=$2 subject=$3 force=$4
  if [[ -z $force && -f $crt && -f $key ]]; then
    return 1
  fi
  new_key "$key"
  openssl req -x509 -new -key "$key" -sha256 -days "$cert_days" \
    -subj "$subject" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$crt"
  chmod 644 "$crt"
  echo "made CA $crt"
}

# Makes key $4 and certificate $3, subject $5, signed by CA $1/$2, with the
# extensions of file $6. $7: a scratch directory.
sign_cert() {
  local ca_crt=$1 ca_key=$2 crt=$3 key=$4 subject=$5 ext=$6 work=$7
  new_key "$key"
  openssl req -new -key "$key" -subj "$subject" -out "$work/request.csr"
  openssl x509 -req -in "$work/request.csr" -CA "$ca_crt" -CAkey "$ca_key" \
    -CAcreateserial -CAserial "$work/ca.srl" -sha256 -days "$cert_days" \
    -extfile "$ext" -out "$crt" 2>/dev/null
  chmod 644 "$crt"
}

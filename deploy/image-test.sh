#!/usr/bin/env bash
# Builds the image from deploy/Dockerfile for real and runs a herd of three
# servers from it: an IAMAT at each server must reach the other two.
#
#   deploy/image-test.sh [--keep]
#
# No registry is needed: the base images the Dockerfile names
# (debian:bookworm, debian:bookworm-slim) are made here with debootstrap
# from Debian's mirror and imported with podman, and buildah builds with
# --pull=never and chroot isolation (no daemon, no user namespaces needed).
# The host's CA bundle goes in as the build secret "ca", for npm behind a
# TLS-inspecting proxy. The servers run from the image (buildah run) on the
# host's network, on 127.0.0.1 ports 22001-22003 (gateways), 23001-23003
# (peers, mutual TLS), 24001-24003 (operator): they must be free.
#
# Needs root and Debian's buildah, podman and debootstrap (installed if
# missing). 5-20 minutes on 2 cores, most of it the build stage installing
# packages and compiling herdnode: a script, not CI (README,
# "Kubernetes"). Builds from a
# clean clone of HEAD, so only committed files go into the image. --keep
# leaves the work directory (printed) and the images.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
keep=0
[[ ${1:-} == --keep ]] && keep=1
[[ $# -le $keep ]] || { echo "usage: deploy/image-test.sh [--keep]" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "image-test.sh: run as root (buildah, podman, debootstrap)" >&2; exit 2; }

missing=()
for tool in buildah podman debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

work=$(mktemp -d /tmp/herd-image-test.XXXXXX)
containers=()
servers=()  # process groups of the running servers
cleanup() {
  for group in "${servers[@]}"; do
    kill -TERM -- "-$group" 2>/dev/null || true
  done
  for group in "${servers[@]}"; do
    for _ in $(seq 50); do kill -0 -- "-$group" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$group" 2>/dev/null || true
  done
  for container in "${containers[@]}"; do
    buildah rm "$container" >/dev/null 2>&1 || true
  done
  if ((keep)); then
    echo "image-test.sh: kept $work and the image herd:test"
  else
    rm -rf "$work"
    podman rmi herd:test >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
say() { echo "[$(date +%H:%M:%S)] image-test.sh: $*"; }

say "base images (debootstrap bookworm minbase)"
if ! podman image exists docker.io/library/debian:bookworm; then
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log"
  tar -C "$work/rootfs" -c . | podman import - docker.io/library/debian:bookworm >/dev/null
  rm -rf "$work/rootfs"
fi
# The runtime stage's base: the same minimal system serves.
podman image exists docker.io/library/debian:bookworm-slim ||
  podman tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim

say "building herd:test from a clean clone of HEAD"
git clone -q "$repo" "$work/src"
secret=()
ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
[[ -s $ca ]] && secret=(--secret "id=ca,src=$ca")
(cd "$work/src" && buildah bud --isolation chroot --pull=never "${secret[@]}" \
  -f deploy/Dockerfile -t herd:test . >"$work/build.log" 2>&1) ||
  { tail -30 "$work/build.log"; say "the build failed (log: $work/build.log)"; keep=1; exit 1; }

say "a herd of three from the image"
conf=$work/conf
mkdir -p "$conf"
cat >"$work/template.textproto" <<'EOF'
servers {
  name: "herd-{i}"
  gateway_address: "127.0.0.1:{port:22001}"
  grpc_address: "127.0.0.1:{port:23001}"
  operator_address: "127.0.0.1:{port:24001}"
}
log_directory: "/var/log/herd"
places { embedded { index_path: "/usr/share/herd/cities.idx" } }
tls {
  ca_cert_path: "/etc/herd/certs/ca.crt"
  cert_path: "/etc/herd/certs/{name}.crt"
  key_path: "/etc/herd/certs/{name}.key"
}
durability { data_directory: "/var/lib/herd" }
EOF
/usr/bin/python3 deploy/make-herd.py --servers 3 --template "$work/template.textproto" \
  --out "$conf/herd.textproto"
deploy/make-certs.sh "$work/certs" herd-0 herd-1 herd-2 >/dev/null
# The image runs as user 10001: test keys it may read.
chmod 0755 "$work/certs" && chmod 0644 "$work/certs"/*
# A working container per server, run with buildah's chroot isolation: the
# image's files, user and entry point, the host's network. (podman run needs
# an OCI runtime allowed to set the container's rlimits, which some
# sandboxes refuse.)
for i in 0 1 2; do
  containers+=("$(buildah from --pull=never --name "herd-image-test-$i" herd:test)")
  setsid buildah run --isolation chroot --network host \
    --env HERD_NAME="herd-$i" --env HERD_LISTEN_HOST= \
    -v "$conf:/etc/herd/config:ro" -v "$work/certs:/etc/herd/certs:ro" \
    "herd-image-test-$i" -- /usr/local/bin/herd-entrypoint \
    >"$work/herd-$i.out" 2>&1 &
  servers+=("$!")
done

# A text exchange with a gateway: one request line, the reply's first line.
exchange() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 0  # not listening (yet): no reply
  printf '%s\n' "$2" >&3
  local reply
  IFS= read -r -t 5 reply <&3 || reply=""
  exec 3<&- 3>&-
  printf '%s' "$reply"
}

wait_until() {  # SECONDS COMMAND...: true once COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

gateway_up() { exchange "$1" "WHATSAT nobody 10 1" 2>/dev/null | grep -q '^? '; }
for i in 0 1 2; do
  wait_until 60 gateway_up $((22001 + i)) ||
    { tail -20 "$work/herd-$i.out"; say "herd-$i never served"; exit 1; }
done

# WHATSAT answers "AT ..." once the server holds the client.
holds() { exchange "$1" "WHATSAT $2 10 1" 2>/dev/null | grep -q '^AT '; }
failed=0
for from in 0 1 2; do
  client="image-test-$from-$RANDOM"
  reply=$(exchange $((22001 + from)) \
    "IAMAT $client +34.068930-118.445127 $(date +%s.%N)")
  [[ $reply == AT\ herd-$from\ * ]] ||
    { say "herd-$from answered '$reply' to an IAMAT"; failed=1; continue; }
  for to in 0 1 2; do
    [[ $to == "$from" ]] && continue
    if wait_until 30 holds $((22001 + to)) "$client"; then
      say "herd-$from -> herd-$to: flooded"
    else
      say "herd-$from -> herd-$to: NOT flooded"
      failed=1
    fi
  done
done
if ((failed)); then
  for i in 0 1 2; do tail -10 "$work/herd-$i.out"; done
  exit 1
fi
say "passed: the image builds, and a herd of three from it floods"

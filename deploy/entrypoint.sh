#!/bin/sh
# The container's entry point: works out which herd server this pod is and
# execs herdnode as that server (so herdnode is PID 1 and gets SIGTERM).
#
# Which server: HERD_NAME if set (the StatefulSet sets it to the pod's name:
# pod herd-2 is server herd-2 of a herd file made by deploy/make-herd.py);
# else pod NAME-N of a StatefulSet runs server number N (from 0) of
# HERD_NAMES, e.g. herd-2 with HERD_NAMES="Alford Bolden Hamilton Parker
# Powell" is Hamilton.
#
# Where to listen: a herd file has one address per role, which the server
# listens on and its peers dial. On Kubernetes those are pod DNS names
# (herd-2.herd:13000), which peers can dial but a pod should not bind (the
# name is published by the headless Service and may not resolve yet, and
# never to loopback). So herdnode gets --listen_host HERD_LISTEN_HOST: it
# listens there at the ports of its own addresses, and reads the herd file
# itself (the ConfigMap's, which it reloads when it changes). This script
# checks first that the file has addresses on the pod's own host,
# HOSTNAME.HERD_SERVICE.
#
# Environment:
#   HERD_NAME         this server's name (the StatefulSet: the pod's name)
#   HERD_NAMES        server names in pod order (used without HERD_NAME)
#   HOSTNAME          the pod name, NAME-ORDINAL (Kubernetes sets it)
#   HERD_CONFIG       the herd file (default /etc/herd/config/herd.textproto)
#   HERD_SERVICE      the headless Service of the pod DNS names (default herd)
#   HERD_LISTEN_HOST  where the pod listens (default 0.0.0.0); set it empty
#                     to listen on the herd file's addresses as they are
#   HERDNODE          the herdnode binary (default: herdnode on PATH)
# Arguments are passed on to herdnode (e.g. --watch_herd_file=5).
# Exit status 2 (like herdnode's) for a setup this script cannot use.
set -eu
set -f  # HERD_NAMES is split into words; never glob them

fail() {
  echo "herd-entrypoint: $*" >&2
  exit 2
}

# Prints the name at index $1 of HERD_NAMES; fails when out of range.
# Compares index strings instead of doing arithmetic on the ordinal, so a
# huge or odd number cannot overflow or be read as octal.
name_at() {
  index=0
  for candidate in $HERD_NAMES; do
    if [ "$index" = "$1" ]; then
      echo "$candidate"
      return 0
    fi
    index=$((index + 1))
  done
  fail "pod ordinal $1 is out of range: HERD_NAMES has $index names" \
    "($HERD_NAMES), ordinals 0..$((index - 1))"
}

# Fails if HERD_NAMES is empty or names a server twice (two pods would then
# run the same server).
check_names() {
  seen=" "
  for candidate in $HERD_NAMES; do
    case $seen in
      *" $candidate "*) fail "HERD_NAMES names '$candidate' twice" ;;
    esac
    seen="$seen$candidate "
  done
  [ "$seen" != " " ] || fail "HERD_NAMES is empty: no server names"
}

# The ordinal of pod name $1 (NAME-ORDINAL, as a StatefulSet names pods).
pod_ordinal() {
  case $1 in
    *-*) ordinal=${1##*-} ;;
    *) fail "pod name '$1' is not NAME-ORDINAL (a StatefulSet pod name);" \
      "set HERD_NAME to choose the server" ;;
  esac
  case $ordinal in
    '' | *[!0-9]*)
      fail "pod name '$1' does not end in -ORDINAL (digits);" \
        "set HERD_NAME to choose the server" ;;
    0?*) fail "pod name '$1' has an ordinal with a leading zero" ;;
  esac
  echo "$ordinal"
}

choose_name() {
  if [ -n "${HERD_NAME:-}" ]; then
    case $HERD_NAME in
      *[[:space:]]*) fail "HERD_NAME '$HERD_NAME' contains white space" ;;
    esac
    echo "$HERD_NAME"
    return 0
  fi
  [ -n "${HERD_NAMES+set}" ] ||
    fail "neither HERD_NAME nor HERD_NAMES is set: cannot tell which server" \
      "this is"
  check_names
  [ -n "${HOSTNAME:-}" ] ||
    fail "HOSTNAME is not set: cannot tell the pod's ordinal (set HERD_NAME)"
  # Assigned first: a failing $(...) inside an argument would not stop us.
  ordinal=$(pod_ordinal "$HOSTNAME")
  name_at "$ordinal"
}

# Fails unless the herd file $1 has an address on the pod's own host (the
# addresses herdnode will listen at on $HERD_LISTEN_HOST instead).
check_own_host() {
  own_host="$HOSTNAME.$HERD_SERVICE"
  case $own_host in
    *[!a-z0-9.-]*) fail "pod DNS name '$own_host' is not a DNS name" ;;
  esac
  case $HERD_LISTEN_HOST in
    *[!]A-Za-z0-9.:_[-]*)
      fail "HERD_LISTEN_HOST '$HERD_LISTEN_HOST' is not a host or address" ;;
  esac
  # Only whole hosts: the opening quote of the address and the colon of
  # its port around the name.
  pattern="\"$(echo "$own_host" | sed 's/\./\\./g'):"
  grep -q "$pattern" "$1" ||
    fail "herd file '$1' has no address on this pod's host '$own_host'" \
      "(HOSTNAME.HERD_SERVICE); which addresses should it listen on?"
}

HERD_CONFIG=${HERD_CONFIG:-/etc/herd/config/herd.textproto}
HERD_SERVICE=${HERD_SERVICE:-herd}
HERD_LISTEN_HOST=${HERD_LISTEN_HOST-0.0.0.0}
HERDNODE=${HERDNODE:-herdnode}

name=$(choose_name)
[ -r "$HERD_CONFIG" ] || fail "cannot read the herd file '$HERD_CONFIG'"
if [ -n "$HERD_LISTEN_HOST" ]; then
  [ -n "${HOSTNAME:-}" ] ||
    fail "HOSTNAME is not set: cannot tell the pod's own addresses" \
      "(set HERD_LISTEN_HOST empty to use the herd file's addresses)"
  check_own_host "$HERD_CONFIG"
  echo "herd-entrypoint: ${HOSTNAME} is $name; listening on" \
    "$HERD_LISTEN_HOST for $HOSTNAME.$HERD_SERVICE" >&2
  exec "$HERDNODE" --config "$HERD_CONFIG" --name "$name" \
    --listen_host "$HERD_LISTEN_HOST" "$@"
fi
echo "herd-entrypoint: ${HOSTNAME:-this container} is $name" >&2
exec "$HERDNODE" --config "$HERD_CONFIG" --name "$name" "$@"

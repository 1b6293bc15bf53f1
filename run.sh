#!/usr/bin/env bash
# Installs what is missing, builds herdnode (Release, in build/) and runs
# every server of a herd file in the foreground, logging to ./logs.
# Ctrl-C (or SIGTERM) stops them all cleanly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() {
  cat <<USAGE
usage: ./run.sh [--config FILE] [--log-dir DIR]
  --config FILE   herd file to run (default deploy/herd.textproto)
  --log-dir DIR   where each server writes NAME.log, NAME.out, NAME.err
                  (default logs)
USAGE
}

config=deploy/herd.textproto
log_dir=logs
while (($#)); do
  case $1 in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --config=*) config=${1#*=}; shift ;;
    --log-dir) log_dir=${2:?--log-dir needs a directory}; shift 2 ;;
    --log-dir=*) log_dir=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -f $config ]] || { echo "run.sh: no herd file '$config'" >&2; exit 2; }

source scripts/deps.sh
# Only what building and running the servers needs (./test.sh adds the rest).
herd_install_deps --build-only
herd_build_server
herdnode=$HERD_BUILD_DIR/bin/herdnode
[[ -f $herdnode && -x $herdnode ]] || { echo "run.sh: the build made no $herdnode" >&2; exit 1; }

# Server names: every `name:` in the herd file (only servers have one).
mapfile -t names < <(sed -e 's/#.*//' "$config" |
  grep -oE '(^|[^_[:alnum:]])name[[:space:]]*:[[:space:]]*"[^"]*"' |
  sed -E 's/.*"([^"]*)"/\1/')
((${#names[@]})) || { echo "run.sh: no servers in '$config'" >&2; exit 2; }

# Development certificates for the nodes' mutual TLS: a herd file whose tls
# section says "certs/..." (relative to the herd file, like the shipped
# one) gets a CA and one certificate per server there, made once and kept.
if grep -Eq '^[^#]*tls[[:space:]]*\{[^#]*"certs/' "$config"; then
  deploy/make-certs.sh "$(dirname "$config")/certs" "${names[@]}"
fi

mkdir -p "$log_dir"
declare -A pids=()

# SIGTERM to every server still running, wait up to 10 s, SIGKILL the rest,
# and say how each ended. Returns non-zero unless every one exited with 0.
stop_all() {
  local name status=0 deadline=$((SECONDS + 10))
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
  for name in "${names[@]}"; do
    [[ -n ${pids[$name]:-} ]] || continue
    while kill -0 "${pids[$name]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "${pids[$name]}" 2>/dev/null; then
      kill -KILL "${pids[$name]}" 2>/dev/null || true
      echo "  $name did not stop within 10 s: killed"
    fi
    local code=0
    wait "${pids[$name]}" 2>/dev/null || code=$?
    echo "  $name stopped (exit $code)"
    ((code == 0)) || status=1
    unset "pids[$name]"
  done
  return "$status"
}

die_at_start() {
  echo "run.sh: $1 did not start; tail of $log_dir/$1.err:" >&2
  tail -n 20 "$log_dir/$1.err" >&2 || true
  echo "Stopping the others:" >&2
  stop_all >&2 || true
  exit 1
}

for name in "${names[@]}"; do
  "$herdnode" --config "$config" --name "$name" --log_dir "$log_dir" \
    >"$log_dir/$name.out" 2>"$log_dir/$name.err" </dev/null &
  pids[$name]=$!
done
trap 'echo; echo "Stopping the herd:"; stop_all; exit $?' INT TERM

# Each server prints "herdnode NAME: gateway HOST:PORT, grpc HOST:PORT" once
# it is listening; wait (at most 30 s) for all of them.
declare -A ready=()
for _ in $(seq 300); do
  for name in "${names[@]}"; do
    [[ -n ${ready[$name]:-} ]] && continue
    if line=$(grep -m1 "^herdnode $name: " "$log_dir/$name.out" 2>/dev/null); then
      ready[$name]=$line
    elif ! kill -0 "${pids[$name]}" 2>/dev/null; then
      die_at_start "$name"
    fi
  done
  ((${#ready[@]} == ${#names[@]})) && break
  sleep 0.1
done
for name in "${names[@]}"; do
  [[ -n ${ready[$name]:-} ]] || die_at_start "$name"
done

echo
echo "herd is running ($config), logs in $log_dir/:"
for name in "${names[@]}"; do echo "  ${ready[$name]#herdnode }"; done
first=${names[0]}
for name in "${names[@]}"; do [[ $name == Hamilton ]] && first=Hamilton; done
gateway=$(sed -E 's/.*gateway ([^,]*),.*/\1/' <<<"${ready[$first]}")
grpc=$(sed -E 's/.*grpc ([^,]*).*/\1/' <<<"${ready[$first]}")
operator=$grpc
if [[ ${ready[$first]} == *", operator "* ]]; then
  operator=$(sed -E 's/.*operator ([^,]*).*/\1/' <<<"${ready[$first]}")
fi
cat <<HINT

Talk to $first:
  echo "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 \$(date +%s.%N)" | nc -N ${gateway%:*} ${gateway##*:}
or interactively (one request per line, Ctrl-D to leave):
  nc ${gateway%:*} ${gateway##*:}
  WHATSAT kiwi.cs.ucla.edu 10 5
gRPC (grpcurl, if installed), operator listener: grpcurl -plaintext $operator list
(the peer listener $grpc takes only clients with a herd certificate)
Ctrl-C stops every server.
HINT

# Wait for Ctrl-C; report any server that ends on its own meanwhile.
while ((${#pids[@]})); do
  finished=
  code=0
  wait -n -p finished "${pids[@]}" || code=$?
  [[ -n $finished ]] || continue
  for name in "${!pids[@]}"; do
    if [[ ${pids[$name]} == "$finished" ]]; then
      echo "run.sh: $name exited on its own (exit $code); tail of $log_dir/$name.err:" >&2
      tail -n 20 "$log_dir/$name.err" >&2 || true
      unset "pids[$name]"
    fi
  done
done
echo "run.sh: every server has exited" >&2
exit 1

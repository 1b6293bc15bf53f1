#!/usr/bin/env bash
# Benchmarks our herd against the Twisted, asyncio and Node.js baseline herds
# and Redis, on loopback ports, and prints a markdown table of ratios.
#   bench/run.sh [--quick] [--build_dir DIR] [--herd_bench PATH]
#                [--herdnode PATH] [more options of run_bench.py]
# --herd_bench and --herdnode override the binaries found under the build
# directory (e.g. a herdnode snapshot with a herd-bench built elsewhere).
# Full mode takes under 12 minutes on 2 cores; --quick under 3.
set -euo pipefail
bench_dir="$(cd "$(dirname "$0")" && pwd)"
build_dir="${bench_dir}/../build"
herd_bench=""
herdnode=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build_dir) build_dir="$2"; shift 2 ;;
    --build_dir=*) build_dir="${1#*=}"; shift ;;
    --herd_bench) herd_bench="$2"; shift 2 ;;
    --herd_bench=*) herd_bench="${1#*=}"; shift ;;
    --herdnode) herdnode="$2"; shift 2 ;;
    --herdnode=*) herdnode="${1#*=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
# The herds run in their own working directories: every path they get must
# be absolute (a relative --build_dir used to make herdnode "not found").
absolute() { realpath -m -- "$1"; }
build_dir="$(absolute "${build_dir}")"
# The build's own outputs only: a search of the whole build tree could find
# the deployment tests' stand-in herdnode scripts first.
[[ -n "${herd_bench}" ]] || herd_bench="${build_dir}/bench/herd-bench"
[[ -n "${herdnode}" ]] || herdnode="${build_dir}/bin/herdnode"
herd_bench="$(absolute "${herd_bench}")"
herdnode="$(absolute "${herdnode}")"
[[ -x "${herd_bench}" ]] || herd_bench=""
[[ -x "${herdnode}" ]] || herdnode=""
if [[ -z "${herd_bench}" ]]; then
  echo "run.sh: no herd-bench under ${build_dir}; build it first" \
       "(cmake --build ${build_dir} --target herd-bench herdnode message-floor) or pass" \
       "--build_dir or --herd_bench" >&2
  exit 2
fi
node_args=()
[[ -n "${herdnode}" ]] && node_args=(--herdnode "${herdnode}")
exec /usr/bin/python3 "${bench_dir}/run_bench.py" --herd_bench "${herd_bench}" \
  "${node_args[@]}" "${args[@]}"

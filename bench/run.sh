#!/usr/bin/env bash
# Benchmarks our herd against the Twisted, asyncio and Node.js baseline herds
# and Redis, on loopback ports, and prints a markdown table of ratios.
#   bench/run.sh [--quick] [--build_dir DIR] [more options of run_bench.py]
# Full mode takes under 10 minutes on 2 cores; --quick under 2.
set -euo pipefail
bench_dir="$(cd "$(dirname "$0")" && pwd)"
build_dir="${bench_dir}/../build"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build_dir) build_dir="$2"; shift 2 ;;
    --build_dir=*) build_dir="${1#*=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
# The build's own outputs only: a search of the whole build tree could find
# the deployment tests' stand-in herdnode scripts first.
herd_bench="${build_dir}/bench/herd-bench"
herdnode="${build_dir}/bin/herdnode"
[[ -x "${herd_bench}" ]] || herd_bench=""
[[ -x "${herdnode}" ]] || herdnode=""
if [[ -z "${herd_bench}" ]]; then
  echo "run.sh: no herd-bench under ${build_dir}; build it first" \
       "(cmake --build ${build_dir} --target herd-bench herdnode) or pass --build_dir" >&2
  exit 2
fi
node_args=()
[[ -n "${herdnode}" ]] && node_args=(--herdnode "${herdnode}")
exec /usr/bin/python3 "${bench_dir}/run_bench.py" --herd_bench "${herd_bench}" \
  "${node_args[@]}" "${args[@]}"

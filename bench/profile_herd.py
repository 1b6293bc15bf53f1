#!/usr/bin/env python3
"""Profiles our herd under load with `perf`: where Hamilton (the node that
takes the IAMATs) and Parker (which floods them on) spend their CPU.

  bench/profile_herd.py --herd_bench B --herdnode N [--seconds 10]

Starts the reference herd on free loopback ports, runs herd-bench's peak
load (closed loop, IAMAT only, all to Hamilton) while `perf record` samples
each profiled server, and prints the top shared objects and symbols of each.
Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid <= 2.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import herds


def perf_report(data, sort, limit):
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--no-children",
         "--sort", sort, "--percent-limit", "1"],
        capture_output=True, text=True, check=False)
    lines = [" ".join(line.split()).removesuffix(" - -")
             for line in report.stdout.splitlines()
             if line.strip() and not line.startswith("#")]
    return lines[:limit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--herd_bench", required=True, type=Path)
    parser.add_argument("--herdnode", required=True, type=Path)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="Hamilton,Parker")
    parser.add_argument("--out", type=Path, help="keep perf data here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="herd-profile-"))
    herd = herds.Herd("herd", out / "herd", herdnode=args.herdnode)
    with herd:
        names = args.servers.split(",")
        recorders = {
            name: subprocess.Popen(
                ["perf", "record", "-F", "499", "-o", str(out / f"{name}.perf"),
                 "-p", str(herd.processes[name].pid), "--", "sleep",
                 str(args.seconds)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name in names}
        load = subprocess.run(
            [str(args.herd_bench), f"--targets={herd.endpoint('Hamilton')}",
             f"--connections={args.connections}", f"--duration={args.seconds}s",
             "--mix=1:0", "--clients=200000"],
            capture_output=True, text=True, timeout=args.seconds + 60, check=False)
        print(load.stdout + load.stderr)
        for recorder in recorders.values():
            recorder.wait(timeout=args.seconds + 60)
    for name in names:
        data = out / f"{name}.perf"
        print(f"== {name}: CPU by shared object")
        print("\n".join(perf_report(data, "dso", 12)))
        print(f"== {name}: CPU by symbol")
        print("\n".join(perf_report(data, "dso,symbol", 30)))
    print(f"perf data in {out}")
    return load.returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How the herd's cost grows with its size (docs/SCALING.md).

  bench/scaling.py --herd_bench PATH --herdnode PATH [--sizes 5,15,30]
                   [--rate 200] [--seconds 8] [--clients 100000] [--out DIR]

For each size N, a herd of ours with deploy/make-herd.py's topology (names
herd-0 to herd-N-1, mutual TLS, no durability, on free loopback ports):
  load     a fixed rate of IAMATs into herd-0: CPU time and context
           switches of every server per update (/proc), and link messages
           per update (GetStatus); then the same load again while a probe
           measures propagation from herd-0 to the server farthest from it
           (by gRPC GetLocation);
  memory   `clients` distinct clients into herd-0, pipelined, until every
           server holds them all: resident memory per server (VmRSS) before
           and after;
  join     a new server linked to herd-0 joins the herd holding those
           clients (herd file rewritten, herd-0 reloaded): how long until it
           holds them all (catch-up by Sync pages).
Prints a markdown table; the JSON goes to --out (default: a temporary
directory). Nothing is asserted: this measures.
"""

import argparse
import collections
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import herds
from run_bench import PhaseCost, herd_bench, log, machine_description

MAKE_HERD = herds.REPO_ROOT / "deploy" / "make-herd.py"
CONNECTIONS = 8
MEMORY_PIPELINE = 64
PROPAGATION_INTERVAL = "10ms"
CATCH_UP_TIMEOUT_S = 600


def _load_make_herd():
    """deploy/make-herd.py as a module: the topology's one definition."""
    spec = importlib.util.spec_from_file_location("make_herd", MAKE_HERD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_herd = _load_make_herd()


def topology(n):
    """(names, links) of make-herd.py's herd of n servers."""
    names = tuple(f"herd-{i}" for i in range(n))
    links = tuple((names[a], names[b]) for a, b in make_herd.links(n))
    return names, links


def hops_from(origin, names, links):
    """{server: links an update from origin crosses to reach it}."""
    neighbours = collections.defaultdict(set)
    for a, b in links:
        neighbours[a].add(b)
        neighbours[b].add(a)
    hops = {origin: 0}
    frontier = [origin]
    while frontier:
        following = []
        for name in frontier:
            for peer in sorted(neighbours[name]):
                if peer not in hops:
                    hops[peer] = hops[name] + 1
                    following.append(peer)
        frontier = following
    missing = set(names) - set(hops)
    if missing:
        raise RuntimeError(f"not connected: {sorted(missing)}")
    return hops


def diameter(names, links):
    return max(max(hops_from(name, names, links).values()) for name in names)


def wait_for_clients(herd, names, count, timeout_s):
    """Seconds until every named server holds at least count clients."""
    started = time.monotonic()
    waiting = list(names)
    while waiting and time.monotonic() - started < timeout_s:
        waiting = [n for n in waiting if herd.status(n).clients < count]
        if waiting:
            time.sleep(0.05)
    if waiting:
        raise RuntimeError(f"{waiting} did not reach {count} clients in "
                           f"{timeout_s} s")
    return time.monotonic() - started


def measure_size(n, args, workdir):
    names, links = topology(n)
    origin = names[0]
    hops = hops_from(origin, names, links)
    farthest = max(names, key=lambda name: (hops[name], name))
    result = {"servers": n, "links": len(links), "diameter": diameter(names, links),
              "farthest": farthest, "farthest_hops": hops[farthest]}
    log(f"N={n}: {len(links)} links, diameter {result['diameter']}; "
        f"{origin} to {farthest} is {hops[farthest]} hops")
    herd = herds.Herd("herd", workdir / f"n{n}", servers=names, links=links,
                      herdnode=args.herdnode)
    with herd:
        not_reached = herd.wait_flooding(origin, args.herd_bench, timeout_s=60)
        if not_reached:
            raise RuntimeError(f"a warm-up update never reached {not_reached}")
        herd.wait_quiescent()
        status = herd.status_targets()
        fixed_load = [f"--targets={herd.endpoint(origin)}",
                      f"--connections={CONNECTIONS}", f"--rate={args.rate}",
                      f"--duration={args.seconds}s", "--mix=1:0",
                      "--clients=200000", "--timeout=10s"]
        # What the servers spend doing nothing (keepalive pings, timers, the
        # log's flushes): at a low rate it is a large part of each update.
        idle_before = herds.sample_usage(herd.pids())
        time.sleep(args.seconds)
        idle = herds.usage_per_update(idle_before,
                                      herds.sample_usage(herd.pids()), 0)
        result["idle_cpu_us_per_s"] = idle["total"]["cpu_us"] / args.seconds
        # CPU and messages without the probe: its GetLocation polls (one
        # every 200 us while it waits) would be counted as the herd's.
        cost = PhaseCost(herd).start()
        load = herd_bench(args.herd_bench, fixed_load + [
            f"--status_targets={','.join(status)}"],
            workdir / f"n{n}-load.json", args.seconds + 120)
        updates = load["load"]["iamat_ok"]
        result["load"] = {"rate": args.rate, "updates": updates,
                          "messages_per_update": load.get("messages_per_update"),
                          "cost": cost.finish(updates)}
        total = result["load"]["cost"]["total"]
        busy_s = args.seconds + result["load"]["cost"]["drain_s"]
        total["cpu_us_per_update_less_idle"] = (
            (total["cpu_us"] - result["idle_cpu_us_per_s"] * busy_s) / updates
            if updates else None)
        log(f"  {total['cpu_us_per_update']:.0f} CPU us per update herd-wide "
            f"({total['cpu_us_per_update_less_idle']:.0f} less what idle "
            f"servers spend), {result['load']['messages_per_update']} messages "
            "per update")
        # Then the same load with the probe, for propagation alone.
        probed = herd_bench(args.herd_bench, fixed_load + [
            f"--propagation_from={herd.endpoint(origin)}",
            herd.visibility_flag(farthest, use_whatsat=False),
            f"--propagation_interval={PROPAGATION_INTERVAL}"],
            workdir / f"n{n}-propagation.json", args.seconds + 120)
        result["propagation"] = {
            "latency_us": probed["propagation"]["latency_us"],
            "never_visible": probed["propagation"]["never_visible"]}
        herd.wait_quiescent()

        if args.clients > 0:
            before = {name: herd.rss_kib(name) for name in names}
            log(f"  memory: {args.clients} clients into {origin}")
            flood_started = time.monotonic()
            herd_bench(args.herd_bench, [
                f"--targets={herd.endpoint(origin)}", f"--connections={CONNECTIONS}",
                f"--pipeline={MEMORY_PIPELINE}", "--mix=1:0",
                f"--clients={args.clients}", f"--requests={args.clients}",
                "--duration=600s", "--timeout=30s"],
                workdir / f"n{n}-memory.json", 700)
            held = herd.status(origin).clients
            wait_for_clients(herd, names, held, CATCH_UP_TIMEOUT_S)
            # From the first IAMAT to every server holding every client.
            flood_s = time.monotonic() - flood_started
            herd.wait_quiescent()
            after = {name: herd.rss_kib(name) for name in names}
            grown = [(after[name] - before[name]) * 1024 for name in names]
            result["memory"] = {
                "clients": held, "flood_s": flood_s,
                "rss_after_mib_mean": sum(after.values()) / len(after) / 1024,
                "rss_after_mib_max": max(after.values()) / 1024,
                "bytes_per_client_mean": sum(grown) / len(grown) / max(held, 1)}
            log(f"  every server holds {held} clients: "
                f"{result['memory']['rss_after_mib_mean']:.0f} MiB RSS each "
                f"(max {result['memory']['rss_after_mib_max']:.0f})")

            newcomer = f"herd-{n}"
            started = time.monotonic()
            herd.join(newcomer, [origin])
            caught_up_s = wait_for_clients(herd, [newcomer], held,
                                           CATCH_UP_TIMEOUT_S)
            result["join"] = {"clients": held,
                              "serving_s": time.monotonic() - started - caught_up_s,
                              "caught_up_s": caught_up_s}
            log(f"  {newcomer} joined and caught up on {held} clients in "
                f"{caught_up_s:.2f} s after it served")
        result["crashed"] = herd.crashed()
    return result


def _num(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def markdown(results):
    lines = [
        f"Machine: {results['machine']}. Load: {results['rate']} IAMAT/s into "
        f"herd-0 for {results['seconds']} s, propagation sampled every "
        f"{PROPAGATION_INTERVAL} to the farthest server; memory and join with "
        f"{results['clients']:,} clients (plus the load's).", "",
        "| servers | links | diameter | propagation to the farthest p50 / p99 (ms) "
        "| messages per update | CPU us per update, herd-wide (less idle) "
        "| per server (less idle) | idle CPU per server (%) "
        "| switches per update | RSS per server at the clients (MiB) "
        "| flood of the clients (s) | a new server catches up (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in results["sizes"]:
        if "failed" in size:
            lines.append(f"| {size['servers']} | failed: {size['failed']} |")
            continue
        load = size["load"]
        propagation = size["propagation"]["latency_us"]
        total = load["cost"]["total"]
        memory = size.get("memory", {})
        join = size.get("join", {})
        cpu = total["cpu_us_per_update"]
        less_idle = total.get("cpu_us_per_update_less_idle")
        per_server = size["servers"]
        lines.append(
            f"| {size['servers']} | {size['links']} | {size['diameter']} "
            f"| {_num(propagation['p50_us'] / 1000, 2)} / "
            f"{_num(propagation['p99_us'] / 1000, 2)} "
            f"({size['farthest_hops']} hops) "
            f"| {_num(load['messages_per_update'], 1)} "
            f"| {_num(cpu)} ({_num(less_idle)}) "
            f"| {_num(cpu / per_server)} ({_num(less_idle / per_server)}) "
            f"| {_num(size['idle_cpu_us_per_s'] / per_server / 1e4, 2)} "
            f"| {_num(total['switches_per_update'], 1)} "
            f"| {_num(memory.get('rss_after_mib_mean'))} "
            f"| {_num(memory.get('flood_s'), 1)} | {_num(join.get('caught_up_s'), 2)} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--herd_bench", required=True, type=Path)
    parser.add_argument("--herdnode", required=True, type=Path)
    parser.add_argument("--sizes", default="5,15,30",
                        help="comma-separated herd sizes (2 to 60)")
    # Every server applies every update, and here they share two cores: 30
    # servers at 1,000/s would need more than the machine has.
    parser.add_argument("--rate", type=int, default=200,
                        help="IAMAT/s of the load phases (1 to 20000)")
    parser.add_argument("--seconds", type=int, default=8,
                        help="length of the load phase (1 to 600)")
    parser.add_argument("--clients", type=int, default=100_000,
                        help="clients of the memory and join phases (0: skip them; "
                             "at most 2,000,000)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    problems = [f"--sizes {size} is not in [2, 60]" for size in sizes
                if not 2 <= size <= 60]
    if not 1 <= args.rate <= 20000:
        problems.append(f"--rate {args.rate} is not in [1, 20000]")
    if not 1 <= args.seconds <= 600:
        problems.append(f"--seconds {args.seconds} is not in [1, 600]")
    if not 0 <= args.clients <= 2_000_000:
        problems.append(f"--clients {args.clients} is not in [0, 2000000]")
    if problems:
        parser.error("; ".join(problems))
    out = args.out or Path(tempfile.gettempdir()) / (
        "herd-scaling-" + time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine_description(), "rate": args.rate,
               "seconds": args.seconds, "clients": args.clients, "sizes": []}
    for n in sizes:
        try:
            results["sizes"].append(measure_size(n, args, out))
        except (RuntimeError, OSError) as error:
            log(f"N={n}: FAILED: {error}")
            results["sizes"].append({"servers": n, "failed": str(error)})
    (out / "scaling.json").write_text(json.dumps(results, indent=1))
    text = markdown(results)
    (out / "scaling.md").write_text(text)
    print(text)
    log(f"results in {out}")
    return 1 if any("failed" in size for size in results["sizes"]) else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The benchmark behind bench/run.sh: the same load against our herd, the
three baseline herds and Redis, then a markdown table of ratios.

First the machine's floor: what one bare loopback message hop costs in CPU
(bench/message_floor), at 4,000 hops/s and back to back.

Phases per herd (all on free loopback ports, all started and stopped here):
  peak   closed loop, IAMAT only, every connection to Hamilton: the single
         node's maximum throughput and its reply latency at saturation;
  fixed  exactly 4,000 IAMAT/s into Hamilton, once the herd is idle again;
  mixed  closed loop, IAMAT:WHATSAT 80:20, connections spread over all five;
  half   fixed rate at half of what this herd sustains (peak requests over
         peak time plus the time until every server is idle again, having
         flooded its backlog), IAMAT to Hamilton, while a probe measures
         propagation Hamilton -> Bolden (two hops).
For peak, fixed and half: CPU time (/proc/PID/stat) and context switches
(/proc/PID/task/*/status) of every server process from just before the phase
to when the herd is idle after it, per accepted update; for ours also
updates per batch on each link (GetStatus). Peak RSS (VmHWM) of each server
process is read before it is stopped.
Then Redis: one server (GEOADD, GEOSEARCH), and a chain of five replicas
along a spanning tree of the herd's links (GEOADD into the root, 32 clients
and 1; CPU and context switches per update like the herds'). Then WHATSAT
latency on one idle node of ours for a few radius/count queries.
Full mode also loads 1,000,000 distinct clients into a one-node herd of ours
and reports resident bytes per client.
"""

import argparse
import csv
import datetime
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import herds
import node_status
import report

PROFILES = {
    "full": {"connections": 32, "peak_s": 15, "fixed_s": 10, "mixed_s": 10,
             "half_s": 15, "redis_geoadd": 200_000, "redis_geosearch": 20_000,
             "chain_geoadd": 200_000, "chain_geoadd_1": 40_000,
             "whatsat_s": 4, "memory_clients": 1_000_000},
    "quick": {"connections": 16, "peak_s": 3, "fixed_s": 4, "mixed_s": 2,
              "half_s": 4, "redis_geoadd": 30_000, "redis_geosearch": 3_000,
              "chain_geoadd": 30_000, "chain_geoadd_1": 8_000,
              "whatsat_s": 2, "memory_clients": 100_000},
}
# redis-benchmark -r: __rand_int__ is below this. It must fit a C int: a
# larger one (1e12 until now) overflowed, and every __rand_int__ became 0, so
# each GEOADD re-set one member to the same place (a no-op Redis does not
# even replicate).
REDIS_KEYSPACE = 1_000_000_000
FIXED_RATE = 4000  # IAMAT/s of the "fixed" phase
CHAIN_CONNECTIONS = 32
# (radius km, most places) of the WHATSAT latency phase.
WHATSAT_QUERIES = ((1, 1), (10, 5), (50, 20))
WHATSAT_CLIENTS = 12
# 1 IAMAT per 100 WHATSATs keeps every client reported (near a city).
WHATSAT_MIX = "1:100"
PROPAGATION_INTERVAL = "10ms"
MEMORY_CONNECTIONS = 8
MEMORY_PIPELINE = 64


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def herd_bench(binary, flags, json_path, timeout_s):
    """Runs herd-bench and returns its JSON results."""
    command = [str(binary)] + flags + [f"--json={json_path}"]
    run = subprocess.run(command, capture_output=True, text=True,
                         timeout=timeout_s, check=False)
    if run.returncode != 0 or not Path(json_path).exists():
        raise RuntimeError(f"{' '.join(command)} exited {run.returncode}:\n"
                           f"{run.stdout}{run.stderr}")
    log("  " + run.stdout.strip().replace("\n", "\n  "))
    return json.loads(Path(json_path).read_text())


class PhaseCost:
    """CPU time and context switches of every server process (and, for
    ours, each link's updates and batches sent) from just before a phase
    until the herd is idle after it."""

    def __init__(self, herd, status=None):
        self.herd = herd
        self.status = status or {}  # name -> gRPC operator address
        self.links_before = None
        self.before = None

    def start(self):
        # GetStatus first: its own cost is not the phase's.
        self.links_before = _read_links(self.status)
        self.before = herds.sample_usage(self.herd.pids())
        return self

    def finish(self, updates):
        drain_s = self.herd.wait_quiescent()
        after = herds.sample_usage(self.herd.pids())
        cost = herds.usage_per_update(self.before, after, updates)
        cost["drain_s"] = drain_s
        if self.status:
            links_after = _read_links(self.status)
            cost["links"] = (node_status.updates_per_batch(self.links_before,
                                                           links_after)
                             if self.links_before and links_after else None)
        return cost


def _read_links(status):
    if not status:
        return None
    try:
        return node_status.read_links(status)
    except Exception as error:  # grpc's errors, a missing grpc_tools, ...
        log(f"  GetStatus failed: {str(error).splitlines()[0]}")
        return None


def _updates(run):
    """IAMATs a phase had accepted: the load's and the probe's."""
    propagation = run.get("propagation") or {}
    return run["load"]["iamat_ok"] + propagation.get("samples", 0)


def _log_cost(cost):
    total = cost["total"]
    log(f"  {cost['updates']} updates: "
        f"{report.format_number(total['cpu_us_per_update'], 1)} CPU us and "
        f"{report.format_number(total['switches_per_update'], 2)} context "
        "switches per update (herd-wide)")


def measure_herd(kind, args, profile, workdir):
    herd = herds.Herd(kind, workdir / kind, herdnode=args.herdnode)
    result = {"kind": kind, "warnings": []}
    with herd:
        whatsat = herd.whatsat_answers()
        if not whatsat:
            result["warnings"].append(
                "WHATSAT answered '? ' for a client the server had just been "
                "told about (no places provider?): the mixed phase counts those "
                "as wrong replies, and propagation was seen through gRPC "
                "GetLocation")
        not_reached = herd.wait_flooding("Hamilton", args.herd_bench)
        if not_reached:
            result["warnings"].append(
                "before the run, a warm-up update from Hamilton never showed at "
                + ", ".join(not_reached))
        for warning in result["warnings"]:
            log(f"  warning: {warning}")
        hamilton = herd.endpoint("Hamilton")
        common = [f"--connections={profile['connections']}", "--timeout=10s"]
        operators = dict(zip(herd.servers, herd.status_targets()))
        herd.wait_quiescent()
        log(f"{kind}: peak (closed loop, IAMAT, Hamilton)")
        cost = PhaseCost(herd, operators).start()
        result["peak"] = herd_bench(
            args.herd_bench, common + [
                f"--targets={hamilton}", f"--duration={profile['peak_s']}s",
                "--mix=1:0", "--clients=200000"],
            workdir / f"{kind}-peak.json", profile["peak_s"] + 60)
        # Hamilton answers before the rest of the herd has caught up: what the
        # herd sustains counts the time to drain the flooding backlog too.
        result["peak_cost"] = cost.finish(_updates(result["peak"]))
        drain_s = result["peak_cost"]["drain_s"]
        result["peak_drain_s"] = drain_s
        _log_cost(result["peak_cost"])
        peak = result["peak"]["load"]
        result["sustained_rps"] = (peak["requests_ok"] / (peak["elapsed_s"] + drain_s)
                                   if drain_s is not None else None)
        log(f"  herd drained its backlog in {_seconds(drain_s)}")
        log(f"{kind}: fixed ({FIXED_RATE} IAMAT/s, Hamilton)")
        cost = PhaseCost(herd, operators).start()
        result["fixed"] = herd_bench(
            args.herd_bench, common + [
                f"--targets={hamilton}", f"--rate={FIXED_RATE}",
                f"--duration={profile['fixed_s']}s", "--mix=1:0",
                "--clients=200000"],
            workdir / f"{kind}-fixed.json", profile["fixed_s"] + 60)
        result["fixed_cost"] = cost.finish(_updates(result["fixed"]))
        _log_cost(result["fixed_cost"])
        log(f"{kind}: mixed (closed loop, 80:20, all five)")
        result["mixed"] = herd_bench(
            args.herd_bench, common + [
                "--targets=" + ",".join(herd.endpoint(n) for n in herds.SERVERS),
                f"--duration={profile['mixed_s']}s", "--mix=80:20",
                "--clients=50000"],
            workdir / f"{kind}-mixed.json", profile["mixed_s"] + 60)
        result["mixed_drain_s"] = herd.wait_quiescent()
        half_rate = max(1.0, (result["sustained_rps"] or peak["throughput_rps"]) / 2)
        log(f"{kind}: half load ({half_rate:.0f} req/s) + propagation")
        status = herd.status_targets()
        cost = PhaseCost(herd, operators).start()
        result["half"] = herd_bench(
            args.herd_bench, common + [
                f"--targets={hamilton}", f"--rate={half_rate:.1f}",
                f"--duration={profile['half_s']}s", "--mix=1:0",
                "--clients=200000", f"--propagation_from={hamilton}",
                herd.visibility_flag("Bolden", use_whatsat=whatsat),
                f"--propagation_interval={PROPAGATION_INTERVAL}"]
            + ([f"--status_targets={','.join(status)}"] if status else []),
            workdir / f"{kind}-half.json", profile["half_s"] + 60)
        result["half_cost"] = cost.finish(_updates(result["half"]))
        _log_cost(result["half_cost"])
        result["peak_rss_kib"] = herd.peak_rss_kib()
        result["crashed"] = herd.crashed()
    return result


def _seconds(value):
    return "(not within the time-out)" if value is None else f"{value:.2f} s"


def redis_benchmark(port, connections, requests, command):
    """Runs redis-benchmark non-pipelined (-P 1) and parses its CSV line."""
    run = subprocess.run(
        ["redis-benchmark", "-h", herds.HOST, "-p", str(port),
         "-c", str(connections), "-n", str(requests), "-P", "1",
         "-r", str(REDIS_KEYSPACE), "--csv"] + command,
        capture_output=True, text=True, timeout=600, check=True)
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    if not rows:
        raise RuntimeError(f"redis-benchmark printed no CSV: {run.stdout}{run.stderr}")
    row = rows[-1]
    return {"throughput_rps": float(row["rps"]),
            "p50_us": float(row["p50_latency_ms"]) * 1000,
            "p99_us": float(row["p99_latency_ms"]) * 1000,
            "requests": requests}


def measure_redis(profile, workdir):
    redis = herds.Redis(workdir / "redis")
    with redis:
        # __rand_int__ becomes 12 digits (zero-padded, below REDIS_KEYSPACE),
        # each occurrence its own: points spread over a 0.001 x 0.001 degree
        # box near Los Angeles, and a new member (client) nearly every time.
        log("redis: GEOADD")
        geoadd = redis_benchmark(redis.port, profile["connections"],
                                 profile["redis_geoadd"],
                                 ["GEOADD", "herd", "-118.__rand_int__",
                                  "34.__rand_int__", "client:__rand_int__"])
        log(f"  {geoadd}")
        log("redis: GEOSEARCH")
        geosearch = redis_benchmark(redis.port, profile["connections"],
                                    profile["redis_geosearch"],
                                    ["GEOSEARCH", "herd", "FROMLONLAT", "-118.5",
                                     "34.5", "BYRADIUS", "10", "km", "COUNT", "5",
                                     "ASC"])
        log(f"  {geosearch}")
        return {"geoadd": geoadd, "geosearch": geosearch,
                "peak_rss_kib": redis.peak_rss_kib()}


def measure_redis_chain(profile, workdir):
    """GEOADD into the root of a replication chain along the herd's links:
    32 clients, then 1; CPU and context switches of all five per update."""
    chain = herds.RedisChain(workdir / "redis-chain")
    result = {"tree": {child: parent for child, parent in chain.parents.items()},
              "root": chain.root, "runs": {}}
    with chain:
        for connections, requests in ((CHAIN_CONNECTIONS, profile["chain_geoadd"]),
                                      (1, profile["chain_geoadd_1"])):
            chain.wait_quiescent()
            log(f"redis chain: GEOADD into {chain.root}, {connections} "
                f"client{'s' if connections != 1 else ''}")
            cost = PhaseCost(chain).start()
            geoadd = redis_benchmark(chain.ports[chain.root], connections, requests,
                                     ["GEOADD", "herd", "-118.__rand_int__",
                                      "34.__rand_int__", "client:__rand_int__"])
            run = {"geoadd": geoadd, "cost": cost.finish(requests)}
            offsets = chain.offsets()
            run["caught_up"] = len(set(offsets.values())) == 1
            run["offsets"] = offsets
            # Members so far on each server: they grow by about `requests`
            # per run only if every GEOADD adds a new client.
            run["members"] = chain.members("herd")
            log(f"  {geoadd['throughput_rps']:.0f} GEOADD/s; replicas caught up: "
                f"{run['caught_up']}; members {run['members']}")
            _log_cost(run["cost"])
            result["runs"][str(connections)] = run
        result["peak_rss_kib"] = chain.peak_rss_kib()
        result["crashed"] = chain.crashed()
    # redis-benchmark 7 has no fixed-rate mode.
    result["fixed_rate"] = None
    return result


def measure_whatsat(args, profile, workdir):
    """WHATSAT latency on one idle node of ours: one connection, one request
    at a time, clients near large cities (and, for comparison, the default
    query for clients anywhere on the globe, mostly ocean)."""
    herd = herds.Herd("herd", workdir / "whatsat", servers=("Hamilton",),
                      links=(), herdnode=args.herdnode)
    result = {"queries": []}
    with herd:
        if not herd.whatsat_answers():
            result["note"] = ("WHATSAT answered '? ' (no places provider): no "
                              "WHATSAT latency")
            return result
        endpoint = herd.endpoint("Hamilton")
        cases = [(radius, count, True) for radius, count in WHATSAT_QUERIES]
        cases.append((10, 5, False))
        for radius, count, near_cities in cases:
            where = "near cities" if near_cities else "anywhere"
            log(f"whatsat: r={radius} n={count}, clients {where}")
            before = _whatsat_usage(herd)
            run = herd_bench(args.herd_bench, [
                f"--targets={endpoint}", "--connections=1",
                f"--duration={profile['whatsat_s']}s", f"--mix={WHATSAT_MIX}",
                f"--clients={WHATSAT_CLIENTS}", f"--whatsat_radius_km={radius}",
                f"--whatsat_count={count}", "--timeout=10s"]
                + (["--near_cities"] if near_cities else []),
                workdir / f"whatsat-r{radius}-n{count}-{where.replace(' ', '_')}.json",
                profile["whatsat_s"] + 60)
            load = run["load"]
            spent = _whatsat_spent(before, _whatsat_usage(herd), load["whatsat_ok"])
            result["queries"].append({
                "radius_km": radius, "count": count, "near_cities": near_cities,
                "whatsat_ok": load["whatsat_ok"],
                "whatsat_rps": load["whatsat_ok"] / load["elapsed_s"]
                if load["elapsed_s"] else None,
                "places_mean": load.get("whatsat_places_mean"),
                "latency_us": load["whatsat_latency_us"],
                "errors": load["errors"]["total"], **spent})
        result["crashed"] = herd.crashed()
    return result


# message-floor's two runs: (round trips, µs between them). 250 µs apart is
# the fixed phase's 4,000 messages a second.
FLOOR_RUNS = {"at_4000_per_s": (4000, 250), "back_to_back": (20000, 0)}


def measure_floor(binary, workdir):
    """CPU of one bare loopback message hop on this machine (see
    bench/message_floor/message_floor.cc), at 4,000/s and back to back."""
    result = {}
    for name, (round_trips, gap_us) in FLOOR_RUNS.items():
        path = workdir / f"floor-{name}.json"
        run = subprocess.run([str(binary), f"--round_trips={round_trips}",
                              f"--gap_us={gap_us}", f"--json={path}"],
                             capture_output=True, text=True, timeout=120, check=False)
        if run.returncode != 0 or not path.exists():
            raise RuntimeError(f"{binary} exited {run.returncode}: {run.stderr}")
        result[name] = json.loads(path.read_text())
        log(f"  floor {name}: {result[name]['hop_cpu_us']:.1f} CPU us per hop")
    return result


# The node's histogram of its places provider's calls (herdnode/ops/metrics.cc).
PLACES_SECONDS = "herd_places_request_duration_seconds"


def _whatsat_usage(herd):
    """The WHATSAT node's CPU ticks and its places provider's calls and
    seconds so far."""
    metrics = herd.metrics("Hamilton")
    return (herds.cpu_ticks(herd.processes["Hamilton"].pid),
            metrics.get(f"{PLACES_SECONDS}_count", 0.0),
            metrics.get(f"{PLACES_SECONDS}_sum", 0.0))


def _whatsat_spent(before, after, whatsats):
    """Per WHATSAT between two _whatsat_usage samples: the node's CPU (the
    1 % of IAMATs that keep the clients reported included) and the places
    lookup's own time, so that the rest (parsing, the gRPC call, the reply's
    JSON, the socket) shows as the herd's overhead."""
    ticks, lookups, lookup_s = (b - a for a, b in zip(before, after))
    return {"cpu_us_per_whatsat": ticks * herds.TICK_US / whatsats if whatsats else None,
            "lookup_us_mean": lookup_s * 1e6 / lookups if lookups else None}


def measure_memory(args, clients, workdir):
    """Resident bytes per tracked client in a one-node herd of ours."""
    herd = herds.Herd("herd", workdir / "memory", servers=("Hamilton",),
                      links=(), herdnode=args.herdnode)
    with herd:
        endpoint = herd.endpoint("Hamilton")
        # Let the node settle (gRPC threads, first connection) first.
        herd_bench(args.herd_bench, [f"--targets={endpoint}", "--requests=200",
                                     "--mix=1:0", "--connections=2"],
                   workdir / "memory-warmup.json", 60)
        before = herd.rss_kib("Hamilton")
        log(f"memory: {clients} distinct clients into one node")
        load = herd_bench(args.herd_bench, [
            f"--targets={endpoint}", f"--connections={MEMORY_CONNECTIONS}",
            f"--pipeline={MEMORY_PIPELINE}", "--mix=1:0", f"--clients={clients}",
            f"--requests={clients}", "--duration=400s", "--timeout=30s",
            f"--status_targets={','.join(herd.status_targets())}"],
            workdir / "memory.json", 460)
        after = herd.rss_kib("Hamilton")
        # What the node says it holds (a connection's IAMATs may wrap
        # around its share of client IDs, so requests may overcount).
        stored = load.get("herd_clients") or load["load"]["iamat_ok"]
        return {"clients": stored, "rss_before_kib": before,
                "rss_after_kib": after,
                "bytes_per_client": (after - before) * 1024 / max(stored, 1),
                "throughput_rps": load["load"]["throughput_rps"],
                "errors": load["load"]["errors"]["total"]}


def machine_description():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    # Other work on the machine skews every number: say how busy it was.
    load_1min = os.getloadavg()[0]
    return (f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM, "
            f"load average {load_1min:.1f} at the start, "
            f"Linux {platform.release()}, Python {platform.python_version()}, "
            f"Node {node_version()}")


def node_version():
    try:
        return subprocess.run(["node", "--version"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "missing"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--herd_bench", required=True, type=Path)
    parser.add_argument("--herdnode", type=Path,
                        help="our herd's binary; without it only baselines run")
    parser.add_argument("--quick", action="store_true",
                        help="short phases (under 2 minutes in all)")
    parser.add_argument("--kinds", default=",".join(herds.KINDS),
                        help="comma-separated herds to measure")
    parser.add_argument("--no_redis", action="store_true",
                        help="no Redis at all (neither one server nor the chain)")
    parser.add_argument("--no_redis_chain", action="store_true")
    parser.add_argument("--no_whatsat", action="store_true",
                        help="skip the WHATSAT latency phase (ours)")
    parser.add_argument("--memory_clients", type=int,
                        help="clients for the memory test (0: skip)")
    parser.add_argument("--message_floor", type=Path,
                        help="message-floor binary (default: beside herd-bench)")
    parser.add_argument("--out", type=Path, help="results directory")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    profile = PROFILES[mode]
    memory_clients = (profile["memory_clients"] if args.memory_clients is None
                      else args.memory_clients)
    out = args.out or Path(tempfile.gettempdir()) / (
        "herd-bench-" + time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in args.kinds.split(",") if k]
    if "herd" in kinds and not (args.herdnode and args.herdnode.exists()):
        log("our herd is skipped: no herdnode binary (--herdnode)")
        kinds.remove("herd")

    started = time.monotonic()
    results = {"mode": mode, "machine": machine_description(),
               "date": datetime.datetime.now().isoformat(timespec="seconds"),
               "profile": profile, "herds": {}}
    floor = args.message_floor or args.herd_bench.parent / "message-floor"
    if floor.exists():
        log("floor: one bare loopback message hop")
        try:
            results["floor"] = measure_floor(floor, out)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            log(f"floor: FAILED: {error}")
    else:
        log(f"floor: skipped, no {floor}")
    for kind in kinds:
        try:
            results["herds"][kind] = measure_herd(kind, args, profile, out)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            log(f"{kind}: FAILED: {error}")
            results["herds"][kind] = {"kind": kind, "failed": str(error)}
    if not args.no_redis and herds.Redis.available():
        try:
            results["redis"] = measure_redis(profile, out)
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            log(f"redis: FAILED: {error}")
    if not (args.no_redis or args.no_redis_chain) and herds.Redis.available():
        try:
            results["redis_chain"] = measure_redis_chain(profile, out)
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            log(f"redis chain: FAILED: {error}")
            results["redis_chain"] = {"failed": str(error)}
    if "herd" in kinds and not args.no_whatsat:
        try:
            results["whatsat"] = measure_whatsat(args, profile, out)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            log(f"whatsat: FAILED: {error}")
            results["whatsat"] = {"failed": str(error)}
    if "herd" in kinds and memory_clients > 0:
        try:
            results["memory"] = measure_memory(args, memory_clients, out)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            log(f"memory: FAILED: {error}")
    results["elapsed_s"] = time.monotonic() - started

    markdown = report.markdown(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(markdown)
    print(markdown)
    log(f"done in {results['elapsed_s']:.0f} s; results in {out}")
    failed = [k for k, r in results["herds"].items() if "failed" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

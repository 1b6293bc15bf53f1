"""Turns bench/run_bench.py's results into the markdown of
docs/PERFORMANCE.md: raw numbers per herd, ratios ours vs each baseline, and
the issue's aims (reported, never asserted)."""

import herds

BASELINES = ("twisted", "asyncio", "node")


def _num(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"


format_number = _num
COST_PHASES = (("fixed", "fixed 4,000/s"), ("peak", "peak"), ("half", "half"))
LEAF = "Alford"


def _ratio(numerator, denominator):
    if not numerator or not denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def _row(*cells):
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _measured(results, kind):
    """The results of a herd that ran to the end, or None."""
    herd = results["herds"].get(kind)
    return herd if herd and "failed" not in herd else None


def _peak_rps(herd):
    return herd["peak"]["load"]["throughput_rps"] if "peak" in herd else None


def _half_p99_us(herd):
    return herd["half"]["load"]["latency_us"]["p99_us"] if "half" in herd else None


def _propagation(herd, key):
    if "half" not in herd or herd["half"]["propagation"]["visible"] == 0:
        return None
    return herd["half"]["propagation"]["latency_us"][key]


def _max_rss_mib(herd):
    peaks = herd.get("peak_rss_kib") or {}
    return max(peaks.values()) / 1024 if peaks else None


def _errors(herd):
    return sum(herd[phase]["problems"] for phase in ("peak", "mixed", "half")
               if phase in herd)


def _herd_rows(results):
    rows = []
    for kind, herd in results["herds"].items():
        label = herds.LABELS[kind]
        if "failed" in herd:
            first_line = herd["failed"].splitlines()[0]
            rows.append(_row(label, f"failed: {first_line}", *[""] * 9))
            continue
        peak = herd["peak"]["load"]
        half = herd["half"]
        messages = half.get("messages_per_update")
        rows.append(_row(
            label, _num(peak["throughput_rps"]), _num(herd.get("sustained_rps")),
            f"{_num(peak['latency_us']['p50_us'])} / {_num(peak['latency_us']['p99_us'])}",
            _num(herd["mixed"]["load"]["throughput_rps"]), _num(_half_p99_us(herd)),
            f"{_num(_propagation(herd, 'p50_us'))} / {_num(_propagation(herd, 'p99_us'))}",
            half["propagation"]["never_visible"],
            "not exposed" if messages is None else _num(messages, 2),
            _num(_max_rss_mib(herd), 1), _errors(herd)))
    redis = results.get("redis")
    if redis:
        for command in ("geoadd", "geosearch"):
            numbers = redis[command]
            rows.append(_row(
                f"Redis {command.upper()} (redis-benchmark -P 1)",
                _num(numbers["throughput_rps"]), "",
                f"{_num(numbers['p50_us'])} / {_num(numbers['p99_us'])}",
                "", "", "n/a", "", "", _num(redis["peak_rss_kib"] / 1024, 1), ""))
    return rows


def _ratio_rows(results):
    ours = _measured(results, "herd")
    if not ours:
        return [_row("(our herd was not measured in this run)", "", "", "", "")]
    rows = []
    for kind in BASELINES:
        theirs = _measured(results, kind)
        if theirs:
            rows.append(_row(
                herds.LABELS[kind], _ratio(_peak_rps(ours), _peak_rps(theirs)),
                _ratio(_half_p99_us(theirs), _half_p99_us(ours)),
                _ratio(_propagation(theirs, "p99_us"), _propagation(ours, "p99_us")),
                _ratio(_max_rss_mib(theirs), _max_rss_mib(ours))))
    redis = results.get("redis")
    if redis:
        rows.append(_row(
            "Redis GEOADD", _ratio(_peak_rps(ours), redis["geoadd"]["throughput_rps"]),
            "n/a", "n/a", _ratio(redis["peak_rss_kib"] / 1024, _max_rss_mib(ours))))
    return rows


def _cost_rows(results, key):
    """One row per herd and phase: `key` per update for each server and in
    all ("cpu_us_per_update" or "switches_per_update")."""
    digits = 1 if key == "cpu_us_per_update" else 2
    rows = []
    for kind, herd in results["herds"].items():
        if "failed" in herd:
            continue
        for phase, label in COST_PHASES:
            cost = herd.get(f"{phase}_cost")
            if not cost:
                continue
            rate = herd[phase]["load"]["throughput_rps"]
            rows.append(_row(
                herds.LABELS[kind], label, f"{cost['updates']:,}", _num(rate),
                *[_num((cost["servers"].get(n) or {}).get(key), digits)
                  for n in herds.SERVERS],
                _num(cost["total"][key], digits)))
    chain = results.get("redis_chain") or {}
    for connections, run in (chain.get("runs") or {}).items():
        cost = run["cost"]
        rows.append(_row(
            "Redis chain", f"GEOADD, {connections} client"
            + ("s" if connections != "1" else ""),
            f"{cost['updates']:,}", _num(run["geoadd"]["throughput_rps"]),
            *[_num((cost["servers"].get(n) or {}).get(key), digits)
              for n in herds.SERVERS],
            _num(cost["total"][key], digits)))
    return rows


def _batch_rows(results):
    ours = _measured(results, "herd")
    if not ours:
        return []
    links = {}
    for phase, _ in COST_PHASES:
        for link, numbers in ((ours.get(f"{phase}_cost") or {}).get("links")
                              or {}).items():
            links.setdefault(link, {})[phase] = numbers
    rows = []
    for link in sorted(links):
        cells = []
        for phase, _ in COST_PHASES:
            numbers = links[link].get(phase)
            cells.append("n/a" if not numbers else
                         f"{numbers['updates']:,} / "
                         f"{_num(numbers['updates_per_batch'], 1)}")
        rows.append(_row(link.replace("->", " → "), *cells))
    return rows


def _whatsat_rows(results):
    whatsat = results.get("whatsat") or {}
    rows = []
    for query in whatsat.get("queries", []):
        latency = query["latency_us"]
        lookup = query.get("lookup_us_mean")
        overhead = (latency["mean_us"] - lookup
                    if lookup is not None and latency.get("mean_us") is not None
                    else None)
        rows.append(_row(
            f"`WHATSAT <client> {query['radius_km']} {query['count']}`",
            "near large cities" if query["near_cities"] else "anywhere (mostly ocean)",
            _num(query["places_mean"], 1), _num(query["whatsat_rps"]),
            _num(latency["p50_us"], 1), _num(latency["p99_us"], 1),
            _num(latency.get("mean_us"), 1), _num(lookup, 1), _num(overhead, 1),
            _num(query.get("cpu_us_per_whatsat"), 1), query["errors"]))
    return rows


def _cost(herd, phase, key="cpu_us_per_update", server=None):
    cost = (herd or {}).get(f"{phase}_cost")
    if not cost:
        return None
    return (cost["servers"].get(server) or {}).get(key) if server else cost["total"][key]


def _chain_peak(results):
    """The Redis chain's run with the most clients (its peak), as
    (clients, run), or (None, None) when the chain did not run."""
    runs = (results.get("redis_chain") or {}).get("runs") or {}
    if not runs:
        return None, None
    clients = max(runs, key=int)
    return clients, runs[clients]


def _cpu_ratio_aim(aim, versus, mine, theirs, at_most):
    """One aim line: our CPU per update over theirs, met if at most
    at_most; n/a where either was not measured."""
    if mine is None or not theirs:
        return f"- CPU per update {versus}: n/a (not measured in this run)."
    ratio = mine / theirs
    return (f"- CPU per update {aim}: {mine:.1f} vs {theirs:.1f} µs = "
            f"{ratio:.2f}x ({_met(ratio <= at_most)}).")


def _cost_aims(results, ours):
    lines = []
    asyncio = _measured(results, "asyncio")
    lines.append(_cpu_ratio_aim(
        "at 4,000 IAMAT/s at most 1/4 of asyncio's (herd-wide)",
        "at 4,000 IAMAT/s vs asyncio",
        _cost(ours, "fixed"), _cost(asyncio, "fixed"), 0.25))
    clients, chain = _chain_peak(results)
    lines.append(_cpu_ratio_aim(
        f"at peak at most the Redis replication chain's (GEOADD, {clients} "
        "clients; herd-wide)",
        "at peak vs the Redis chain",
        _cost(ours, "peak"),
        chain["cost"]["total"]["cpu_us_per_update"] if chain else None, 1))
    for phase, label in COST_PHASES[:2]:
        switches = _cost(ours, phase, "switches_per_update", LEAF)
        lines.append(f"- Context switches per update at {LEAF} at most 2 "
                     f"({label}): " + ("n/a." if switches is None else
                                       f"{switches:.2f} ({_met(switches <= 2)})."))
    return lines


def _floor_lines(results):
    """What this machine's bare message hop (bench/message_floor) says about
    the CPU per update at 4,000/s: the least a herd could spend passing one
    message per hop, next to the 1/4-of-asyncio mark."""
    floor = results.get("floor") or {}
    hop = (floor.get("at_4000_per_s") or {}).get("hop_cpu_us")
    if hop is None:
        return []
    back_to_back = (floor.get("back_to_back") or {}).get("hop_cpu_us")
    lines = [f"- The machine's floor (`bench/message_floor`): one bare loopback "
             f"TCP message hop (a send, the receiver woken in `epoll_wait`, a "
             f"`recv`; no TLS, HTTP/2 or work) costs {hop:.1f} µs of CPU at "
             f"4,000 hops/s ({_num(back_to_back, 1)} back to back)."]
    cost = (_measured(results, "herd") or {}).get("fixed_cost") or {}
    links = cost.get("links") or {}
    messages = sum(link["batches"] or 0 for link in links.values())
    if messages and cost.get("updates"):
        per_update = messages / cost["updates"]
        asyncio = _cost(_measured(results, "asyncio"), "fixed")
        mark = f"; the 1/4-of-asyncio mark is {asyncio / 4:.0f} µs" if asyncio else ""
        lines.append(
            f"  At 4,000 IAMAT/s an update was {per_update:.2f} link messages "
            "here; with the client's request and reply (at the server, one "
            "receive and one send: a hop's worth), a herd doing nothing but "
            "pass one bare message per hop would spend at least "
            f"{(1 + per_update) * hop:.0f} µs per update herd-wide, and "
            f"{(1 + 2 * per_update) * hop:.0f} µs with a flow-control message "
            "answering each link message as gRPC 1.51's HTTP/2 does "
            f"(docs/PERFORMANCE.md){mark}.")
    return lines


def _met(condition):
    return "met" if condition else "not met"


def _fastest(results, value):
    """The best of value(herd) over the baselines measured in this run."""
    return max((value(_measured(results, k)) or 0 for k in BASELINES
                if _measured(results, k)), default=0)


def _throughput_aims(results, ours):
    lines = []
    ours_rps = _peak_rps(ours)
    fastest = _fastest(results, _peak_rps)
    if fastest:
        times = ours_rps / fastest
        lines.append("- Single-node IAMAT peak at least 3x the fastest "
                     f"baseline's: {times:.1f}x ({_met(times >= 3)}).")
    clients, chain = _chain_peak(results)
    if chain:
        rate = chain["geoadd"]["throughput_rps"]
        lines.append("- Single-node IAMAT peak at least the Redis replication "
                     f"chain's GEOADD rate ({clients} clients): {_num(ours_rps)} vs "
                     f"{_num(rate)} req/s ({_met(ours_rps >= rate)}).")
    mixed = ours["mixed"]["load"]["throughput_rps"] if "mixed" in ours else None
    fastest_mixed = _fastest(
        results, lambda herd: herd["mixed"]["load"]["throughput_rps"]
        if "mixed" in herd else None)
    if mixed and fastest_mixed:
        times = mixed / fastest_mixed
        lines.append("- Mixed load over five nodes at least 2x the fastest "
                     f"baseline's: {times:.1f}x ({_met(times >= 2)}).")
    return lines


def _half_load_aims(results, ours):
    lines = []
    for label, value in (("Reply", _half_p99_us),
                         ("Propagation Hamilton to Bolden",
                          lambda herd: _propagation(herd, "p99_us"))):
        mine = value(ours)
        if mine is None:
            lines.append(f"- {label} p99 at half load under 2 ms: not measured "
                         "(see the notes).")
            continue
        theirs = [value(_measured(results, k)) for k in BASELINES
                  if _measured(results, k)]
        best = min((t for t in theirs if t is not None), default=None)
        beats = best is None or mine < best
        lines.append(f"- {label} p99 at half load under 2 ms and better than "
                     f"every baseline's: {mine / 1000:.2f} ms, best baseline "
                     + ("n/a" if best is None else f"{best / 1000:.2f} ms")
                     + f" ({_met(mine < 2000 and beats)}).")
    return lines


def _whatsat_aim(results):
    for query in (results.get("whatsat") or {}).get("queries") or []:
        if (query["radius_km"], query["count"], query["near_cities"]) == (50, 20, True):
            p99 = query["latency_us"]["p99_us"]
            return [f"- `WHATSAT <client> 50 20` p99 on an idle node under 200 µs: "
                    f"{p99:.0f} µs ({_met(p99 < 200)})."]
    return []


def _aims(results):
    ours = _measured(results, "herd")
    if not ours:
        return ["- Our herd was not measured in this run: no aims to report."]
    lines = _throughput_aims(results, ours) + _half_load_aims(results, ours)
    lines += (_cost_aims(results, ours) + _floor_lines(results)
              + _whatsat_aim(results))
    memory = results.get("memory")
    if memory:
        per_client = memory["bytes_per_client"]
        lines.append(f"- Under 256 bytes per tracked client with "
                     f"{memory['clients']:,} clients in one node: "
                     f"{per_client:.0f} B ({_met(per_client < 256)}; RSS "
                     f"{memory['rss_before_kib'] / 1024:.0f} -> "
                     f"{memory['rss_after_kib'] / 1024:.0f} MiB, loaded at "
                     f"{_num(memory['throughput_rps'])} req/s pipelined).")
    return lines


def _notes(results):
    notes = []
    for kind, herd in results["herds"].items():
        label = herds.LABELS[kind]
        for warning in herd.get("warnings", []):
            notes.append(f"- {label}: {warning}.")
        if herd.get("crashed"):
            notes.append(f"- {label}: servers exited during the run: {herd['crashed']}.")
        for phase in ("peak", "mixed", "half"):
            data = herd.get(phase) or {}
            for section in ("load", "propagation"):
                errors = (data.get(section) or {}).get("errors") or {}
                if errors.get("total"):
                    notes.append(f"- {label} {phase} {section}: {errors['total']} "
                                 f"errors {errors['by_kind']}, e.g. "
                                 f"`{errors['examples'][0][:160]}`.")
            propagation = data.get("propagation") or {}
            if propagation.get("never_visible"):
                notes.append(f"- {label} {phase}: {propagation['never_visible']} of "
                             f"{propagation['samples']} updates never showed at "
                             "Bolden within the visibility time-out.")
    return notes


def _cost_section(results):
    servers = " | ".join(herds.SERVERS)
    header = f"| herd | phase | updates | req/s | {servers} | herd-wide |"
    rule = "|---|---|---|---|" + "---|" * (len(herds.SERVERS) + 1)
    lines = [
        "CPU time per accepted update, in microseconds (utime + stime of each "
        "server process from /proc/PID/stat, all threads, from just before "
        "the phase until the herd is idle again after it, so the flooding "
        "backlog counts; idle time in between counts too):",
        "", header, rule, *_cost_rows(results, "cpu_us_per_update"), "",
        "Context switches per accepted update (voluntary + involuntary, "
        "summed over /proc/PID/task/*/status, same interval):",
        "", header, rule, *_cost_rows(results, "switches_per_update"), ""]
    chain = results.get("redis_chain") or {}
    if chain.get("failed"):
        lines += [f"Redis chain: failed: {chain['failed'].splitlines()[0]}", ""]
    elif chain:
        tree = ", ".join(f"{child} replicates {parent}"
                         for child, parent in chain["tree"].items())
        caught_up = all(run["caught_up"] for run in chain["runs"].values())
        members = sorted({m for run in chain["runs"].values()
                          for m in run["members"].values()})
        lines += [
            f"Redis chain: five redis-server, {tree}; GEOADD into "
            f"{chain['root']} by redis-benchmark (-P 1, closed loop); every "
            "replica " + ("had caught up (equal replication offsets) "
                          if caught_up else "had NOT caught up ")
            + "when measured (members per server after each run: "
            + ", ".join(f"{m:,}" for m in members)
            + "). redis-benchmark has no fixed-rate mode, so the chain has no "
            "4,000/s row.", ""]
    batches = _batch_rows(results)
    if batches:
        lines += [
            "Ours: updates sent / updates per batch (PropagateLocations "
            "message) on each link, from GetStatus before and after each "
            "phase (n/a: the node does not count batches):", "",
            "| link | fixed 4,000/s | peak | half |", "|---|---|---|---|",
            *batches, ""]
    whatsat = results.get("whatsat") or {}
    if whatsat.get("queries"):
        lines += [
            "Ours: WHATSAT on one idle node (embedded gazetteer), one "
            "connection, one request at a time, about a dozen clients (1 IAMAT "
            "per 100 WHATSATs keeps them reported); latency in microseconds. "
            "The places lookup is the provider's own time (the node's "
            "`herd_places_request_duration_seconds`); without it, what the "
            "herd adds (mean latency less the lookup: parsing, the gRPC call, "
            "the reply's JSON, the sockets), which is what the baselines' fixed "
            "empty answer compares with. CPU per WHATSAT from /proc/PID/stat:",
            "",
            "| query | clients | places per reply | WHATSAT/s | p50 | p99 "
            "| mean | places lookup (mean) | without the lookup (mean) "
            "| CPU µs per WHATSAT | wrong replies |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *_whatsat_rows(results), ""]
    elif whatsat:
        lines += [f"WHATSAT phase: {whatsat.get('failed') or whatsat.get('note')}", ""]
    return lines


def markdown(results):
    profile = results["profile"]
    lines = [
        f"### Results ({results['mode']} run, {results['date']}, "
        f"{results['elapsed_s']:.0f} s)",
        "",
        f"Machine: {results['machine']}. The load generator runs on the same "
        "machine as the servers.",
        "",
        f"Load: {profile['connections']} connections; peak = closed loop, IAMAT "
        f"only, all to Hamilton, {profile['peak_s']} s; fixed = 4,000 IAMAT/s "
        f"to Hamilton, {profile.get('fixed_s', 'n/a')} s; mixed = closed loop, "
        f"IAMAT:WHATSAT 80:20 over all five servers, {profile['mixed_s']} s; "
        f"half = fixed rate at half of what that herd sustains, {profile['half_s']} s, "
        "with a propagation sample (Hamilton to Bolden) every 10 ms. Sustained = "
        "peak requests / (peak time + time until every server of the herd is "
        "idle again, i.e. has flooded its backlog). Latencies in microseconds.",
        "",
        "| herd | IAMAT peak req/s (1 node) | sustained by the herd | p50 / p99 at peak "
        "| mixed req/s (5 nodes) "
        "| reply p99 at half load | propagation p50 / p99 at half load "
        "| never visible | messages per update | peak RSS per process, max (MiB) "
        "| wrong replies |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *_herd_rows(results),
        "",
        "Ours vs each baseline (values above 1x mean ours is better: throughput "
        "is ours / theirs; latency and memory are theirs / ours):",
        "",
        "| vs | IAMAT throughput | reply p99 at half load | propagation p99 "
        "| peak RSS per process |",
        "|---|---|---|---|---|",
        *_ratio_rows(results),
        "",
        *_cost_section(results),
        "Aims of the issue (reported, never asserted):",
        "",
        *_aims(results),
    ]
    notes = _notes(results)
    if notes:
        lines += ["", "Notes from this run:", "", *notes]
    return "\n".join(lines) + "\n"

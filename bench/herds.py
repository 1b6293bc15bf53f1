"""Starts, probes and stops the herds that bench/run.sh and the smoke test
measure: ours (herdnode), the three baselines, a Redis server and a chain of
Redis replicas along the herd's links.

Every process started here is stopped when the Python process exits, even
on an error, and only processes started here are ever signalled.
"""

import atexit
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# One way to pick ports for every herd the project starts: below the kernel's
# ephemeral range, so an outgoing connection cannot take one meanwhile.
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))
from ports import free_ports  # noqa: E402
import local_herd  # noqa: E402
from local_herd import tail  # noqa: E402

import herd_protos  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
BASELINES_DIR = BENCH_DIR / "baselines"
HOST = "127.0.0.1"

# The reference herd of docs/PROTOCOL.md, as the shipped herd file describes
# it (its names and links; every herd here gets ports of its own).
SHIPPED_HERD = REPO_ROOT / "deploy" / "herd.textproto"


def _shipped_shape():
    from google.protobuf import text_format
    config = herd_protos.stubs().config_pb2.HerdConfig()
    text_format.Parse(SHIPPED_HERD.read_text(encoding="utf-8"), config)
    return (tuple(server.name for server in config.servers),
            tuple((link.a, link.b) for link in config.links))


SERVERS, LINKS = _shipped_shape()

# kind -> command that runs one baseline server, given --name/--herd/--log.
BASELINE_COMMANDS = {
    "twisted": ["/usr/bin/python3", str(BASELINES_DIR / "twisted_herd.py")],
    "asyncio": ["/usr/bin/python3", str(BASELINES_DIR / "asyncio_herd.py")],
    "node": ["node", str(BASELINES_DIR / "node_herd.js")],
}
KINDS = ("herd",) + tuple(BASELINE_COMMANDS)
LABELS = {"herd": "herd (ours)", "twisted": "Twisted", "asyncio": "asyncio",
          "node": "Node.js", "redis": "Redis"}

STOP_GRACE_S = 5.0
_running = []  # every Popen started here and not yet stopped


def _stop_all():
    for process in list(_running):
        _stop_process(process)


atexit.register(_stop_all)
# Turn SIGTERM into an exit, so the atexit clean-up runs then too.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _stop_process(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_GRACE_S)
    if process in _running:
        _running.remove(process)


def proc_status_kib(pid, field):
    """VmRSS, VmHWM (peak RSS) ... of a live process, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def cpu_ticks(pid):
    """User + system CPU time of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # The command name (field 2) may hold spaces: count after its ')'.
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


# One clock tick of /proc/PID/stat's utime and stime, in microseconds.
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
_SWITCH_FIELDS = ("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")


def context_switches(pid):
    """Voluntary + involuntary context switches of every thread of a process:
    /proc/PID/status counts only the main thread, so this sums
    /proc/PID/task/*/status (a thread that has exited takes its count with
    it)."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text(encoding="ascii")
        except OSError:  # the thread exited meanwhile
            continue
        for line in text.splitlines():
            if line.startswith(_SWITCH_FIELDS):
                total += int(line.split()[1])
    return total


def sample_usage(pids):
    """{name: (CPU ticks, context switches)} of live processes by name."""
    return {name: (cpu_ticks(pid), context_switches(pid))
            for name, pid in pids.items()}


def usage_per_update(before, after, updates):
    """What the processes spent between two samples (see sample_usage),
    divided by the updates accepted meanwhile: per server and in all."""
    servers = {}
    for name in sorted(before.keys() & after.keys()):
        cpu_us = (after[name][0] - before[name][0]) * TICK_US
        switches = after[name][1] - before[name][1]
        servers[name] = {"cpu_us": cpu_us, "context_switches": switches}
    totals = {"cpu_us": sum(s["cpu_us"] for s in servers.values()),
              "context_switches": sum(s["context_switches"]
                                      for s in servers.values())}
    for numbers in (*servers.values(), totals):
        numbers["cpu_us_per_update"] = (numbers["cpu_us"] / updates
                                        if updates else None)
        numbers["switches_per_update"] = (numbers["context_switches"] / updates
                                          if updates else None)
    return {"updates": updates, "servers": servers, "total": totals}


def spanning_tree(servers, links, root):
    """{server: parent} of a breadth-first tree over the links from `root`
    (neighbours taken in name order); the root has no entry."""
    neighbours = collections.defaultdict(set)
    for a, b in links:
        neighbours[a].add(b)
        neighbours[b].add(a)
    parents, queue = {}, collections.deque([root])
    seen = {root}
    while queue:
        node = queue.popleft()
        for neighbour in sorted(neighbours[node]):
            if neighbour not in seen:
                seen.add(neighbour)
                parents[neighbour] = node
                queue.append(neighbour)
    unreached = set(servers) - seen
    if unreached:
        raise ValueError(f"the links do not reach {sorted(unreached)} from {root}")
    return parents


def wait_quiescent(pids, timeout_s=60.0, window_s=0.25, busy_ticks=5):
    """Waits until the processes together use less than `busy_ticks` CPU
    ticks in a window (a herd still flooding a backlog keeps at least one
    core busy). Returns the seconds it took, or None at the time-out."""
    start = time.monotonic()
    last = sum(cpu_ticks(p) for p in pids)
    while time.monotonic() - start < timeout_s:
        time.sleep(window_s)
        now = sum(cpu_ticks(p) for p in pids)
        if now - last < busy_ticks:
            return max(0.0, time.monotonic() - start - window_s)
        last = now
    return None


def exchange(port, request, timeout_s=2.0):
    """Sends one line and returns the reply: one line, or up to the blank
    line for a WHATSAT answered with an AT line."""
    with socket.create_connection((HOST, port), timeout=timeout_s) as sock:
        sock.sendall(request.encode())
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return reply.decode()
            reply += chunk
            text = reply.decode(errors="replace")
            if text.startswith("AT ") and request.startswith("WHATSAT"):
                if text.endswith("\n\n"):
                    return text
            elif text.endswith("\n"):
                return text


def _wait_for_port(port, process, deadline, output):
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before listening "
                f"on {port}; its output ({output}):\n{tail(output)}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port}; see {output}")


class _ServerGroup:
    """What every group of server processes started here shares: `processes`
    ({name: Popen}) is filled by the subclass's start()."""

    def pids(self):
        """{name: pid} of every server still running."""
        return {n: p.pid for n, p in self.processes.items() if p.poll() is None}

    def wait_quiescent(self, timeout_s=60.0):
        """Seconds until every server is idle (see wait_quiescent)."""
        return wait_quiescent(list(self.pids().values()), timeout_s)

    def peak_rss_kib(self):
        """VmHWM of every server still running, by name."""
        return {n: proc_status_kib(pid, "VmHWM") for n, pid in self.pids().items()}

    def crashed(self):
        return {n: p.returncode for n, p in self.processes.items()
                if p.poll() is not None}

    def stop(self):
        for process in self.processes.values():
            _stop_process(process)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


class Herd(_ServerGroup):
    """One herd of servers on free loopback ports, started in `workdir`:
    ours through the integration tests' Herd (tests/integration/
    local_herd.py: the herd file, certificates, start-up and a clean stop
    checked), the baselines with a herd.json of their own."""

    def __init__(self, kind, workdir, servers=SERVERS, links=LINKS,
                 herdnode=None, log=True):
        if kind not in KINDS:
            raise ValueError(f"unknown herd kind {kind!r}; known: {KINDS}")
        if kind == "herd" and not herdnode:
            raise ValueError("our herd needs the herdnode binary")
        self.kind = kind
        self.workdir = Path(workdir)
        self.servers = tuple(servers)
        self.links = tuple(links)
        self.log = log
        self.processes = {}
        # {name: port} of the client-facing gateway; ours also
        # operator_ports (GetStatus, GetLocation) and http_ports (/metrics).
        self.ports = {}
        self.operator_ports = {}
        self.http_ports = {}
        if kind == "herd":
            # Measured as shipped: peers speak mutual TLS; nothing else of
            # the shipped herd file (no durability): every setting's default.
            stubs = herd_protos.stubs()
            self._nodes = local_herd.Herd(
                stubs, herdnode, self.workdir,
                base_config=local_herd.shaped_config(stubs, self.servers,
                                                     self.links, HOST))
        else:
            self._nodes = None
            ports = free_ports(2 * len(self.servers))
            self.ports = dict(zip(self.servers, ports[::2]))
            self._peer_ports = dict(zip(self.servers, ports[1::2]))

    def endpoint(self, name):
        return f"{HOST}:{self.ports[name]}"

    def status_targets(self):
        """gRPC addresses that answer GetStatus (ours only)."""
        return [f"{HOST}:{self.operator_ports[n]}" for n in self.servers
                if n in self.operator_ports]

    def _write_baseline_config(self):
        herd = {"servers": {n: {"host": HOST, "port": self.ports[n],
                                "peer_port": self._peer_ports[n]}
                            for n in self.servers},
                "links": [list(link) for link in self.links]}
        path = self.workdir / "herd.json"
        path.write_text(json.dumps(herd, indent=1))
        return path

    def start(self, ready_timeout_s=20.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._nodes is not None:
            self._nodes.start()
            for name in self.servers:
                server = self._nodes.server(name)
                self.ports[name] = local_herd.split_address(server.gateway_address)[1]
                self.operator_ports[name] = local_herd.split_address(
                    server.operator_address)[1]
                self.http_ports[name] = local_herd.split_address(server.http_address)[1]
                self.processes[name] = self._nodes.process(name).popen
                _running.append(self.processes[name])
            return self
        config = self._write_baseline_config()
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        for name in self.servers:
            output = self.workdir / f"{name}.out"
            command = BASELINE_COMMANDS[self.kind] + ["--name", name, "--herd", str(config)]
            if self.log:
                command += ["--log", str(logs / f"{name}.log")]
            with open(output, "wb") as sink:
                process = subprocess.Popen(
                    command, stdout=sink, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, cwd=self.workdir)
            _running.append(process)
            self.processes[name] = process
        deadline = time.monotonic() + ready_timeout_s
        for name in self.servers:
            _wait_for_port(self.ports[name], self.processes[name], deadline,
                           self.workdir / f"{name}.out")
        return self

    def join(self, name, linked_to):
        """Ours only: a new server joins the running herd, linked to the
        servers in linked_to, as an operator would add one (the herd file
        rewritten, its peers reloaded, the new server started); returns once
        it serves (its catch-up may still run)."""
        def add(config):
            self._nodes.add_server(config, name)
            for peer in linked_to:
                config.links.add(a=name, b=peer)
        self._nodes.rewrite_config(add)
        # Peers first: the newcomer's first dial then finds them linked.
        for peer in linked_to:
            self._nodes.reload(peer)
        self._nodes.start_server(name)
        server = self._nodes.server(name)
        self.servers += (name,)
        self.links += tuple((name, peer) for peer in linked_to)
        self.ports[name] = local_herd.split_address(server.gateway_address)[1]
        self.operator_ports[name] = local_herd.split_address(server.operator_address)[1]
        self.http_ports[name] = local_herd.split_address(server.http_address)[1]
        self.processes[name] = self._nodes.process(name).popen
        _running.append(self.processes[name])

    def status(self, name):
        """Ours only: the server's GetStatus."""
        return self._nodes.status(name)

    def stop(self):
        if self._nodes is None:
            super().stop()
            return
        try:
            self._nodes.stop()
        except AssertionError as error:
            # The run's results are kept (crashed() reports the exit codes);
            # what the servers said is worth reading next to them.
            print(f"warning: {error}", file=sys.stderr)
        for process in self.processes.values():
            if process in _running:
                _running.remove(process)

    def whatsat_answers(self, name="Hamilton"):
        """Whether WHATSAT answers for a client the server itself just took
        an IAMAT from (ours says "? " while no places provider works)."""
        client = f"whatsat-check-{time.monotonic_ns()}"
        exchange(self.ports[name],
                 f"IAMAT {client} +34.068930-118.445127 {time.time():.9f}\n")
        return exchange(self.ports[name], f"WHATSAT {client} 10 5\n").startswith("AT ")

    def visibility_flag(self, name, use_whatsat=True):
        """herd-bench's flag that makes server `name` B of the probe: by
        WHATSAT, or for our herd by gRPC GetLocation."""
        if use_whatsat:
            return f"--propagation_to={self.endpoint(name)}"
        return f"--propagation_to_grpc={HOST}:{self.operator_ports[name]}"

    def wait_flooding(self, origin, herd_bench=None, timeout_s=15.0):
        """Waits until an update at `origin` shows at every other server:
        the links are up. Asks by WHATSAT, or, for our herd when WHATSAT
        cannot answer, by GetLocation through herd-bench. Returns the
        servers that did not show it by the deadline."""
        others = [n for n in self.servers if n != origin]
        if self.whatsat_answers(origin):
            return self._wait_flooding_by_whatsat(origin, others, timeout_s)
        if self.kind != "herd" or herd_bench is None:
            return others
        return [n for n in others if subprocess.run(
            [str(herd_bench), f"--propagation_from={self.endpoint(origin)}",
             self.visibility_flag(n, use_whatsat=False),
             "--propagation_samples=1", f"--visibility_timeout={timeout_s}s",
             f"--duration={timeout_s + 5}s", "--strict"],
            capture_output=True, timeout=timeout_s + 30, check=False).returncode != 0]

    def _wait_flooding_by_whatsat(self, origin, waiting, timeout_s):
        deadline = time.monotonic() + timeout_s
        attempt = 0
        while waiting and time.monotonic() < deadline:
            attempt += 1
            client = f"warmup-{self.kind}-{attempt}"
            exchange(self.ports[origin],
                     f"IAMAT {client} +34.068930-118.445127 {time.time():.9f}\n")
            poll_until = min(deadline, time.monotonic() + 1.0)
            while waiting and time.monotonic() < poll_until:
                waiting = [n for n in waiting
                           if not exchange(self.ports[n], f"WHATSAT {client} 10 5\n")
                           .startswith("AT ")]
                if waiting:
                    time.sleep(0.02)
        return waiting

    def rss_kib(self, name):
        return proc_status_kib(self.processes[name].pid, "VmRSS")

    def metrics(self, name, timeout_s=5.0):
        """{sample name: value} of our server's /metrics;
        labelled samples keep their labels in the name."""
        url = f"http://{HOST}:{self.http_ports[name]}/metrics"
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            text = response.read().decode("utf-8")
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                sample, _, value = line.rpartition(" ")
                samples[sample] = float(value)
        return samples


class Redis:
    """A throw-away redis-server on a free loopback port, no persistence."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.port = free_ports(1)[0]
        self.process = None

    @staticmethod
    def available():
        return all(shutil.which(tool) for tool in
                   ("redis-server", "redis-benchmark", "redis-cli"))

    def start(self, ready_timeout_s=10.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        output = self.workdir / "redis.out"
        with open(output, "wb") as sink:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", HOST,
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--dir", str(self.workdir)],
                stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _running.append(self.process)
        _wait_for_port(self.port, self.process,
                       time.monotonic() + ready_timeout_s, output)
        return self

    def peak_rss_kib(self):
        return proc_status_kib(self.process.pid, "VmHWM")

    def stop(self):
        if self.process is not None:
            _stop_process(self.process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def redis_info(port, section, timeout_s=2.0):
    """INFO <section> of a redis-server as {field: value}."""
    run = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), "INFO", section],
                         capture_output=True, text=True, timeout=timeout_s,
                         check=True)
    fields = {}
    for line in run.stdout.splitlines():
        key, colon, value = line.strip().partition(":")
        if colon:
            fields[key] = value
    return fields


class RedisChain(_ServerGroup):
    """Redis as a herd: one redis-server per server of the herd on free
    loopback ports, each a replica (--replicaof) of its parent on a
    breadth-first spanning tree of the herd's links rooted at `root`, so a
    write to the root reaches every server as it does in the herd, but once
    each, over a tree."""

    def __init__(self, workdir, servers=SERVERS, links=LINKS, root="Hamilton"):
        self.workdir = Path(workdir)
        self.servers = tuple(servers)
        self.root = root
        self.parents = spanning_tree(self.servers, links, root)
        self.ports = dict(zip(self.servers, free_ports(len(self.servers))))
        self.processes = {}

    def _start_one(self, name, ready_timeout_s):
        output = self.workdir / f"{name}.out"
        data = self.workdir / name
        data.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.ports[name]), "--bind", HOST,
                   "--save", "", "--appendonly", "no", "--daemonize", "no",
                   "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                   "--dir", str(data)]
        if name in self.parents:
            command += ["--replicaof", HOST, str(self.ports[self.parents[name]])]
        with open(output, "wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        _running.append(process)
        self.processes[name] = process
        _wait_for_port(self.ports[name], process,
                       time.monotonic() + ready_timeout_s, output)

    def start(self, ready_timeout_s=10.0, link_timeout_s=20.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Parents before children: the tree's breadth-first order.
        for name in [self.root] + list(self.parents):
            self._start_one(name, ready_timeout_s)
        waiting = self.wait_linked(link_timeout_s)
        if waiting:
            raise RuntimeError(f"Redis replicas {waiting} never reported "
                               "master_link_status:up")
        return self

    def wait_linked(self, timeout_s):
        """Waits until every replica says master_link_status:up; returns the
        ones that did not by the deadline."""
        deadline = time.monotonic() + timeout_s
        waiting = list(self.parents)
        while waiting and time.monotonic() < deadline:
            waiting = [n for n in waiting if redis_info(
                self.ports[n], "replication").get("master_link_status") != "up"]
            if waiting:
                time.sleep(0.05)
        return waiting

    def offsets(self):
        """master_repl_offset of every server: equal once all caught up."""
        return {n: int(redis_info(self.ports[n], "replication")
                       .get("master_repl_offset", -1))
                for n in self.servers}

    def members(self, key):
        """ZCARD of `key` on every server: the clients each one holds."""
        return {n: int(subprocess.run(
            ["redis-cli", "-h", HOST, "-p", str(self.ports[n]), "ZCARD", key],
            capture_output=True, text=True, timeout=2, check=True).stdout)
            for n in self.servers}


"""A herd of real herdnode processes on 127.0.0.1 for end-to-end tests.

The herd is the shipped deploy/herd.textproto with every port replaced by a
free one, so tests run in parallel with each other and with a herd started
by ./run.sh.
"""

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import grpc
from google.protobuf import text_format

from polling import wait_until
from ports import free_ports
from stubs import REPO_ROOT
from text_client import DEFAULT_TIMEOUT, TextClient

SHIPPED_CONFIG = REPO_ROOT / "deploy" / "herd.textproto"
MAKE_CERTS = REPO_ROOT / "deploy" / "make-certs.sh"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
# Flooding and catch-up across the herd, including a link's reconnect
# back-off (at most 5 s between tries), fit well inside this.
CONVERGE_TIMEOUT = 30.0
# Starting a herd races other processes for the free ports it picked; a lost
# race is retried with new ports this many times in all.
START_ATTEMPTS = 3

# Test channels ask to retry quickly after a node was unreachable (the
# defaults back off for up to two minutes); grpcio 1.51 still waits about 5 s,
# so channels are only made once a node's port accepts (see _wait_ready).
CHANNEL_OPTIONS = [
    ("grpc.enable_http_proxy", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # A new channel to a restarted node must not share a subchannel that is
    # still backing off from the previous run.
    ("grpc.use_local_subchannel_pool", 1),
]


class Loopback:
    """How the harness reaches a herd whose servers listen on this host's
    loopback: directly. Another network (netns_herd.NamespaceNetwork) puts
    the servers elsewhere and provides the same four methods."""

    def prepare(self, config):
        """Adapts the herd file to this network before it is written."""

    def command(self, name, argv):
        """The command line that starts server name (argv) there."""
        return argv

    def connect(self, address, timeout, source_ip=None):
        """A connected socket to a server's host:port."""
        return socket.create_connection(
            split_address(address), timeout=timeout,
            source_address=(source_ip, 0) if source_ip else None)

    def grpc_target(self, address):
        return address


# What a sanitizer runtime writes to a process's stderr when it finds
# something (scripts/sanitize.sh runs these tests against ASan+UBSan and TSan
# builds). halt_on_error makes the first report end the server, which fails
# a test that needed it; the stderr check also catches reports from servers
# the test killed anyway, whose exit status is not checked.
SANITIZER_REPORT = re.compile(
    r"WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|"
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
    r"^\S+:\d+:\d+: runtime error:", re.MULTILINE)


def sanitizer_report(text):
    """The first sanitizer report in a process's stderr text (from its first
    line, at most 60 lines), or None if there is none."""
    match = SANITIZER_REPORT.search(text)
    if match is None:
        return None
    start = text.rfind("\n", 0, match.start()) + 1
    return "\n".join(text[start:].splitlines()[:60])


class NodeExited(AssertionError):
    """A herdnode process ended while it was expected to be serving."""


def load_shipped_config(stubs):
    config = stubs.config_pb2.HerdConfig()
    text_format.Parse(SHIPPED_CONFIG.read_text(), config)
    return config


def make_certs(out_dir, names):
    """A herd CA and a certificate per name in out_dir (deploy/make-certs.sh);
    returns out_dir."""
    result = subprocess.run([str(MAKE_CERTS), str(out_dir), *names],
                            capture_output=True, text=True, timeout=60,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{MAKE_CERTS} failed:\n{result.stderr}")
    return Path(out_dir)


def set_tls(config, certs_dir):
    """Points config's tls section at certs_dir (absolute paths)."""
    certs_dir = Path(certs_dir).resolve()
    config.tls.ca_cert_path = str(certs_dir / "ca.crt")
    config.tls.cert_path = str(certs_dir / "{name}.crt")
    config.tls.key_path = str(certs_dir / "{name}.key")


def shaped_config(stubs, names, links, host="127.0.0.1"):
    """A herd of only these servers and links ((a, b) pairs) on host, every
    listener on port 0 (for config_on_free_ports to fill in) and nothing
    else set: no durability, places or limits, all their defaults."""
    config = stubs.config_pb2.HerdConfig()
    for name in names:
        config.servers.add(name=name, gateway_address=f"{host}:0",
                           grpc_address=f"{host}:0",
                           operator_address=f"{host}:0",
                           http_address=f"{host}:0")
    for a, b in links:
        config.links.add(a=a, b=b)
    return config


def config_on_free_ports(stubs, log_dir, trusted_peers=None, certs_dir=None,
                         base=None):
    """The shipped herd (or a copy of base, a HerdConfig) with every port
    replaced by a free one, logging to log_dir; trusted_peers ({name: [IP,
    ...]}) added to its servers. With certs_dir, a new herd CA and
    certificates are made there and the tls section points at them; without,
    the config has no usable tls section."""
    if base is None:
        config = load_shipped_config(stubs)
    else:
        config = stubs.config_pb2.HerdConfig()
        config.CopyFrom(base)
    ports = iter(free_ports(4 * len(config.servers)))
    for server in config.servers:
        if not server.operator_address:
            server.operator_address = server.grpc_address
        if not server.http_address:
            server.http_address = server.grpc_address
        for field in ("gateway_address", "grpc_address", "operator_address",
                      "http_address"):
            host, _ = split_address(getattr(server, field))
            setattr(server, field, f"{host}:{next(ports)}")
        server.trusted_peer_addresses.extend((trusted_peers or {}).get(server.name, []))
    config.log_directory = str(log_dir)
    if config.HasField("durability"):
        # Each herd its own: the shipped relative "data" would be shared by
        # every herd started from the same directory.
        config.durability.data_directory = str(Path(log_dir).parent / "data")
    config.ClearField("tls")
    if certs_dir is not None:
        make_certs(certs_dir, [server.name for server in config.servers])
        set_tls(config, certs_dir)
    return config


def split_address(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


def tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(cannot read {path}: {error})"


class NodeProcess:
    """One run of herdnode; a restarted server gets a new NodeProcess."""

    def __init__(self, name, command, workdir, incarnation):
        self.name = name
        self.stdout_path = workdir / f"{name}.{incarnation}.stdout"
        self.stderr_path = workdir / f"{name}.{incarnation}.stderr"
        # Killed on purpose by a test: its exit code is not checked.
        self.killed_by_test = False
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(command, stdout=out, stderr=err,
                                          stdin=subprocess.DEVNULL)

    def running(self):
        return self.popen.poll() is None

    def describe_exit(self):
        return (f"{self.name} (pid {self.popen.pid}) exited with "
                f"{self.popen.returncode}; stderr tail:\n{tail(self.stderr_path)}")

    def sanitizer_report(self):
        """A sanitizer report this run wrote to its stderr, or None."""
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError as error:
            return f"(cannot read {self.stderr_path}: {error})"
        return sanitizer_report(text)


class Herd:
    """Real herdnode processes, one per server of a herd file written for
    them on free ports, with clients for their gateways and operator
    listeners. The integration tests and the bench (bench/herds.py) both
    start herdnode through this class."""

    def __init__(self, stubs, binary, workdir, *, trusted_peers=None,
                 edit_config=None, network=None, base_config=None,
                 server_args=()):
        """trusted_peers: {server name: [IP, ...]} added to the config.
        edit_config: a function that changes the HerdConfig before start.
        network: where the servers run and how to reach them (default:
        Loopback). base_config: the herd to run (a HerdConfig, its ports
        replaced by free ones; e.g. shaped_config); default: the shipped
        herd. server_args: flags every server gets."""
        self.stubs = stubs
        self.binary = str(binary)
        self.workdir = Path(workdir)
        self.log_dir = self.workdir / "logs"
        self.config_path = self.workdir / "herd.textproto"
        # The herd's CA and certificates (made anew for every herd).
        self.certs_dir = self.workdir / "certs"
        self._trusted_peers = trusted_peers or {}
        self._edit_config = edit_config
        self._base_config = base_config
        self._server_args = tuple(server_args)
        self.network = network or Loopback()
        self._processes = []  # every incarnation, in start order
        self._current = {}  # name -> NodeProcess
        self._channels = {}  # name -> grpc.Channel
        self._incarnations = {}
        self._departed = {}  # name -> ServerConfig, of servers rewritten away
        self.config = None

    # --- configuration -------------------------------------------------
    def _write_config(self):
        config = config_on_free_ports(self.stubs, self.log_dir,
                                      self._trusted_peers,
                                      certs_dir=self.certs_dir,
                                      base=self._base_config)
        if self._edit_config:
            self._edit_config(config)
        self.network.prepare(config)
        self.config_path.write_text(text_format.MessageToString(config))
        self.config = config

    @property
    def names(self):
        return [server.name for server in self.config.servers]

    def server(self, name):
        """A server of the herd file, or one a rewrite_config removed (it
        may still run, with the file it last read)."""
        for server in self.config.servers:
            if server.name == name:
                return server
        if name in self._departed:
            return self._departed[name]
        raise KeyError(name)

    def gateway(self, name):
        """(host, port) of a server's text gateway."""
        return split_address(self.server(name).gateway_address)

    def http_address(self, name):
        """host:port of a server's HTTP listener (/metrics)."""
        return self.server(name).http_address

    def peer_address(self, name):
        """host:port of a server's peer listener (mutual TLS)."""
        return self.server(name).grpc_address

    def log_path(self, name):
        return self.log_dir / f"{name}.log"

    def process(self, name):
        return self._current[name]

    # --- processes -----------------------------------------------------
    def _launch(self, name, config_path=None, extra_args=()):
        incarnation = self._incarnations.get(name, 0) + 1
        self._incarnations[name] = incarnation
        command = self.network.command(
            name, [self.binary, "--config", str(config_path or self.config_path),
                   "--name", name, "--log_dir", str(self.log_dir),
                   *self._server_args, *extra_args])
        node = NodeProcess(name, command, self.workdir, incarnation)
        self._processes.append(node)
        self._current[name] = node
        self._drop_channel(name)
        return node

    def _wait_ready(self, name, timeout=STARTUP_TIMEOUT):
        node = self._current[name]
        request = self.stubs.health_pb2.HealthCheckRequest(service="")
        serving = self.stubs.health_pb2.HealthCheckResponse.SERVING
        server = self.server(name)
        # Either gateway may be off (empty); the TLS one accepts plain TCP
        # connections too (it closes them at the failed handshake).
        addresses = [address for address in (
            server.gateway_address, server.tls_gateway_address,
            server.grpc_address, server.operator_address, server.http_address)
            if address]

        def ready():
            if not node.running():
                raise NodeExited(f"while starting: {node.describe_exit()}")
            try:
                for address in addresses:
                    self.network.connect(address, timeout=1).close()
            except OSError:
                return False
            # Only now make the channel: one that failed to connect backs
            # off for seconds before it tries again.
            try:
                return self.health(name).Check(request, timeout=2).status == serving
            except grpc.RpcError:
                self._drop_channel(name)
                return False

        wait_until(ready, timeout=timeout,
                   what=f"{name} to be SERVING and accept on its gateway")

    def start(self):
        for attempt in range(1, START_ATTEMPTS + 1):
            self._write_config()
            for name in self.names:
                self._launch(name)
            try:
                for name in self.names:
                    self._wait_ready(name)
                return self
            except NodeExited as error:
                lost_port_race = "in use" in str(error).lower()
                self._kill_all()
                if not lost_port_race or attempt == START_ATTEMPTS:
                    raise
        return self

    # --- changing the herd while it runs ---------------------------------
    def rewrite_config(self, edit):
        """Changes the herd file every server was started with: edit(config)
        on a copy of the current one, written atomically (a server watching
        the file never reads half of it). It is this Herd's config from now
        on: what a reload reads and what start_server uses. Servers new to
        the file get certificates of the herd's CA."""
        config = self.stubs.config_pb2.HerdConfig()
        config.CopyFrom(self.config)
        edit(config)
        added = [server.name for server in config.servers
                 if server.name not in self.names]
        if added and self.config.HasField("tls"):
            make_certs(self.certs_dir, added)
        self.network.prepare(config)
        self.write_herd_file(text_format.MessageToString(config))
        kept = {server.name for server in config.servers}
        for server in self.config.servers:
            if server.name not in kept:
                self._departed[server.name] = server
        self.config = config
        return config

    def write_herd_file(self, text):
        """Replaces the herd file's text (atomically), e.g. with a broken
        one; self.config stays as it was."""
        staged = self.config_path.with_suffix(".staged")
        staged.write_text(text)
        staged.replace(self.config_path)

    def add_server(self, config, name):
        """Adds a server called name to config (for rewrite_config's edit),
        every listener on a free port."""
        host, _ = split_address(self.config.servers[0].grpc_address)
        ports = iter(free_ports(4))
        config.servers.add(
            name=name, gateway_address=f"{host}:{next(ports)}",
            grpc_address=f"{host}:{next(ports)}",
            operator_address=f"{host}:{next(ports)}",
            http_address=f"{host}:{next(ports)}")

    def reload(self, name, timeout=30):
        """The Reload call on a server's operator listener: its
        ReloadResponse, or the grpc.RpcError that says why not."""
        return self.node(name).Reload(self.stubs.herd_pb2.ReloadRequest(),
                                      timeout=timeout)

    def start_server(self, name, extra_args=()):
        """Starts a server of the current herd file that is not running
        yet (one rewrite_config added) and waits until it serves."""
        assert name not in self._current or not self._current[name].running()
        self._launch(name, extra_args=extra_args)
        self._wait_ready(name)

    def kill(self, name, sig=signal.SIGKILL):
        """Ends one server (SIGKILL by default: a crash) and waits for it."""
        node = self._current[name]
        node.killed_by_test = True
        node.popen.send_signal(sig)
        node.popen.wait(timeout=STOP_TIMEOUT)
        self._drop_channel(name)
        return node.popen.returncode

    def restart(self, name, config_path=None, extra_args=()):
        """Starts a server again (with the same config unless config_path;
        extra_args appended to its command line) and waits until it is
        serving; only allowed once its previous run has ended."""
        assert not self._current[name].running(), f"{name} is still running"
        self._launch(name, config_path, extra_args)
        self._wait_ready(name)

    def _kill_all(self):
        # Used to abandon a start attempt: a server of it that already exited
        # (it lost the race for a port) must not count as a crash later.
        for node in self._processes:
            node.killed_by_test = True
            if node.running():
                node.popen.kill()
                node.popen.wait(timeout=STOP_TIMEOUT)
        self._close_channels()

    def stop(self):
        """SIGTERMs every server still running, waits (bounded), SIGKILLs
        stragglers, and fails if any did not exit cleanly with code 0."""
        self._close_channels()
        problems = []
        for node in self._processes:
            if not node.killed_by_test and not node.running():
                problems.append(f"died before teardown: {node.describe_exit()}")
                node.killed_by_test = True  # reported already
        stopping = [n for n in self._processes if n.running()]
        for node in stopping:
            node.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for node in stopping:
            try:
                node.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.popen.kill()
                node.popen.wait(timeout=STOP_TIMEOUT)
                problems.append(f"{node.name} ignored SIGTERM for "
                                f"{STOP_TIMEOUT:g} s and was killed")
                continue
            if node.popen.returncode != 0 and not node.killed_by_test:
                problems.append(f"after SIGTERM: {node.describe_exit()}")
        # Every run, including killed ones and abandoned start attempts.
        for node in self._processes:
            report = node.sanitizer_report()
            if report is not None:
                problems.append(f"{node.name} (pid {node.popen.pid}) wrote a "
                                f"sanitizer report to {node.stderr_path}:\n"
                                f"{report}")
        if problems:
            raise AssertionError("herd did not stop cleanly:\n" + "\n".join(problems))

    # --- clients -------------------------------------------------------
    def channel(self, name):
        """A plaintext channel to a server's operator listener (client-facing
        RPCs, status, health, reflection)."""
        if name not in self._channels:
            self._channels[name] = grpc.insecure_channel(
                self.network.grpc_target(self.server(name).operator_address),
                options=CHANNEL_OPTIONS)
        return self._channels[name]

    def _drop_channel(self, name):
        channel = self._channels.pop(name, None)
        if channel is not None:
            channel.close()

    def _close_channels(self):
        for name in list(self._channels):
            self._drop_channel(name)

    def node(self, name):
        return self.stubs.herd_pb2_grpc.HerdNodeStub(self.channel(name))

    def health(self, name):
        return self.stubs.health_pb2_grpc.HealthStub(self.channel(name))

    def client(self, name, source_ip=None, timeout=DEFAULT_TIMEOUT):
        """A text client connected to a server's gateway."""
        sock = self.network.connect(self.server(name).gateway_address,
                                    timeout, source_ip)
        return TextClient(sock=sock, timeout=timeout)

    def location(self, name, client_id):
        """The Location a server holds for client_id, or None (NOT_FOUND)."""
        request = self.stubs.herd_pb2.GetLocationRequest(client_id=client_id)
        try:
            return self.node(name).GetLocation(request, timeout=5).location
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def status(self, name):
        return self.node(name).GetStatus(
            self.stubs.herd_pb2.GetStatusRequest(), timeout=5)

    def wait_for_location(self, client_id, names=None, where=None,
                          timeout=CONVERGE_TIMEOUT):
        """Polls until every named server (default: all) holds a Location for
        client_id for which where(location) is true; returns {name: Location}."""
        names = list(names or self.names)
        seen = {}

        def everywhere():
            for name in names:
                location = self.location(name, client_id)
                seen[name] = location
                if location is None or (where and not where(location)):
                    return False
            return dict(seen)

        try:
            return wait_until(everywhere, timeout=timeout,
                              what=f"{client_id} to reach {names}")
        except AssertionError as error:
            shown = {n: (text_format.MessageToString(l, as_one_line=True)
                         if l is not None else None) for n, l in seen.items()}
            raise AssertionError(f"{error}; holdings: {shown}") from None

    def peer_state(self, name, peer):
        for peer_status in self.status(name).peers:
            if peer_status.name == peer:
                return peer_status.state
        raise AssertionError(f"{name} reports no link to {peer}")

    def wait_for_peer_state(self, name, peer, states, timeout=CONVERGE_TIMEOUT):
        """Polls until server name reports its link to peer in one of
        states ({"UP", "SYNCING", "DOWN"})."""
        wait_until(lambda: self.peer_state(name, peer) in states,
                   timeout=timeout, what=f"{name}'s link to {peer} to be {states}")

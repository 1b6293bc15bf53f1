"""A private network for a herd, so a test can pull a server's cable.

Every server runs in its own network namespace, joined by a veth pair to one
bridge in a hub namespace; all namespaces are made by the test (names carry
its pid and a random tag, so parallel runs never collide) and deleted by
close(). A server's peer listener (grpc_address) is on 10.77.0.N, reached by
the other servers through the bridge; its gateway, operator and HTTP
listeners stay on 127.0.0.1 inside its own namespace: its clients are next to
it, and a cut separates servers from each other, not from their clients.

The test process stays in the root namespace. It reaches those listeners
through ns_relay.py, one per server namespace, which listens on Unix sockets
(a path is not namespaced) and connects on to the server's addresses.

Use it as a Herd's `network`: it adapts the herd file (prepare), starts each
server inside its namespace (command), and gives the harness connections
(connect, grpc_target). Needs root or CAP_NET_ADMIN; open() raises
NamespacesForbidden where `ip netns add` is refused.
"""

import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_herd import split_address

SUBNET = "10.77.0"
RELAY_SCRIPT = Path(__file__).with_name("ns_relay.py")
IP_TIMEOUT = 15.0
RELAY_READY_TIMEOUT = 15.0
RELAY_STOP_TIMEOUT = 5.0
BRIDGE = "herdbr"


class NamespacesForbidden(Exception):
    """This machine does not let the test make network namespaces."""


def ip(*args):
    """Runs `ip ARGS`; fails with the command and its stderr."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True,
                            timeout=IP_TIMEOUT, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed "
                           f"({result.returncode}): {result.stderr.strip()}")
    return result.stdout


class Relay:
    """ns_relay.py running in one namespace; {address: Unix socket path}."""

    def __init__(self, namespace, paths, stderr_path):
        self.paths = paths
        specs = [f"{path}={address}" for address, path in paths.items()]
        with open(stderr_path, "wb") as stderr:
            self._popen = subprocess.Popen(
                ["ip", "netns", "exec", namespace, sys.executable,
                 str(RELAY_SCRIPT), *specs],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        self._wait_ready(namespace, stderr_path)

    def _wait_ready(self, namespace, stderr_path):
        deadline = time.monotonic() + RELAY_READY_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self._popen.stdout], [], [],
                                           max(0.0, remaining))
            chunk = os.read(self._popen.stdout.fileno(), 64) if readable else b""
            if not chunk:
                self.stop()
                raise RuntimeError(
                    f"relay in {namespace} did not start within "
                    f"{RELAY_READY_TIMEOUT:g} s: "
                    f"{Path(stderr_path).read_text(errors='replace')[-2000:]}")
            line += chunk
        assert line == b"ready\n", f"relay in {namespace} said {line!r}"

    def stop(self):
        """Closes its stdin (it exits on that), kills it if it lingers."""
        if self._popen.stdin:
            self._popen.stdin.close()
        try:
            self._popen.wait(timeout=RELAY_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait(timeout=RELAY_STOP_TIMEOUT)
        self._popen.stdout.close()


class NamespaceNetwork:
    def __init__(self, workdir):
        self._workdir = Path(workdir)
        self._tag = f"herd{os.getpid()}-{secrets.token_hex(2)}"
        self.hub = f"{self._tag}-hub"
        self._made = []  # every namespace made, in order
        self._namespaces = {}  # server name -> namespace
        self._hub_ends = {}  # server name -> its veth's end in the hub
        self._relays = {}  # server name -> Relay
        # Short: a Unix socket path has at most 107 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="herd-ns-"))

    # --- the namespaces --------------------------------------------------
    def open(self):
        """Makes the hub namespace and its bridge."""
        try:
            ip("netns", "add", self.hub)
        except RuntimeError as error:
            raise NamespacesForbidden(str(error)) from None
        self._made.append(self.hub)
        ip("-n", self.hub, "link", "add", BRIDGE, "type", "bridge")
        ip("-n", self.hub, "link", "set", BRIDGE, "up")
        return self

    def _add_server(self, name, address):
        index = len(self._namespaces)
        namespace = f"{self._tag}-{name}"
        hub_end = f"v{index}-{name}"[:15]  # IFNAMSIZ
        ip("netns", "add", namespace)
        self._made.append(namespace)
        ip("-n", namespace, "link", "set", "lo", "up")
        ip("-n", self.hub, "link", "add", hub_end, "type", "veth",
           "peer", "name", "eth0", "netns", namespace)
        ip("-n", self.hub, "link", "set", hub_end, "master", BRIDGE, "up")
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        self._namespaces[name] = namespace
        self._hub_ends[name] = hub_end

    def cut(self, name):
        """Pulls the server's cable: its veth's end on the bridge goes down
        (its own end loses carrier); nothing crosses until heal()."""
        ip("-n", self.hub, "link", "set", self._hub_ends[name], "down")

    def heal(self, name):
        ip("-n", self.hub, "link", "set", self._hub_ends[name], "up")

    def close(self):
        """Stops the relays, deletes every namespace made (with them their
        veth pairs and the bridge), removes the sockets' directory; reports
        every failure after trying everything."""
        problems = []
        for relay in self._relays.values():
            relay.stop()
        self._relays.clear()
        for namespace in reversed(self._made):
            try:
                ip("netns", "del", namespace)
            except RuntimeError as error:
                problems.append(str(error))
        self._made.clear()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
        if problems:
            raise AssertionError("network namespaces were not all deleted:\n"
                                 + "\n".join(problems))

    # --- what Herd asks of a network ------------------------------------
    def prepare(self, config):
        """Puts every server of config in its namespace (made on first use)
        with its peer listener on 10.77.0.N, and (re)starts the relays to
        its listeners."""
        for relay in self._relays.values():
            relay.stop()
        self._relays.clear()
        for index, server in enumerate(config.servers, start=1):
            address = f"{SUBNET}.{index}"
            if server.name not in self._namespaces:
                self._add_server(server.name, address)
            _, port = split_address(server.grpc_address)
            server.grpc_address = f"{address}:{port}"
            listeners = (server.gateway_address, server.grpc_address,
                         server.operator_address, server.http_address)
            # Named by port (unique in the herd): no ":" in a gRPC target.
            paths = {listener: str(self._socket_dir /
                                   f"{split_address(listener)[1]}")
                     for listener in listeners if listener}
            self._relays[server.name] = Relay(
                self._namespaces[server.name], paths,
                self._workdir / f"relay-{server.name}.stderr")

    def command(self, name, argv):
        # `ip netns exec` execs argv itself: the pid the harness signals is
        # the server's.
        return ["ip", "netns", "exec", self._namespaces[name], *argv]

    def _path(self, address):
        for relay in self._relays.values():
            if address in relay.paths:
                return relay.paths[address]
        raise KeyError(f"no relay to {address}")

    def connect(self, address, timeout, source_ip=None):
        """A connection to a listener inside a namespace, made through its
        relay; raises ConnectionRefusedError if the listener refused."""
        if source_ip is not None:
            raise ValueError("a relayed connection has no choice of source IP")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self._path(address) + ".ack")
            if sock.recv(1) != b"+":
                raise ConnectionRefusedError(f"{address} refused the relay")
        except BaseException:
            sock.close()
            raise
        return sock

    def grpc_target(self, address):
        return f"unix:{self._path(address)}"

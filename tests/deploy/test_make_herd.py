"""deploy/make-herd.py: herd files for N servers.

The topology's promises are checked for every N up to 60 and a few larger
ones (at least two links each, connected without any one server, a diameter
of at most ceil(sqrt(N))); the generated file is read as herd.v1.HerdConfig
and served by the real herdnode, which validates it at start and answers an
IAMAT as the server it was started as."""

import collections
import importlib.util
import math
import signal
import subprocess
import sys

import pytest
from google.protobuf import text_format

from local_herd import tail
from polling import wait_until
from ports import free_ports
from stubs import REPO_ROOT
from text_client import TextClient

MAKE_HERD = REPO_ROOT / "deploy" / "make-herd.py"
SIZES = (*range(1, 61), 100, 300, 999)
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 15


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_herd", MAKE_HERD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_herd = _load_generator()


def _neighbours(n, gone=None):
    adjacent = collections.defaultdict(set)
    for a, b in make_herd.links(n):
        if gone not in (a, b):
            adjacent[a].add(b)
            adjacent[b].add(a)
    return adjacent


def _distances(adjacent, start):
    distance = {start: 0}
    queue = collections.deque([start])
    while queue:
        here = queue.popleft()
        for there in adjacent[here]:
            if there not in distance:
                distance[there] = distance[here] + 1
                queue.append(there)
    return distance


def _generate(*args):
    return subprocess.run([sys.executable, str(MAKE_HERD), *map(str, args)],
                          capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("n", SIZES)
def test_links_are_distinct_pairs_of_servers(n):
    links = make_herd.links(n)
    assert len(set(links)) == len(links)
    assert all(0 <= a < b < n for a, b in links)
    if n <= 2:
        assert links == ([] if n == 1 else [(0, 1)])
    else:  # the ring is there
        assert all((min(i, (i + 1) % n), max(i, (i + 1) % n)) in links
                   for i in range(n))


@pytest.mark.parametrize("n", [n for n in SIZES if n >= 3])
def test_every_server_has_two_to_four_links(n):
    adjacent = _neighbours(n)
    degrees = [len(adjacent[i]) for i in range(n)]
    assert min(degrees) >= 2 and max(degrees) <= 4, degrees


@pytest.mark.parametrize("n", [n for n in SIZES if n >= 3])
def test_the_herd_stays_connected_without_any_one_server(n):
    for gone in range(n):
        adjacent = _neighbours(n, gone)
        start = (gone + 1) % n
        reached = _distances(adjacent, start)
        assert len(reached) == n - 1, f"without server {gone}"


@pytest.mark.parametrize("n", SIZES)
def test_diameter_is_at_most_the_square_root(n):
    adjacent = _neighbours(n)
    diameter = max(max(_distances(adjacent, i).values()) for i in range(n))
    assert diameter <= math.ceil(math.sqrt(n)), diameter


def test_the_file_is_a_herd_of_n_named_servers(stubs):
    result = _generate("--servers", 30)
    assert result.returncode == 0, result.stderr
    config = stubs.config_pb2.HerdConfig()
    text_format.Parse(result.stdout, config)
    names = [server.name for server in config.servers]
    assert names == [f"herd-{i}" for i in range(30)]
    gateways = [server.gateway_address for server in config.servers]
    assert gateways == [f"127.0.0.1:{12001 + i}" for i in range(30)]
    assert len({server.grpc_address for server in config.servers}) == 30
    assert [(link.a, link.b) for link in config.links] == [
        (names[a], names[b]) for a, b in make_herd.links(30)]
    # The template's other sections are kept.
    assert config.log_directory == "logs"
    assert config.tls.cert_path == "certs/{name}.crt"
    assert config.durability.data_directory == "data"


def test_the_same_size_gives_the_same_file():
    first, second = _generate("--servers", 17), _generate("--servers", 17)
    assert first.returncode == 0 and first.stdout == second.stdout


@pytest.mark.parametrize("args, message", [
    (["--servers", 0], "--servers must be in [1, 999]"),
    (["--servers", 1000], "--servers must be in [1, 999]"),
])
def test_bad_sizes_are_refused_with_a_message(args, message):
    result = _generate(*args)
    assert result.returncode == 2 and message in result.stderr
    assert result.stdout == ""


def test_a_template_without_exactly_one_server_is_refused(tmp_path):
    template = tmp_path / "template.textproto"
    template.write_text('log_directory: "logs"\n')
    result = _generate("--servers", 3, "--template", template)
    assert result.returncode == 1
    assert "exactly one `servers { ... }` block" in result.stderr
    assert result.stdout == ""


def test_herdnode_serves_a_generated_herd_file(tmp_path, herdnode_bin):
    """Server herd-0 of a generated 12-server herd, on free ports (the
    template's bases are the free ports, so herd-0's are exactly them)."""
    gateway, peer, operator, http = free_ports(4)
    template = tmp_path / "template.textproto"
    template.write_text(
        "servers {\n"
        '  name: "herd-{i}"\n'
        f'  gateway_address: "127.0.0.1:{{port:{gateway}}}"\n'
        f'  grpc_address: "127.0.0.1:{{port:{peer}}}"\n'
        f'  operator_address: "127.0.0.1:{{port:{operator}}}"\n'
        f'  http_address: "127.0.0.1:{{port:{http}}}"\n'
        "}\n"
        f'log_directory: "{tmp_path / "logs"}"\n')
    herd_file = tmp_path / "herd.textproto"
    result = _generate("--servers", 12, "--template", template, "--out",
                       herd_file)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "herdnode.out"
    with output.open("w") as sink:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(herdnode_bin), "--config", str(herd_file), "--name", "herd-0",
             "--insecure"], stdout=sink, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=tmp_path)
    try:
        def listening():
            if process.poll() is not None:
                raise AssertionError(f"herdnode exited with {process.returncode}:"
                                     f"\n{tail(output)}")
            return "herdnode herd-0: gateway" in output.read_text()
        wait_until(listening, timeout=STARTUP_TIMEOUT,
                   what="herd-0 of the generated herd to listen")
        with TextClient("127.0.0.1", gateway) as client:
            reply = client.request(
                "IAMAT gen.test +34.068930-118.445127 1621464827.959498503")
        assert reply.startswith("AT herd-0 ")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)

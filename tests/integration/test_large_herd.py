"""A 30-server herd with the generated topology (deploy/make-herd.py), as
real processes on loopback: an IAMAT anywhere reaches all 30 with each link
crossed at most once in each direction, and under a steady load the herd
grows by 3 servers, loses 2 and changes its links live, losing nothing
acknowledged. Labelled "large": the sanitizer runs leave it out (they run
the same code in test_reload.py's five-server herd)."""

import signal
import subprocess
import sys

from google.protobuf import text_format

from at_line import parse_time_text, unique_client
from herd_load import SteadyLoad, wait_for_the_oracle
from polling import wait_until
from reports import newest, report
from stubs import REPO_ROOT

MAKE_HERD = REPO_ROOT / "deploy" / "make-herd.py"
SERVERS = 30
# Thirty servers start and link on two cores: more than five need.
START_TIMEOUT = 120


def generated(stubs, n):
    """make-herd.py's herd file for n servers (the default template)."""
    text = subprocess.run([sys.executable, str(MAKE_HERD), "--servers", str(n)],
                          capture_output=True, text=True, check=True,
                          timeout=30).stdout
    return text_format.Parse(text, stubs.config_pb2.HerdConfig())


def sent_counts(herd):
    """{(server, peer): updates sent on that link} over the whole herd."""
    return {(name, peer.name): peer.updates_sent
            for name in herd.names for peer in herd.status(name).peers}


def all_links_up(herd):
    for name in herd.names:
        expected = {peer for link in herd.config.links
                    for peer in (link.a, link.b)
                    if name in (link.a, link.b) and peer != name}
        states = {peer.name: peer.state for peer in herd.status(name).peers}
        if set(states) != expected or any(s != "UP" for s in states.values()):
            return False
    return True


def reshape(herd, n):
    """An edit for rewrite_config: make-herd.py's topology for n servers;
    the servers that stay keep their addresses, new ones get free ports."""
    target = generated(herd.stubs, n)

    def edit(config):
        kept = [s for s in config.servers if s.name in {t.name for t in target.servers}]
        del config.servers[:]
        config.servers.extend(kept)
        for server in target.servers:
            if server.name not in {s.name for s in kept}:
                herd.add_server(config, server.name)
        del config.links[:]
        config.links.extend(target.links)
    return edit


def reload_all(herd):
    for name in herd.names:
        herd.reload(name, timeout=60)


def test_thirty_servers_flood_everywhere_once_per_link(make_herd, stubs):
    herd = make_herd(base_config=generated(stubs, SERVERS))
    assert len(herd.names) == SERVERS
    wait_until(lambda: all_links_up(herd), timeout=START_TIMEOUT,
               what="every link of the 30-server herd to be UP")
    before = sent_counts(herd)
    client = unique_client("thirty")
    sent = report(herd, "herd-0", client)
    herd.wait_for_location(client, where=newest(sent), timeout=START_TIMEOUT)
    links = len(herd.config.links)

    # Each server forwards a new update to every link but the sender's, so
    # it crosses at least a spanning tree's links and at most every link
    # once each way; wait until what was sent has settled.
    def settled():
        after = sent_counts(herd)
        grown = sum(after.values()) - sum(before.values())
        return grown >= SERVERS - 1 and after
    after = wait_until(settled, timeout=60, what="the update's sends")
    for link, count in after.items():
        assert count - before.get(link, 0) <= 1, (link, count, before.get(link))
    assert sum(after.values()) - sum(before.values()) <= 2 * links


def test_thirty_servers_grow_shrink_and_relink_under_load(make_herd, stubs):
    herd = make_herd(base_config=generated(stubs, SERVERS))
    wait_until(lambda: all_links_up(herd), timeout=START_TIMEOUT,
               what="every link of the 30-server herd to be UP")
    load = SteadyLoad(herd, seed=30, clients=40).start()
    try:
        load.wait_for_progress(200, "before the herd changes")
        # Three servers join: the topology for 33 (new chords too).
        herd.rewrite_config(reshape(herd, SERVERS + 3))
        for name in ("herd-30", "herd-31", "herd-32"):
            herd.start_server(name)
        reload_all(herd)
        load.wait_for_progress(200, "with 33 servers")
        # Two leave: first their clients go elsewhere and what they
        # acknowledged reaches another server, then the file drops them
        # (the topology for 31).
        leaving = ("herd-31", "herd-32")
        for name in leaving:
            for client, nanos in load.avoid(name):
                herd.wait_for_location(
                    client, ["herd-0"],
                    where=lambda location, nanos=nanos:
                        parse_time_text(location.client_time_text) >= nanos)
        herd.rewrite_config(reshape(herd, SERVERS + 1))
        reload_all(herd)
        for name in leaving:
            herd.kill(name, signal.SIGTERM)
        load.wait_for_progress(200, "with 31 servers")
    finally:
        load.stop()
    wait_until(lambda: all_links_up(herd), timeout=START_TIMEOUT,
               what="every link of the 31-server herd to be UP")
    wait_for_the_oracle(herd, load, timeout=START_TIMEOUT)


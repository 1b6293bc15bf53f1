"""Durability: with a data directory, a node logs every accepted update
before it acknowledges it, so SIGKILLing nodes (one at a time under load,
or the whole herd at once) loses no acknowledged location.

"Acknowledged" is what a client can see: the AT reply to its IAMAT was read.
"""

import os
import random
import signal
import threading
import time

from at_line import AT_LINE, UCLA, iamat, parse_at_reply, parse_time_text, time_text, unique_client
from local_herd import CONVERGE_TIMEOUT
from polling import wait_until
from text_client import TextClient

# Every random choice comes from this seed (override to explore others);
# failure messages repeat it.
SEED = int(os.environ.get("HERD_DURABILITY_SEED", "1795563208"))


def with_durability(data_directory, **fields):
    """An edit_config for Herd: durability on, in data_directory."""
    def edit(config):
        config.durability.data_directory = str(data_directory)
        for field, value in fields.items():
            setattr(config.durability, field, value)
    return edit


class IncreasingClock:
    """Wall-clock nanoseconds, strictly increasing across threads, so every
    IAMAT is newer than every one sent before it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = 0

    def next(self):
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


def report(herd, server, client_id, clock):
    """One acknowledged IAMAT; returns its time stamp text."""
    sent = time_text(clock.next())
    with herd.client(server) as client:
        fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent)))
    assert (fields["server"], fields["client"], fields["time"]) == (
        server, client_id, sent)
    return sent


def test_whole_herd_sigkill_and_restart_keeps_every_acknowledged_location(
        make_herd, tmp_path):
    herd = make_herd(edit_config=with_durability(tmp_path / "data"))
    clock = IncreasingClock()
    acknowledged = {}  # client -> (server that acknowledged it, time text)
    for i in range(40):
        server = herd.names[i % len(herd.names)]
        client_id = unique_client(f"whole{i}")
        acknowledged[client_id] = (server, report(herd, server, client_id, clock))
    # A client reporting again: only the newest may survive.
    moved = next(iter(acknowledged))
    acknowledged[moved] = ("Powell", report(herd, "Powell", moved, clock))

    for name in herd.names:
        assert herd.kill(name, signal.SIGKILL) == -signal.SIGKILL

    # Each server alone, with no peer up to hand anything back: what it
    # acknowledged itself comes from its own disk.
    for name in herd.names:
        herd.restart(name)
        for client_id, (server, sent) in acknowledged.items():
            if server != name:
                continue
            location = herd.location(name, client_id)
            assert location is not None, f"{name} lost {client_id} {sent}"
            assert location.client_time_text == sent, (name, client_id)
        assert herd.kill(name, signal.SIGTERM) == 0

    for name in herd.names:
        herd.restart(name)
    for client_id, (_, sent) in acknowledged.items():
        herd.wait_for_location(
            client_id, where=lambda location, sent=sent:
            location.client_time_text == sent)


class SteadyLoad:
    """A client thread sending IAMATs to random servers of the herd, as fast
    as they answer, until stopped (bounded in count and time). It keeps the
    oracle: per client, the newest time stamp some server acknowledged."""

    MAX_REQUESTS = 50_000
    MAX_SECONDS = 240.0
    REQUEST_TIMEOUT = 5.0

    def __init__(self, herd, seed, clients=12):
        self._herd = herd
        self._random = random.Random(seed)
        self._clock = IncreasingClock()
        self._clients = [unique_client(f"load{i}") for i in range(clients)]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.oracle = {}  # client -> newest acknowledged nanoseconds
        self.sent = {c: set() for c in self._clients}  # every time text sent
        self.acknowledged = 0
        self.failed = 0
        self.crashed = None
        self._thread = threading.Thread(target=self._run, name="iamat-load")

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=self.REQUEST_TIMEOUT * 3)
        assert not self._thread.is_alive(), "the load thread did not stop"
        assert self.crashed is None, f"the load thread failed: {self.crashed!r}"

    def wait_for_progress(self, more, what):
        with self._lock:
            target = self.acknowledged + more
        wait_until(lambda: self.acknowledged >= target or self.crashed,
                   timeout=CONVERGE_TIMEOUT,
                   what=f"{more} more acknowledged IAMATs {what} (seed {SEED})")
        assert self.crashed is None, f"the load thread failed: {self.crashed!r}"

    def _run(self):
        connections = {}
        deadline = time.monotonic() + self.MAX_SECONDS
        try:
            for _ in range(self.MAX_REQUESTS):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                server = self._random.choice(self._herd.names)
                client_id = self._random.choice(self._clients)
                nanos = self._clock.next()
                sent = time_text(nanos)
                with self._lock:
                    self.sent[client_id].add(sent)
                try:
                    if server not in connections:
                        host, port = self._herd.gateway(server)
                        connections[server] = TextClient(
                            host, port, timeout=self.REQUEST_TIMEOUT)
                    reply = connections[server].request(
                        iamat(client_id, UCLA, sent))
                except (OSError, AssertionError):
                    # Down or killed mid-request: not acknowledged. Back off
                    # a little so a dead server is not spun on.
                    connection = connections.pop(server, None)
                    if connection is not None:
                        connection.close()
                    self.failed += 1
                    self._stop.wait(0.02)
                    continue
                match = AT_LINE.fullmatch(reply)
                if match is None or match["time"] != sent:
                    self.failed += 1  # "? ...": refused, not acknowledged
                    continue
                with self._lock:
                    self.oracle[client_id] = max(self.oracle.get(client_id, 0),
                                                 nanos)
                    self.acknowledged += 1
        except Exception as error:  # reported by stop() and wait_for_progress
            self.crashed = error
        finally:
            for connection in connections.values():
                connection.close()


def test_random_sigkills_under_load_lose_no_acknowledged_location(
        make_herd, tmp_path):
    chooser = random.Random(SEED)
    # Small snapshots, so crashes also land around snapshot writes.
    herd = make_herd(edit_config=with_durability(
        tmp_path / "data", snapshot_every_entries=40))
    load = SteadyLoad(herd, seed=chooser.random()).start()
    try:
        for round_number in range(4):
            load.wait_for_progress(30, f"before crash {round_number}")
            victim = chooser.choice(herd.names)
            assert herd.kill(victim, signal.SIGKILL) == -signal.SIGKILL
            load.wait_for_progress(10, f"while {victim} is down")
            herd.restart(victim)
        load.wait_for_progress(30, "after the last restart")
    finally:
        load.stop()
    assert load.oracle, "nothing was acknowledged"

    holdings = {}

    def every_node_holds_the_newest():
        for name in herd.names:
            for client_id, newest in load.oracle.items():
                location = herd.location(name, client_id)
                holdings[(name, client_id)] = (
                    location.client_time_text if location else None)
                if location is None or (
                        parse_time_text(location.client_time_text) < newest):
                    return False
        return True

    try:
        wait_until(every_node_holds_the_newest, timeout=2 * CONVERGE_TIMEOUT,
                   what="every node to hold every client's newest "
                        "acknowledged location")
    except AssertionError as error:
        behind = {key: held for key, held in holdings.items()
                  if held is None
                  or parse_time_text(held) < load.oracle[key[1]]}
        raise AssertionError(f"{error} (seed {SEED}); behind the oracle: "
                             f"{behind}") from None
    # What they hold is something a client sent (an update the reply to
    # which was lost in a crash may be newer than the oracle), and, once
    # flooding has settled, the same everywhere.
    for client_id in load.oracle:
        held = {holdings[(name, client_id)] for name in herd.names}
        assert held <= load.sent[client_id], (client_id, held)

    def agree():
        return all(len({herd.location(name, c).client_time_text
                        for name in herd.names}) == 1 for c in load.oracle)

    wait_until(agree, timeout=CONVERGE_TIMEOUT,
               what=f"every node to hold the same newest location (seed {SEED})")

"""Client load on a herd while faults happen, and the oracle it is judged by:
every node ends up holding, for every client, the newest location that any
node acknowledged.

"Acknowledged" is what a client can see: the AT reply to its IAMAT was read.
"""

import random
import threading
import time

from at_line import AT_LINE, UCLA, iamat, parse_time_text, time_text, unique_client
from local_herd import CONVERGE_TIMEOUT
from polling import wait_until


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


class SteadyLoad:
    """A client thread sending IAMATs to random servers of the herd, as fast
    as they answer (or one every `pause` seconds), until stopped (bounded in
    count and time). It keeps the oracle: per client, the newest time stamp
    some server acknowledged."""

    MAX_REQUESTS = 50_000
    MAX_SECONDS = 240.0
    REQUEST_TIMEOUT = 5.0

    def __init__(self, herd, seed, clients=12, pause=0.0, label=None):
        """label: how failure messages name this run (default: its seed)."""
        self._herd = herd
        self.label = label or f"seed {seed}"
        self._random = random.Random(seed)
        self._pause = pause
        self.clock = IncreasingClock()
        self._clients = [unique_client(f"load{i}") for i in range(clients)]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.oracle = {}  # client -> newest acknowledged nanoseconds
        self.sent = {c: set() for c in self._clients}  # every time text sent
        self.sent_to = {}  # time text -> the server it was sent to
        # (server, client, nanoseconds) of every acknowledged IAMAT, in order.
        self.acks = []
        self.acknowledged = 0
        self.failed = 0
        self.crashed = None
        self._avoided = set()  # servers no longer sent to
        self._rounds = 0  # requests begun
        self._thread = threading.Thread(target=self._run, name="iamat-load")

    def avoid(self, name):
        """Sends nothing more to server name (e.g. before it leaves the
        herd); returns once no request to it is in flight, with the
        (client, nanoseconds) it acknowledged."""
        with self._lock:
            self._avoided.add(name)
            started = self._rounds
        # The request in flight now (round `started`, to any server) has
        # ended, its acknowledgement recorded, once the next round begins;
        # that one already avoids name.
        wait_until(lambda: self._rounds > started or not self._thread.is_alive(),
                   timeout=3 * self.REQUEST_TIMEOUT,
                   what=f"the load's request in flight to end ({self.label})")
        with self._lock:
            return [(client, nanos) for server, client, nanos in self.acks
                    if server == name]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=self.REQUEST_TIMEOUT * 3)
        assert not self._thread.is_alive(), "the load thread did not stop"
        assert self.crashed is None, f"the load thread failed: {self.crashed!r}"

    def wait_for_progress(self, more, what, timeout=CONVERGE_TIMEOUT):
        with self._lock:
            target = self.acknowledged + more
        wait_until(lambda: self.acknowledged >= target or self.crashed,
                   timeout=timeout,
                   what=f"{more} more acknowledged IAMATs {what} "
                        f"({self.label})")
        assert self.crashed is None, f"the load thread failed: {self.crashed!r}"

    def _run(self):
        connections = {}
        deadline = time.monotonic() + self.MAX_SECONDS
        try:
            for _ in range(self.MAX_REQUESTS):
                if self._stop.wait(self._pause) or time.monotonic() > deadline:
                    return
                with self._lock:
                    self._rounds += 1
                    servers = [n for n in self._herd.names
                               if n not in self._avoided]
                server = self._random.choice(servers)
                client_id = self._random.choice(self._clients)
                nanos = self.clock.next()
                sent = time_text(nanos)
                with self._lock:
                    self.sent[client_id].add(sent)
                    self.sent_to[sent] = server
                try:
                    if server not in connections:
                        connections[server] = self._herd.client(
                            server, timeout=self.REQUEST_TIMEOUT)
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
                    self.acks.append((server, client_id, nanos))
                    self.acknowledged += 1
        except Exception as error:  # reported by stop() and wait_for_progress
            self.crashed = error
        finally:
            for connection in connections.values():
                connection.close()


def wait_for_the_oracle(herd, load, timeout=2 * CONVERGE_TIMEOUT):
    """Polls until every node holds, for every client of load's (stopped)
    oracle, its newest acknowledged location or a newer one a client sent
    (an update whose reply was lost may be newer than the oracle), and then
    until every node holds the same one."""
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
        wait_until(every_node_holds_the_newest, timeout=timeout,
                   what="every node to hold every client's newest "
                        "acknowledged location")
    except AssertionError as error:
        behind = {key: held for key, held in holdings.items()
                  if held is None
                  or parse_time_text(held) < load.oracle[key[1]]}
        raise AssertionError(f"{error} ({load.label}); behind the oracle: "
                             f"{behind}") from None
    for client_id in load.oracle:
        held = {holdings[(name, client_id)] for name in herd.names}
        assert held <= load.sent[client_id], (client_id, held)

    def agree():
        return all(len({herd.location(name, c).client_time_text
                        for name in herd.names}) == 1 for c in load.oracle)

    wait_until(agree, timeout=CONVERGE_TIMEOUT,
               what="every node to hold the same newest location "
                    f"({load.label})")

"""The proxy-herd text protocol for the Python baseline herds, without I/O.

Both Python baselines (Twisted and asyncio) feed lines in and write out what
comes back, so they differ only in their networking, which is what the
benchmark compares.
"""

import argparse
import json
import re
import time

_NUMBER = r"[+-]\d+(?:\.\d+)?"
_COORDINATES = re.compile(rf"({_NUMBER})({_NUMBER})\Z")
_CLIENT_TIME = re.compile(r"([+-]?)(\d+)(?:\.(\d{1,9}))?\Z")
_NANOS_PER_SECOND = 1_000_000_000

# Baselines do no places lookups: every WHATSAT gets this fixed result.
EMPTY_PLACES = '{"html_attributions":[],"results":[],"status":"ZERO_RESULTS"}'


def parse_client_time_ns(text):
    """POSIX seconds with up to nine fraction digits, as exact nanoseconds."""
    match = _CLIENT_TIME.match(text)
    if not match:
        return None
    sign, seconds, fraction = match.groups()
    nanos = int(seconds) * _NANOS_PER_SECOND + int((fraction or "").ljust(9, "0"))
    return -nanos if sign == "-" else nanos


def coordinates_valid(text):
    match = _COORDINATES.match(text)
    if not match:
        return False
    latitude, longitude = float(match.group(1)), float(match.group(2))
    return -90 <= latitude <= 90 and -180 <= longitude <= 180


def format_time_difference(nanos):
    sign = "-" if nanos < 0 else "+"
    seconds, fraction = divmod(abs(nanos), _NANOS_PER_SECOND)
    return f"{sign}{seconds}.{fraction:09d}"


def _whatsat_arguments_valid(radius_text, count_text):
    try:
        radius = float(radius_text)
        count = int(count_text)
    except ValueError:
        return False
    return 0 < radius <= 50 and 0 < count <= 20


def load_herd(path):
    """The herd file run.sh writes: {"servers": {name: {host, port,
    peer_port}}, "links": [[a, b], ...]}."""
    with open(path, encoding="utf-8") as herd_file:
        return json.load(herd_file)


def linked_peers(herd, name):
    peers = []
    for a, b in herd["links"]:
        if a == name:
            peers.append(b)
        elif b == name:
            peers.append(a)
    return peers


class HerdState:
    """One server's view: the latest AT line per client, by client time."""

    def __init__(self, name):
        self.name = name
        self._latest = {}  # client id -> (client time ns, AT line)

    def _remember(self, client, client_time_ns, at_line):
        """Keeps the report if it is strictly newer; True if it was."""
        known = self._latest.get(client)
        if known is not None and known[0] >= client_time_ns:
            return False
        self._latest[client] = (client_time_ns, at_line)
        return True

    def client_line(self, line):
        """Returns (reply text, AT line to flood or None)."""
        fields = line.split()
        if len(fields) == 4 and fields[0] == "IAMAT":
            return self._iamat(line, fields)
        if len(fields) == 4 and fields[0] == "WHATSAT":
            known = self._latest.get(fields[1])
            if known is not None and _whatsat_arguments_valid(fields[2], fields[3]):
                return f"{known[1]}\n{EMPTY_PLACES}\n\n", None
        return f"? {line}\n", None

    def _iamat(self, line, fields):
        _, client, coordinates, client_time = fields
        client_time_ns = parse_client_time_ns(client_time)
        if client_time_ns is None or not coordinates_valid(coordinates):
            return f"? {line}\n", None
        difference = format_time_difference(time.time_ns() - client_time_ns)
        at_line = f"AT {self.name} {difference} {client} {coordinates} {client_time}"
        flood = at_line if self._remember(client, client_time_ns, at_line) else None
        return at_line + "\n", flood

    def peer_line(self, line):
        """An AT line from a linked peer: the line to flood on, or None."""
        fields = line.split()
        if len(fields) != 6 or fields[0] != "AT":
            return None
        client_time_ns = parse_client_time_ns(fields[5])
        if client_time_ns is None or not coordinates_valid(fields[4]):
            return None
        at_line = " ".join(fields)
        return at_line if self._remember(fields[3], client_time_ns, at_line) else None


class FloodingServer:
    """What both Python baselines keep: the herd state, the linked peers and
    a way to write to each peer that is connected right now."""

    def __init__(self, herd, name, log):
        self.herd = herd
        self.name = name
        self.log = log
        self.state = HerdState(name)
        self.peers = linked_peers(herd, name)
        self.peer_writers = {}  # peer name -> write(bytes) while linked

    def flood(self, at_line, sender=None):
        """Sends an accepted update to every linked peer but its sender."""
        data = (at_line + "\n").encode()
        for peer, write in self.peer_writers.items():
            if peer != sender:
                write(data)
                self.log.write("out", peer, at_line)


class MessageLog:
    """Every message in and out, with a time stamp, as the protocol asks of
    each server. Buffered plain writes: what a careful baseline would do."""

    def __init__(self, path):
        self._file = open(path, "a", encoding="utf-8") if path else None

    def write(self, direction, peer, text):
        if self._file is not None:
            self._file.write(f"{time.time():.6f} {direction} {peer} {text.rstrip()}\n")

    def close(self):
        if self._file is not None:
            self._file.close()


def server_from_arguments(server_class, doc):
    """Parses --name NAME --herd FILE [--log FILE] and builds the server."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--herd", required=True, help="herd JSON from run.sh")
    parser.add_argument("--log", default="", help="message log file")
    args = parser.parse_args()
    herd = load_herd(args.herd)
    if args.name not in herd["servers"]:
        parser.error(f"--name {args.name} is not a server of {args.herd}")
    return server_class(herd, args.name, MessageLog(args.log))

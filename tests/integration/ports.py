"""Free loopback ports for herds started by tests and benchmarks.

Dependency-free, so bench/ (which may run under any python3) can use it too.
"""

import random
import socket
from pathlib import Path


def _ephemeral_port_floor():
    """The lowest port the kernel hands out to outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count):
    """count distinct ports that were free on 127.0.0.1 a moment ago.

    They are drawn at random from below the kernel's ephemeral range, so an
    outgoing connection (of this test or a parallel one) cannot take one
    between now and the server binding it, e.g. while a node restarts."""
    floor = max(_ephemeral_port_floor(), 10_001)
    chooser = random.Random()
    ports = []
    for _ in range(100 * count):  # bounded: each try is one bind
        if len(ports) == count:
            break
        port = chooser.randrange(10_000, floor)
        if port in ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    assert len(ports) == count, f"found only {len(ports)} free ports of {count}"
    return ports

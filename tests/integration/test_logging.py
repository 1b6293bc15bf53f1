"""Each server's log file records every message in and out, every client
connection opened and closed, and its peer links going up and down."""

import re
import signal

from at_line import UCLA, iamat, now_nanos, time_text, unique_client
from polling import wait_until

LOG_TIMEOUT = 15
OPENED = re.compile(r"(?i)connect|accept|open")
CLOSED = re.compile(r"(?i)disconnect|clos|drop|eof|hang|gone")
LINK_UP = re.compile(r"(?i)\bup\b")
LINK_DOWN = re.compile(r"(?i)\bdown\b")


def log_lines(herd, name):
    path = herd.log_path(name)
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def wait_for_log_line(herd, name, matches, what, after=-1):
    """Index of the first line after index `after` for which matches(line)."""
    def find():
        lines = log_lines(herd, name)
        for index in range(after + 1, len(lines)):
            if matches(lines[index]):
                return index + 1  # truthy even for line 0
        return None
    return wait_until(find, timeout=LOG_TIMEOUT,
                      what=f"{what} in {herd.log_path(name)}") - 1


def test_log_records_client_messages_and_connections(herd):
    line = iamat(unique_client(), UCLA, time_text(now_nanos()))
    with herd.client("Hamilton") as client:
        address = client.local_address
        reply = client.request(line)

    opened = wait_for_log_line(
        herd, "Hamilton",
        lambda l: address in l and OPENED.search(l) and not CLOSED.search(l),
        f"connection from {address} opened")
    wait_for_log_line(herd, "Hamilton", lambda l: line in l, f"{line!r} in")
    wait_for_log_line(herd, "Hamilton", lambda l: reply in l, f"{reply!r} out")
    wait_for_log_line(herd, "Hamilton",
                      lambda l: address in l and CLOSED.search(l),
                      f"connection from {address} closed", after=opened)


def test_log_records_peer_links_going_down_and_up(herd):
    def parker_event(pattern):
        return lambda l: "Parker" in l and pattern.search(l)

    first_up = wait_for_log_line(herd, "Hamilton", parker_event(LINK_UP),
                                 "link to Parker up")
    herd.kill("Parker")
    # A report Hamilton must forward makes it notice Parker is gone.
    with herd.client("Hamilton") as client:
        client.request(iamat(unique_client(), UCLA, time_text(now_nanos())))
    went_down = wait_for_log_line(herd, "Hamilton", parker_event(LINK_DOWN),
                                  "link to Parker down", after=first_up)
    herd.restart("Parker")
    wait_for_log_line(herd, "Hamilton", parker_event(LINK_UP),
                      "link to Parker up again", after=went_down)
    # Parker's own log, new run appended, shows its link to Hamilton.
    wait_for_log_line(herd, "Parker",
                      lambda l: "Hamilton" in l and LINK_UP.search(l),
                      "Parker's link to Hamilton up")


def test_log_timestamps_every_line(herd):
    with herd.client("Powell") as client:
        client.request("HELLO")
    wait_for_log_line(herd, "Powell", lambda l: "HELLO" in l, "HELLO in")
    stamp = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")
    lines = log_lines(herd, "Powell")
    assert lines and all(stamp.match(l) for l in lines), lines[:5]


def test_log_keeps_its_last_lines_at_a_clean_stop(herd):
    """SIGTERM: the connections the stop closes and the final "stopped"
    line are in the file by the time the process has exited (read at once,
    with no waiting: whatever was not written then is lost)."""
    with herd.client("Powell") as client:
        address = client.local_address
        client.request("HELLO")
        assert herd.kill("Powell", signal.SIGTERM) == 0
    lines = log_lines(herd, "Powell")
    assert any(address in l and "dropped: server stopping" in l
               for l in lines), lines[-5:]
    assert lines and "herdnode Powell stopped" in lines[-1], lines[-5:]

"""The text protocol's AT line and time stamps, re-derived independently of
the C++ code so the tests check it rather than echo it."""

import re
import time
import uuid

NANOS_PER_SECOND = 1_000_000_000

# AT <server> <sign><seconds>.<9 digits> <client> <coordinates> <client time>
AT_LINE = re.compile(
    r"AT (?P<server>\S+) (?P<diff>[+-]\d+\.\d{9}) (?P<client>\S+) "
    r"(?P<coords>\S+) (?P<time>\S+)")

UCLA = "+34.068930-118.445127"


def unique_client(prefix="kiwi"):
    """A client ID no other test (or earlier run) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}.cs.ucla.edu"


def time_text(total_nanos, fraction_digits=9):
    """POSIX time text with the given number of fraction digits (0: none)."""
    seconds, nanos = divmod(total_nanos, NANOS_PER_SECOND)
    if fraction_digits == 0:
        return str(seconds)
    return f"{seconds}.{nanos:09d}"[: len(str(seconds)) + 1 + fraction_digits]


def parse_time_text(text):
    """Exact nanoseconds of a non-negative POSIX time text."""
    seconds, _, fraction = text.partition(".")
    return int(seconds) * NANOS_PER_SECOND + int((fraction or "0").ljust(9, "0"))


def now_nanos():
    return time.time_ns()


def instant_nanos(instant):
    """herd.v1.Instant as exact nanoseconds."""
    return instant.seconds * NANOS_PER_SECOND + instant.nanos


def format_difference(nanos):
    """An AT line's time difference: explicit sign, '.', nine digits."""
    sign = "+" if nanos >= 0 else "-"
    seconds, fraction = divmod(abs(nanos), NANOS_PER_SECOND)
    return f"{sign}{seconds}.{fraction:09d}"


def difference_nanos(text):
    sign = -1 if text.startswith("-") else 1
    return sign * parse_time_text(text[1:])


def iamat(client, coords, client_time):
    return f"IAMAT {client} {coords} {client_time}"


def expected_at_line(server, diff, client, coords, client_time):
    return f"AT {server} {diff} {client} {coords} {client_time}"


def parse_at_reply(reply):
    """The named groups of an AT reply; fails with the reply if malformed."""
    match = AT_LINE.fullmatch(reply)
    assert match, f"not an AT line: {reply!r}"
    return match.groupdict()

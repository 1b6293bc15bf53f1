"""IAMAT end to end: the exact AT reply, and the report flooding to every
server of the herd (Bolden is two hops from Hamilton)."""

import math

from at_line import (UCLA, difference_nanos, expected_at_line,
                     format_difference, iamat, instant_nanos, now_nanos,
                     parse_at_reply, parse_time_text, time_text, unique_client)

# Allowance for the two processes reading the same wall clock at slightly
# different granularity; the server's reading must fall between ours.
CLOCK_SLACK_NANOS = 2_000_000


def send_iamat(client, line):
    """Sends an IAMAT and returns (reply, local clock before, after)."""
    before = now_nanos()
    reply = client.request(line)
    after = now_nanos()
    return reply, before, after


def check_at_reply(reply, server, client_id, coords, sent_time, before, after):
    fields = parse_at_reply(reply)
    assert reply == expected_at_line(server, fields["diff"], client_id, coords,
                                     sent_time)
    server_clock = parse_time_text(sent_time) + difference_nanos(fields["diff"])
    assert before - CLOCK_SLACK_NANOS <= server_clock <= after + CLOCK_SLACK_NANOS, (
        f"AT difference {fields['diff']} puts {server}'s clock outside "
        f"[{before}, {after}]")
    return fields["diff"]


def test_iamat_at_hamilton_answers_at_line_and_floods_to_all(herd):
    client_id = unique_client()
    # 1000.25 s ago: the difference must come out positive and about that.
    sent_time = time_text(now_nanos() - 1_000_250_000_000)
    with herd.client("Hamilton") as client:
        reply, before, after = send_iamat(client, iamat(client_id, UCLA, sent_time))
    diff = check_at_reply(reply, "Hamilton", client_id, UCLA, sent_time,
                          before, after)
    assert diff.startswith("+1000.") or diff.startswith("+1001."), diff

    held = herd.wait_for_location(client_id)
    origin = held["Hamilton"]
    for name, location in held.items():
        assert location == origin, f"{name} holds a different report"
    assert origin.client_id == client_id
    assert origin.coordinates_text == UCLA
    assert origin.client_time_text == sent_time
    assert instant_nanos(origin.client_time) == parse_time_text(sent_time)
    assert 0 <= origin.client_time.nanos < 1_000_000_000
    assert math.isclose(origin.latitude, 34.068930, abs_tol=1e-9)
    assert math.isclose(origin.longitude, -118.445127, abs_tol=1e-9)
    assert origin.origin_server == "Hamilton"
    # Every server can rebuild Hamilton's AT line byte for byte.
    assert format_difference(instant_nanos(origin.server_time)
                             - instant_nanos(origin.client_time)) == diff


def test_time_stamps_are_copied_exactly_whatever_their_precision(herd):
    now = now_nanos()
    cases = [
        # (client time text, sign of the difference)
        # A client clock ahead of the server's, within
        # max_client_time_ahead_seconds (default 300).
        (time_text(now + 60_000_000_000, fraction_digits=1), "-"),
        (time_text(now - 5_000_000_000, fraction_digits=0), "+"),
        (time_text(now - 7_000_000_000, fraction_digits=3), "+"),
        ("1621464827.959498503", "+"),
    ]
    coords = ["-33.8688+151.2093", "+0+0", "+90.0-180.0", "-90+180"]
    with herd.client("Alford") as client:
        for (sent_time, sign), where in zip(cases, coords):
            client_id = unique_client()
            reply, before, after = send_iamat(client, iamat(client_id, where, sent_time))
            diff = check_at_reply(reply, "Alford", client_id, where, sent_time,
                                  before, after)
            assert diff[0] == sign, reply
            location = herd.wait_for_location(client_id, ["Bolden"])["Bolden"]
            assert location.client_time_text == sent_time
            assert location.coordinates_text == where
            assert instant_nanos(location.client_time) == parse_time_text(sent_time)


def test_separators_and_crlf_are_accepted(herd):
    """Fields split on runs of spaces/tabs, edges trimmed, \\r\\n accepted;
    the reply uses single spaces and the client's fields unchanged."""
    client_id = unique_client()
    sent_time = time_text(now_nanos())
    with herd.client("Powell") as client:
        before = now_nanos()
        client.send_raw(f"  IAMAT \t{client_id}   {UCLA}\t{sent_time} \r\n".encode())
        reply = client.read_line()
        after = now_nanos()
    check_at_reply(reply, "Powell", client_id, UCLA, sent_time, before, after)


def test_pipelined_requests_are_answered_in_order(herd):
    """Many requests in one write: one reply each, in the order sent."""
    requests = []
    for index in range(40):
        if index % 5 == 4:
            requests.append((f"NOT-A-COMMAND {index}", None))
        else:
            client_id = unique_client(f"pipelined{index}")
            sent_time = time_text(now_nanos() - index * 1_000_000_000)
            requests.append((iamat(client_id, UCLA, sent_time),
                             (client_id, sent_time)))
    with herd.client("Bolden") as client:
        client.send_raw("".join(line + "\n" for line, _ in requests).encode())
        replies = client.read_lines(len(requests))
    for (line, expected), reply in zip(requests, replies):
        if expected is None:
            assert reply == "? " + line
        else:
            fields = parse_at_reply(reply)
            assert (fields["server"], fields["client"], fields["coords"],
                    fields["time"]) == ("Bolden", expected[0], UCLA, expected[1])

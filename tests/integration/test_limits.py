"""Gateway limits from the herd file: a client over a limit gets a one-line
error and is disconnected, and nobody else notices."""

from at_line import UCLA, iamat, now_nanos, parse_at_reply, time_text, unique_client

MAX_LINE_BYTES = 1024
IDLE_SECONDS = 1


def set_limits(config):
    config.gateway_limits.max_line_bytes = MAX_LINE_BYTES
    config.gateway_limits.idle_timeout_seconds = IDLE_SECONDS


def assert_serves(client, server):
    client_id = unique_client()
    sent_time = time_text(now_nanos())
    fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent_time)))
    assert (fields["server"], fields["client"], fields["time"]) == (
        server, client_id, sent_time)


def test_overlong_line_gets_error_and_close_others_unaffected(make_herd):
    herd = make_herd(edit_config=set_limits)
    with herd.client("Parker") as bystander, herd.client("Parker") as offender:
        # A line exactly at the limit is still a line (invalid, but answered).
        at_limit = "X" * MAX_LINE_BYTES
        assert offender.request(at_limit) == "? " + at_limit
        offender.send_raw(b"IAMAT " + b"x" * (4 * MAX_LINE_BYTES) + b"\n")
        received = offender.wait_closed()
        lines = received.decode(errors="replace").splitlines()
        assert len(lines) == 1 and lines[0].strip(), (
            f"expected one error line before the close, got {received[:200]!r}")
        assert_serves(bystander, "Parker")
    with herd.client("Parker") as newcomer:
        assert_serves(newcomer, "Parker")


def test_idle_connection_is_closed(make_herd):
    herd = make_herd(edit_config=set_limits)
    with herd.client("Powell") as idle:
        assert_serves(idle, "Powell")
        idle.send_raw(b"IAMAT half a line")  # never completed
        idle.wait_closed(timeout=IDLE_SECONDS + 15)
    # A fresh connection (any other would have idled out too) is served.
    with herd.client("Powell") as fresh:
        assert_serves(fresh, "Powell")

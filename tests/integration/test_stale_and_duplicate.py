"""An older or equal time stamp never replaces a newer report, anywhere."""

from at_line import (UCLA, iamat, now_nanos, parse_at_reply, time_text,
                     unique_client)

NEWER_COORDS = UCLA
OTHER_COORDS = "+48.8566+2.3522"


def report_and_wait_everywhere(herd, server, client_id, coords, sent_time):
    with herd.client(server) as client:
        fields = parse_at_reply(client.request(iamat(client_id, coords, sent_time)))
    assert fields["server"] == server
    return herd.wait_for_location(
        client_id, where=lambda loc: loc.client_time_text == sent_time)


def test_stale_and_duplicate_iamat_are_answered_but_change_nothing(herd):
    client_id = unique_client()
    newer = now_nanos()
    newer_time = time_text(newer)
    held = report_and_wait_everywhere(herd, "Hamilton", client_id,
                                      NEWER_COORDS, newer_time)
    original = held["Hamilton"]
    before = {name: herd.status(name) for name in herd.names}

    stale_time = time_text(newer - 10_000_000_000)
    attempts = [("Alford", stale_time), ("Bolden", newer_time)]  # stale, equal
    for server, sent_time in attempts:
        with herd.client(server) as client:
            reply = client.request(iamat(client_id, OTHER_COORDS, sent_time))
        # The reply describes the report as sent, even though it lost.
        fields = parse_at_reply(reply)
        assert (fields["server"], fields["client"], fields["coords"],
                fields["time"]) == (server, client_id, OTHER_COORDS, sent_time)

    # A barrier: later reports from the same two servers have flooded
    # everywhere, so anything the losing reports might have sent has too.
    for server in ("Alford", "Bolden"):
        report_and_wait_everywhere(herd, server, unique_client("barrier"),
                                   UCLA, time_text(now_nanos()))

    for name in herd.names:
        assert herd.location(name, client_id) == original, (
            f"{name} replaced the newer report")
    after = {name: herd.status(name) for name in herd.names}
    assert after["Alford"].updates_stale > before["Alford"].updates_stale
    assert after["Bolden"].updates_duplicate > before["Bolden"].updates_duplicate


def test_report_location_says_what_happened(herd, stubs):
    """The gRPC call behind IAMAT reports each outcome."""
    herd_pb2 = stubs.herd_pb2
    client_id = unique_client()
    first = now_nanos()

    def report(server, sent_time, coords=UCLA):
        return herd.node(server).ReportLocation(herd_pb2.ReportLocationRequest(
            client_id=client_id, coordinates_text=coords,
            client_time_text=sent_time), timeout=5)

    accepted = report("Powell", time_text(first))
    assert accepted.outcome == herd_pb2.UPDATE_OUTCOME_ACCEPTED
    assert accepted.location.origin_server == "Powell"
    herd.wait_for_location(client_id,
                           where=lambda loc: loc.origin_server == "Powell")

    stale = report("Parker", time_text(first - 1), OTHER_COORDS)
    assert stale.outcome == herd_pb2.UPDATE_OUTCOME_STALE
    assert stale.location.origin_server == "Parker"
    assert stale.location.coordinates_text == OTHER_COORDS

    duplicate = report("Hamilton", time_text(first), OTHER_COORDS)
    assert duplicate.outcome == herd_pb2.UPDATE_OUTCOME_DUPLICATE

    # One nanosecond newer wins everywhere.
    newest = report("Hamilton", time_text(first + 1), OTHER_COORDS)
    assert newest.outcome == herd_pb2.UPDATE_OUTCOME_ACCEPTED
    herd.wait_for_location(
        client_id, where=lambda loc: loc.origin_server == "Hamilton"
        and loc.coordinates_text == OTHER_COORDS)

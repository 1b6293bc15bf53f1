"""Client reports (IAMAT) the way the end-to-end tests make them, and the
check that a stored location is the one a report made."""

from at_line import UCLA, iamat, now_nanos, parse_at_reply, time_text


def report(herd, server, client_id):
    """IAMAT for client_id at server, now; checks the AT reply and returns
    the client time text sent."""
    sent_time = time_text(now_nanos())
    with herd.client(server) as client:
        fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent_time)))
    assert (fields["server"], fields["client"], fields["time"]) == (
        server, client_id, sent_time)
    return sent_time


def newest(sent_time):
    """A Location predicate: it holds the report sent at sent_time."""
    return lambda location: location.client_time_text == sent_time

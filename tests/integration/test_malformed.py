"""Anything that is not a valid command gets "? " + the line as received,
and the connection stays usable."""

from at_line import UCLA, iamat, now_nanos, parse_at_reply, time_text, unique_client

KNOWN = "known.client"
GOOD_TIME = "1621464827.959498503"


def malformed_lines():
    """Fifty invalid lines of many kinds (WHATSAT ones name a known client,
    so only the out-of-range field makes them invalid)."""
    empty_ish = ["", " ", "\t", "   \t  "]
    unknown_commands = ["HELLO", "GET / HTTP/1.1", "IAMATX kiwi +1+1 1",
                        "WHATSIT known.client 10 5", "AT", "?", "IAMA T kiwi"]
    field_counts = [
        "IAMAT", "IAMAT kiwi", f"IAMAT kiwi {UCLA}",
        f"IAMAT kiwi {UCLA} {GOOD_TIME} extra", f"IAMAT\tkiwi\t{UCLA}",
        "WHATSAT", f"WHATSAT {KNOWN}", f"WHATSAT {KNOWN} 10",
        f"WHATSAT {KNOWN} 10 5 extra",
    ]
    coordinates = ["+91.0+0.0", "-90.000001+0", "+0+180.5", "+0-181",
                   "34.068930-118.445127", "+34.068930", "+34.068930-",
                   "+34.0x-118.0", "++34-118", "+34-118-1", "+-34+118",
                   "+34.06893O-118.445127", "+nan+0", "+inf-inf"]
    bad_coordinates = [f"IAMAT kiwi {c} {GOOD_TIME}" for c in coordinates]
    times = ["abc", "1e9", "inf", "nan", "1621464827.1234567890",
             "0x10", "1621464827.5.5", "1621464827,5", "12:00", "+-1"]
    bad_times = [f"IAMAT kiwi {UCLA} {t}" for t in times]
    whatsat_ranges = [f"WHATSAT {KNOWN} {r} {n}" for r, n in [
        ("0", "5"), ("51", "5"), ("-1", "5"), ("10", "0"), ("10", "21"),
        ("10", "-3")]]
    lines = (empty_ish + unknown_commands + field_counts + bad_coordinates
             + bad_times + whatsat_ranges)
    assert len(lines) == 50 and len(set(lines)) == 50
    return lines


def test_fifty_malformed_lines_each_get_question_mark_and_copy(herd):
    with herd.client("Hamilton") as client:
        known = parse_at_reply(client.request(iamat(KNOWN, UCLA, time_text(now_nanos()))))
        assert known["client"] == KNOWN
        herd.wait_for_location(KNOWN, ["Hamilton"])

        lines = malformed_lines()
        client.send_raw("".join(line + "\n" for line in lines).encode())
        replies = client.read_lines(len(lines))
        wrong = [(line, reply) for line, reply in zip(lines, replies)
                 if reply != "? " + line]
        assert not wrong, f"{len(wrong)} of 50 got the wrong reply: {wrong}"

        # Still usable afterwards.
        client_id = unique_client()
        sent_time = time_text(now_nanos())
        fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent_time)))
        assert (fields["server"], fields["client"], fields["time"]) == (
            "Hamilton", client_id, sent_time)
    # None of the invalid IAMATs stored anything.
    assert herd.location("Hamilton", "kiwi") is None


def test_whatsat_for_unknown_client_gets_question_mark(herd):
    line = f"WHATSAT {unique_client('nobody')} 10 5"
    with herd.client("Bolden") as client:
        assert client.request(line) == "? " + line
        # And the connection is still usable.
        assert client.request(line) == "? " + line

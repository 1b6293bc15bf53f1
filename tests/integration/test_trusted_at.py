"""AT lines rewrite where a client is, so a gateway takes them only from the
IP addresses in its trusted_peer_addresses."""

from at_line import (UCLA, difference_nanos, expected_at_line, iamat,
                     instant_nanos, now_nanos, parse_time_text, time_text,
                     unique_client)

TRUSTED_IP = "127.0.0.2"
# Only Hamilton trusts 127.0.0.2; no server trusts 127.0.0.1.
TRUSTED = {"Hamilton": [TRUSTED_IP]}


def forged_at_line(client_id):
    sent_time = time_text(now_nanos() - 2_000_000_000)
    return expected_at_line("Alford", "+0.500000000", client_id,
                            "-33.8688+151.2093", sent_time)


def barrier(herd, server):
    """A valid report from `server` has reached every server."""
    client_id = unique_client("barrier")
    sent_time = time_text(now_nanos())
    with herd.client(server) as client:
        assert client.request(iamat(client_id, UCLA, sent_time)).startswith("AT ")
    herd.wait_for_location(client_id)


def test_at_from_untrusted_address_is_refused_and_changes_nothing(make_herd):
    herd = make_herd(trusted_peers=TRUSTED)
    client_id = unique_client("forged")
    line = forged_at_line(client_id)
    with herd.client("Hamilton") as client:  # from 127.0.0.1
        assert client.request(line) == "? " + line
    # Alford trusts nobody, not even the address Hamilton trusts.
    with herd.client("Alford", source_ip=TRUSTED_IP) as client:
        assert client.request(line) == "? " + line
    barrier(herd, "Hamilton")
    barrier(herd, "Alford")
    for name in herd.names:
        assert herd.location(name, client_id) is None, f"{name} took a forged AT"


def test_at_from_trusted_address_is_accepted_and_floods(make_herd):
    herd = make_herd(trusted_peers=TRUSTED)
    client_id = unique_client("relayed")
    line = forged_at_line(client_id)
    with herd.client("Hamilton", source_ip=TRUSTED_IP) as client:
        assert client.local_address.startswith(TRUSTED_IP + ":")
        client.send_line(line)
        # Whatever a trusted AT is answered with (possibly nothing), it is
        # not an error: the next line's "?" reply must come first or next.
        client.send_line("PING")
        for _ in range(2):
            reply = client.read_line()
            assert reply != "? " + line, "a trusted AT was refused"
            if reply == "? PING":
                break
        else:
            raise AssertionError("no reply to PING after the AT line")

    held = herd.wait_for_location(client_id)
    _, _, diff, _, coords, sent_time = line.split(" ")
    for name, location in held.items():
        assert location.origin_server == "Alford", name
        assert location.coordinates_text == coords
        assert location.client_time_text == sent_time
        assert instant_nanos(location.client_time) == parse_time_text(sent_time)
        assert (instant_nanos(location.server_time)
                == parse_time_text(sent_time) + difference_nanos(diff))

"""WHATSAT: the stored AT line (made by the server that got the IAMAT), then
a Places-shaped JSON document, then a blank line."""

import json
import math

from at_line import UCLA, iamat, now_nanos, parse_at_reply, time_text, unique_client

EARTH_RADIUS_KM = 6371.0088
# Allowance for the provider's choice of earth model.
DISTANCE_SLACK = 1.005


def great_circle_km(lat1, lng1, lat2, lng2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def test_whatsat_two_hops_away_returns_stored_at_line_and_places(herd):
    client_id = unique_client()
    with herd.client("Hamilton") as client:
        at_line = client.request(iamat(client_id, UCLA, time_text(now_nanos())))
    parse_at_reply(at_line)
    herd.wait_for_location(client_id, ["Bolden"])

    radius_km, limit = 10, 5
    with herd.client("Bolden") as client:
        client.send_line(f"WHATSAT {client_id} {radius_km} {limit}")
        assert client.read_line() == at_line
        body = json.loads("\n".join(client.read_until_blank_line()))
        # The connection stays usable after a WHATSAT.
        assert client.request("PING") == "? PING"
    assert body["status"] == "OK"
    assert body["html_attributions"] == []
    results = body["results"]
    assert 0 < len(results) <= limit, "no places around UCLA within 10 km"
    distances = []
    for place in results:
        location = place["geometry"]["location"]
        assert place["name"]
        distance = great_circle_km(34.068930, -118.445127,
                                   location["lat"], location["lng"])
        assert distance <= radius_km * DISTANCE_SLACK, place
        distances.append(distance)
    assert distances == sorted(distances), "places are not nearest first"


def test_whatsat_in_the_middle_of_nowhere_has_no_results(herd):
    client_id = unique_client("ship")
    with herd.client("Powell") as client:
        parse_at_reply(client.request(
            iamat(client_id, "-48.8767-123.3933", time_text(now_nanos()))))
        client.send_line(f"WHATSAT {client_id} 50 20")
        assert client.read_line().startswith("AT Powell ")
        body = json.loads("\n".join(client.read_until_blank_line()))
    assert body["results"] == []


def test_whatsat_pipelined_behind_its_iamat_sees_it(herd):
    """One write with IAMAT then WHATSAT for the same new client, as
    `printf 'IAMAT ...\\nWHATSAT ...\\n' | nc` sends them: the WHATSAT must
    see the location the IAMAT before it reported, every time."""
    with herd.client("Alford") as client:
        for _ in range(20):
            client_id = unique_client("pipelined")
            client.send_raw((iamat(client_id, UCLA, time_text(now_nanos())) +
                             f"\nWHATSAT {client_id} 10 3\n").encode())
            at_line = client.read_line()
            parse_at_reply(at_line)
            assert client.read_line() == at_line, "WHATSAT did not see the IAMAT"
            body = json.loads("\n".join(client.read_until_blank_line()))
            assert body["status"] == "OK"

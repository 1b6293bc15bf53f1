"""Parker is the herd's hub: killing it splits Hamilton off, and restarting
it must heal every link and catch everyone up, with nothing else restarted."""

import signal

from at_line import unique_client
from polling import wait_until
from reports import newest, report

REST_OF_HERD = ["Alford", "Bolden", "Powell"]


def wait_peer_state(herd, server, peer, states):
    wait_until(lambda: herd.peer_state(server, peer) in states, timeout=30,
               what=f"{server}'s link to {peer} to be {states}")


def test_herd_survives_parker_crash_and_heals_on_restart(herd):
    before_crash = unique_client("before")
    before_time = report(herd, "Hamilton", before_crash)
    herd.wait_for_location(before_crash, where=newest(before_time))

    assert herd.kill("Parker", signal.SIGKILL) == -signal.SIGKILL

    # The rest of the herd still serves and floods: Alford reaches Bolden
    # through Powell, and the other way round.
    at_alford = unique_client("alford")
    at_alford_time = report(herd, "Alford", at_alford)
    herd.wait_for_location(at_alford, REST_OF_HERD, newest(at_alford_time))
    at_bolden = unique_client("bolden")
    at_bolden_time = report(herd, "Bolden", at_bolden)
    herd.wait_for_location(at_bolden, REST_OF_HERD, newest(at_bolden_time))

    # Hamilton, now alone, still answers its own clients.
    at_hamilton = unique_client("hamilton")
    at_hamilton_time = report(herd, "Hamilton", at_hamilton)
    herd.wait_for_location(at_hamilton, ["Hamilton"], newest(at_hamilton_time))
    wait_peer_state(herd, "Hamilton", "Parker", {"DOWN", "SYNCING"})

    herd.restart("Parker")

    # Parker (which recovers from its own disk only what it had accepted
    # before the crash) catches up on the rest, and what only Hamilton knew
    # reaches the rest through Parker.
    herd.wait_for_location(before_crash, where=newest(before_time))
    herd.wait_for_location(at_alford, where=newest(at_alford_time))
    herd.wait_for_location(at_bolden, where=newest(at_bolden_time))
    herd.wait_for_location(at_hamilton, where=newest(at_hamilton_time))

    for server in ("Alford", "Bolden", "Hamilton"):
        wait_peer_state(herd, server, "Parker", {"UP"})
    for peer in ("Alford", "Bolden", "Hamilton"):
        wait_peer_state(herd, "Parker", peer, {"UP"})

    # Live flooding through the restarted Parker: Hamilton to Bolden.
    after_restart = unique_client("after")
    after_time = report(herd, "Hamilton", after_restart)
    herd.wait_for_location(after_restart, where=newest(after_time))


def test_sigint_and_sigterm_stop_a_node_cleanly(herd):
    assert herd.kill("Powell", signal.SIGINT) == 0
    assert herd.kill("Alford", signal.SIGTERM) == 0
    # The others carry on: Bolden still reaches Alford's and Powell's
    # neighbours through Parker.
    client_id = unique_client()
    sent_time = report(herd, "Bolden", client_id)
    herd.wait_for_location(client_id, ["Bolden", "Parker", "Hamilton"],
                           newest(sent_time))

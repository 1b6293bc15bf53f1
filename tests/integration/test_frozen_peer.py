"""A frozen node (SIGSTOP) keeps its sockets open: its peers get no error on
any read or write, and only the links' keepalive pings going unanswered show
that it is gone. Its peers must take their links to it out of UP within a
bounded time and keep flooding around it; once it runs again (SIGCONT) the
links come back UP by themselves and catch-up brings it, and through it the
herd, everything it missed."""

import signal

from at_line import unique_client
from polling import wait_until
from reports import newest, report

FROZEN = "Parker"
ITS_PEERS = ("Alford", "Bolden", "Hamilton")
# Keepalive: a ping after 2 s, given up after 3 s more (herdnode/mesh/peer_link.h).
# Generous room on top for a loaded machine; the old 30 s + 10 s keepalive
# would not fit.
NOTICE_TIMEOUT = 30.0
NOT_UP = {"DOWN", "SYNCING"}


def wait_links(herd, pairs, states, timeout=NOTICE_TIMEOUT):
    for server, peer in pairs:
        wait_until(lambda s=server, p=peer: herd.peer_state(s, p) in states,
                   timeout=timeout,
                   what=f"{server}'s link to {peer} to be one of {sorted(states)}")


def test_frozen_peer_is_noticed_then_caught_up(herd):
    before = unique_client("before")
    before_time = report(herd, "Hamilton", before)
    herd.wait_for_location(before, where=newest(before_time))
    wait_links(herd, [(p, FROZEN) for p in ITS_PEERS], {"UP"})

    frozen = herd.process(FROZEN).popen
    frozen.send_signal(signal.SIGSTOP)
    try:
        # Nothing is sent to Parker meanwhile: the pings alone must tell.
        wait_links(herd, [(p, FROZEN) for p in ITS_PEERS], NOT_UP)
        # Flooding goes on around it: Bolden reaches Alford through Powell.
        at_bolden = unique_client("bolden")
        at_bolden_time = report(herd, "Bolden", at_bolden)
        herd.wait_for_location(at_bolden, ["Alford", "Bolden", "Powell"],
                               newest(at_bolden_time))
        # Hamilton, cut off, still answers its own clients.
        at_hamilton = unique_client("hamilton")
        at_hamilton_time = report(herd, "Hamilton", at_hamilton)
    finally:
        frozen.send_signal(signal.SIGCONT)

    # Back: every link comes UP again, Parker learns both updates, and what
    # only Hamilton knew reaches the rest through it (and the other way).
    herd.wait_for_location(at_bolden, where=newest(at_bolden_time))
    herd.wait_for_location(at_hamilton, where=newest(at_hamilton_time))
    pairs = [(p, FROZEN) for p in ITS_PEERS] + [(FROZEN, p) for p in ITS_PEERS]
    wait_links(herd, pairs, {"UP"})

    # Live flooding through Parker works again.
    after = unique_client("after")
    after_time = report(herd, "Hamilton", after)
    herd.wait_for_location(after, where=newest(after_time))

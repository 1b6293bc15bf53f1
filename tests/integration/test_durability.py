"""Durability: with a data directory, a node logs every accepted update
before it acknowledges it, so SIGKILLing nodes (one at a time under load,
or the whole herd at once) loses no acknowledged location.

"Acknowledged" is what a client can see: the AT reply to its IAMAT was read.
"""

import os
import random
import signal

from at_line import UCLA, iamat, parse_at_reply, time_text, unique_client
from herd_load import IncreasingClock, SteadyLoad, wait_for_the_oracle

# Every random choice comes from this seed (override to explore others);
# failure messages repeat it.
SEED = int(os.environ.get("HERD_DURABILITY_SEED", "1795563208"))


def with_durability(data_directory, **fields):
    """An edit_config for Herd: durability on, in data_directory."""
    def edit(config):
        config.durability.data_directory = str(data_directory)
        for field, value in fields.items():
            setattr(config.durability, field, value)
    return edit


def report(herd, server, client_id, clock):
    """One acknowledged IAMAT; returns its time stamp text."""
    sent = time_text(clock.next())
    with herd.client(server) as client:
        fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent)))
    assert (fields["server"], fields["client"], fields["time"]) == (
        server, client_id, sent)
    return sent


def test_whole_herd_sigkill_and_restart_keeps_every_acknowledged_location(
        make_herd, tmp_path):
    herd = make_herd(edit_config=with_durability(tmp_path / "data"))
    clock = IncreasingClock()
    acknowledged = {}  # client -> (server that acknowledged it, time text)
    for i in range(40):
        server = herd.names[i % len(herd.names)]
        client_id = unique_client(f"whole{i}")
        acknowledged[client_id] = (server, report(herd, server, client_id, clock))
    # A client reporting again: only the newest may survive.
    moved = next(iter(acknowledged))
    acknowledged[moved] = ("Powell", report(herd, "Powell", moved, clock))

    for name in herd.names:
        assert herd.kill(name, signal.SIGKILL) == -signal.SIGKILL

    # Each server alone, with no peer up to hand anything back: what it
    # acknowledged itself comes from its own disk.
    for name in herd.names:
        herd.restart(name)
        for client_id, (server, sent) in acknowledged.items():
            if server != name:
                continue
            location = herd.location(name, client_id)
            assert location is not None, f"{name} lost {client_id} {sent}"
            assert location.client_time_text == sent, (name, client_id)
        assert herd.kill(name, signal.SIGTERM) == 0

    for name in herd.names:
        herd.restart(name)
    for client_id, (_, sent) in acknowledged.items():
        herd.wait_for_location(
            client_id, where=lambda location, sent=sent:
            location.client_time_text == sent)


def test_random_sigkills_under_load_lose_no_acknowledged_location(
        make_herd, tmp_path):
    chooser = random.Random(SEED)
    # Small snapshots, so crashes also land around snapshot writes.
    herd = make_herd(edit_config=with_durability(
        tmp_path / "data", snapshot_every_entries=40))
    load = SteadyLoad(herd, seed=chooser.random(), label=f"seed {SEED}").start()
    try:
        for round_number in range(4):
            load.wait_for_progress(30, f"before crash {round_number}")
            victim = chooser.choice(herd.names)
            assert herd.kill(victim, signal.SIGKILL) == -signal.SIGKILL
            load.wait_for_progress(10, f"while {victim} is down")
            herd.restart(victim)
        load.wait_for_progress(30, "after the last restart")
    finally:
        load.stop()
    wait_for_the_oracle(herd, load)

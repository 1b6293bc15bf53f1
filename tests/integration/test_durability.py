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


def newest_segment(data_directory, name):
    segments = sorted((data_directory / name).glob("log.*"))
    assert segments, f"no log segment in {data_directory / name}"
    return segments[-1]


def first_record_cut_short(segment):
    """The bytes a crash in the middle of appending this segment's first
    record again would leave: all of it but its last 5 bytes (see
    herdnode/durable/record_format.h: a 24-byte file header, then length u32 |
    CRC-32C u32 | payload)."""
    data = segment.read_bytes()
    header, overhead = 24, 8
    assert len(data) >= header + overhead, f"{segment} holds no record"
    length = int.from_bytes(data[header:header + 4], "little")
    record = data[header:header + overhead + length]
    assert len(record) == overhead + length, f"{segment}: first record cut"
    return record[:-5]


def test_torn_tail_after_sigkill_is_dropped_and_the_log_goes_on(
        make_herd, tmp_path):
    data = tmp_path / "data"
    herd = make_herd(edit_config=with_durability(data))
    clock = IncreasingClock()
    acknowledged = {}
    for i in range(10):
        client_id = unique_client(f"torn{i}")
        acknowledged[client_id] = report(herd, "Powell", client_id, clock)
    # Everyone down, so that what Powell holds next can only come from its
    # own disk.
    for name in herd.names:
        assert herd.kill(name, signal.SIGKILL) == -signal.SIGKILL
    segment = newest_segment(data, "Powell")
    torn = first_record_cut_short(segment)
    with segment.open("ab") as file:
        file.write(torn)

    def powell_holds_everything_acknowledged():
        for client_id, sent in acknowledged.items():
            location = herd.location("Powell", client_id)
            assert location is not None, f"Powell lost {client_id} {sent}"
            assert location.client_time_text == sent, client_id

    herd.restart("Powell")
    log = herd.log_path("Powell").read_text(errors="replace")
    assert f"dropping a torn tail of {len(torn)} bytes" in log
    powell_holds_everything_acknowledged()

    # The tail was cut before anything new was appended: a report after the
    # recovery survives the next crash, and that recovery finds no damage.
    later = unique_client("after-torn")
    acknowledged[later] = report(herd, "Powell", later, clock)
    assert herd.kill("Powell", signal.SIGKILL) == -signal.SIGKILL
    herd.restart("Powell")
    powell_holds_everything_acknowledged()
    log = herd.log_path("Powell").read_text(errors="replace")
    assert log.count("dropping a torn tail") == 1, "a second torn tail"

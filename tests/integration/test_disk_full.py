"""A real full disk: Powell's data directory on a 1 MiB tmpfs, IAMATs until
it is full. Every IAMAT is either acknowledged (an AT reply) and then still
there after a restart, or answered "? "; after the first "? " nothing more
is acknowledged until a restart, and GetStatus and the log say why.

Mounting needs root (CAP_SYS_ADMIN), as in CI; elsewhere the test skips.
"""

import signal
import subprocess

import pytest

from at_line import UCLA, iamat, parse_at_reply, time_text, unique_client
from herd_load import IncreasingClock
from test_durability import with_durability

DISK_FULL = "No space left on device"
# Long client IDs fill the disk in a few thousand IAMATs (1 MiB / ~600 B).
PADDING = "p" * 500
# Far more than 1 MiB of records: if the disk never fills, the test fails
# rather than loops.
MAX_IAMATS = 20000
# IAMATs sent after the first "? ": every one must be "? " too.
REFUSALS_TO_SEE = 5


def mount_tmpfs(mount_point, size):
    return subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
         str(mount_point)], capture_output=True, text=True, check=False)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs where Powell keeps its log (<data>/Powell), unmounted
    at teardown, after the herd (set up later) has stopped."""
    mount_point = tmp_path / "data" / "Powell"
    mount_point.mkdir(parents=True)
    mounted = mount_tmpfs(mount_point, "1m")
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs for a real full disk (needs root): "
                    + (mounted.stderr.strip() or f"exit {mounted.returncode}"))
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)],
                          check=False).returncode != 0:
            # Still busy (a server that did not exit): detach it anyway.
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_acknowledges_only_what_is_on_disk(small_tmpfs, make_herd,
                                                      tmp_path):
    herd = make_herd(edit_config=with_durability(tmp_path / "data"))
    clock = IncreasingClock()
    acknowledged = {}  # client -> time text of its AT reply
    refused = []
    with herd.client("Powell") as client:
        for i in range(MAX_IAMATS):
            client_id = unique_client(f"full{i}-{PADDING}")
            sent = time_text(clock.next())
            reply = client.request(iamat(client_id, UCLA, sent))
            if reply.startswith("? "):
                refused.append(client_id)
                if len(refused) == REFUSALS_TO_SEE:
                    break
                continue
            assert not refused, (
                f"IAMAT {i} acknowledged after {len(refused)} refusals "
                "(a failed disk must refuse every update until a restart)")
            fields = parse_at_reply(reply)
            assert (fields["client"], fields["time"]) == (client_id, sent)
            acknowledged[client_id] = sent
        else:
            pytest.fail(f"{MAX_IAMATS} IAMATs and the 1 MiB disk never filled")
    assert acknowledged, "the disk was full before the first IAMAT"

    # The node says its disk failed: in GetStatus and in its log.
    durability_error = herd.status("Powell").durability_error
    assert DISK_FULL in durability_error, durability_error
    assert str(small_tmpfs) in durability_error, durability_error
    log = herd.log_path("Powell").read_text(errors="replace")
    assert "updates are refused from now on" in log
    assert DISK_FULL in log
    # A refusal changes nothing: no refused client is held.
    for client_id in refused[1:]:
        assert herd.location("Powell", client_id) is None, client_id

    def powell_holds_everything_acknowledged():
        for client_id, sent in acknowledged.items():
            location = herd.location("Powell", client_id)
            assert location is not None, f"Powell lost acknowledged {client_id}"
            assert location.client_time_text == sent, client_id

    # Its peers down, so what Powell holds after the restart can only come
    # from its own (still full) disk.
    for name in herd.names:
        if name != "Powell":
            assert herd.kill(name, signal.SIGKILL) == -signal.SIGKILL
    assert herd.kill("Powell", signal.SIGTERM) == 0
    herd.restart("Powell")
    powell_holds_everything_acknowledged()
    assert herd.status("Powell").durability_error == ""

    # Room again: a restarted node acknowledges new IAMATs, and they and
    # everything before survive a crash.
    grown = subprocess.run(
        ["mount", "-o", "remount,size=4m", str(small_tmpfs)],
        capture_output=True, text=True, check=False)
    assert grown.returncode == 0, grown.stderr
    later = unique_client("after-full")
    sent = time_text(clock.next())
    with herd.client("Powell") as client:
        fields = parse_at_reply(client.request(iamat(later, UCLA, sent)))
    assert fields["time"] == sent
    acknowledged[later] = sent
    assert herd.kill("Powell", signal.SIGKILL) == -signal.SIGKILL
    herd.restart("Powell")
    powell_holds_everything_acknowledged()

"""Live reconfiguration: a server re-reads its herd file on SIGHUP or a
Reload call and applies it while it serves: links dialled and closed, a new
server joining, a removed one refused, gateway limits for new connections. A
file that does not load, does not validate or changes what only a restart
can changes nothing, and says why."""

import signal

import grpc
import pytest

from at_line import UCLA, iamat, now_nanos, parse_at_reply, time_text, unique_client
from herd_load import SteadyLoad, wait_for_the_oracle
from log_watch import LogWatch
from polling import wait_until
from reports import newest, report

CONVERGE = 30


def peers(herd, name):
    """{peer: state} of a server's links, as GetStatus reports them."""
    return {peer.name: peer.state for peer in herd.status(name).peers}


def wait_links(herd, name, expected):
    """Waits until server name's links are exactly expected ({peer: state})."""
    wait_until(lambda: peers(herd, name) == expected, timeout=CONVERGE,
               what=f"{name}'s links to be {expected} "
                    f"(last: {peers(herd, name)})")


def relink(remove=(), add=()):
    """An edit for Herd.rewrite_config: links removed and added, (a, b)."""
    def edit(config):
        kept = [(link.a, link.b) for link in config.links
                if (link.a, link.b) not in remove and (link.b, link.a) not in remove]
        del config.links[:]
        for a, b in kept + list(add):
            config.links.add(a=a, b=b)
    return edit


def sent_counts(herd):
    """{(server, peer): updates sent on that link} over the whole herd."""
    return {(name, peer.name): peer.updates_sent
            for name in herd.names for peer in herd.status(name).peers}


def assert_serves(client, server):
    client_id = unique_client()
    sent_time = time_text(now_nanos())
    fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent_time)))
    assert (fields["server"], fields["client"]) == (server, client_id)


def test_reload_dials_new_links_and_closes_removed_ones(herd):
    # Shipped: Alford-Parker, Alford-Powell, Bolden-Parker, Bolden-Powell,
    # Hamilton-Parker. Bolden moves from Parker to Hamilton.
    herd.rewrite_config(relink(remove={("Bolden", "Parker")},
                               add=[("Hamilton", "Bolden")]))
    answers = {name: herd.reload(name) for name in herd.names}
    assert list(answers["Hamilton"].links_added) == ["Bolden"]
    assert list(answers["Hamilton"].links_removed) == []
    assert list(answers["Bolden"].links_added) == ["Hamilton"]
    assert list(answers["Bolden"].links_removed) == ["Parker"]
    assert list(answers["Parker"].links_removed) == ["Bolden"]
    for name in ("Alford", "Powell"):
        assert not answers[name].links_added and not answers[name].links_removed
        assert not answers[name].unchanged  # the file did change
    wait_links(herd, "Hamilton", {"Parker": "UP", "Bolden": "UP"})
    wait_links(herd, "Bolden", {"Powell": "UP", "Hamilton": "UP"})
    wait_links(herd, "Parker", {"Alford": "UP", "Hamilton": "UP"})

    # One update after the change crosses each link at most once in each
    # direction, and reaches everyone (Bolden now directly from Hamilton).
    before = sent_counts(herd)
    client = unique_client("relinked")
    sent = report(herd, "Hamilton", client)
    herd.wait_for_location(client, where=newest(sent))

    def settled():
        after = sent_counts(herd)
        return sum(after.values()) - sum(before.values()) >= 5 and after
    after = wait_until(settled, timeout=CONVERGE, what="the update's sends")
    for link, count in after.items():
        assert count - before.get(link, 0) <= 1, (link, before, after)

    # The same file again changes nothing.
    again = herd.reload("Hamilton")
    assert again.unchanged and not again.links_added and not again.links_removed


def test_a_bad_herd_file_changes_nothing(herd):
    shipped = {name: {peer: "UP" for peer in peers(herd, name)}
               for name in herd.names}
    for name, links in shipped.items():
        wait_links(herd, name, links)
    good = herd.config_path.read_text()

    # Does not parse: SIGHUP logs why, Reload returns it.
    log = LogWatch(herd, "Hamilton")
    herd.write_herd_file(good + "\nservers { name: \n")
    herd.process("Hamilton").popen.send_signal(signal.SIGHUP)
    log.wait_for("not reloaded, nothing changed", "herd file")
    with pytest.raises(grpc.RpcError) as refused:
        herd.reload("Hamilton")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "herd file" in refused.value.details()

    # Parses, but does not validate: a link to a server nobody knows.
    herd.write_herd_file(good + '\nlinks { a: "Hamilton" b: "Nobody" }\n')
    with pytest.raises(grpc.RpcError) as refused:
        herd.reload("Hamilton")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Nobody" in refused.value.details()

    # Valid, but changes what only a restart can. (rewrite_config edits a
    # copy: shipped_config stays the file every server runs with.)
    shipped_config = herd.config

    def move_hamilton(config):
        for server in config.servers:
            if server.name == "Hamilton":
                server.grpc_address = server.grpc_address.rsplit(":", 1)[0] + ":1"
    herd.rewrite_config(move_hamilton)
    with pytest.raises(grpc.RpcError) as refused:
        herd.reload("Hamilton")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "servers[Hamilton].grpc_address" in refused.value.details()

    def more_threads(config):
        config.gateway_limits.threads = 3
    herd.config = shipped_config
    herd.rewrite_config(more_threads)
    with pytest.raises(grpc.RpcError) as refused:
        herd.reload("Hamilton")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "gateway_limits.threads" in refused.value.details()

    # Nothing changed anywhere: the links, and flooding over them.
    for name, links in shipped.items():
        assert peers(herd, name) == links
    client = unique_client("after-refusals")
    sent = report(herd, "Hamilton", client)
    herd.wait_for_location(client, where=newest(sent))

    # And a good file after all that is applied (on SIGHUP too).
    herd.config = shipped_config
    herd.rewrite_config(relink(add=[("Hamilton", "Alford")]))
    for name in ("Hamilton", "Alford"):
        log = LogWatch(herd, name)
        herd.process(name).popen.send_signal(signal.SIGHUP)
        log.wait_for("reloaded: links added [")
    wait_links(herd, "Hamilton", {"Parker": "UP", "Alford": "UP"})


def test_gateway_limits_apply_to_new_connections(herd):
    long_client = "k" * 200
    line = iamat(long_client, UCLA, time_text(now_nanos()))
    with herd.client("Powell") as before:
        assert_serves(before, "Powell")

        def small_lines(config):
            config.gateway_limits.max_line_bytes = 128
        herd.rewrite_config(small_lines)
        assert herd.reload("Powell").gateway_changed

        # Open connections keep the limits they were accepted with...
        assert parse_at_reply(before.request(line))["client"] == long_client
        # ...new ones get the new limits.
        with herd.client("Powell") as after:
            after.send_line(line)
            received = after.wait_closed()
            assert received.startswith(b"? "), received[:200]


def test_a_new_server_joins_and_a_removed_one_is_refused(herd):
    early = unique_client("early")
    early_time = report(herd, "Alford", early)
    herd.wait_for_location(early, where=newest(early_time))

    def add_sixth(config):
        herd.add_server(config, "Sixth")
        config.links.add(a="Sixth", b="Hamilton")
        config.links.add(a="Bolden", b="Sixth")
    herd.rewrite_config(add_sixth)
    for name in ("Alford", "Bolden", "Hamilton", "Parker", "Powell"):
        herd.reload(name)
    herd.start_server("Sixth")
    # The newcomer catches up on what the herd knew before it existed...
    herd.wait_for_location(early, ["Sixth"], newest(early_time))
    wait_links(herd, "Sixth", {"Hamilton": "UP", "Bolden": "UP"})
    # ...and floods what it is told.
    at_sixth = unique_client("sixth")
    at_sixth_time = report(herd, "Sixth", at_sixth)
    herd.wait_for_location(at_sixth, where=newest(at_sixth_time))

    # Removed from the file: no longer dialled or accepted by anyone.
    log = LogWatch(herd, "Hamilton")

    def remove_sixth(config):
        relink(remove={("Sixth", "Hamilton"), ("Bolden", "Sixth")})(config)
        kept = [s for s in config.servers if s.name != "Sixth"]
        del config.servers[:]
        config.servers.extend(kept)
    herd.rewrite_config(remove_sixth)
    for name in herd.names:
        assert set(herd.reload(name).links_removed) == (
            {"Sixth"} if name in ("Hamilton", "Bolden") else set())
    wait_links(herd, "Hamilton", {"Parker": "UP"})
    # Sixth still runs with the old file: what it sends is refused (its
    # streams at their next message, then its catch-up calls), so its links
    # go down, and nothing it is told reaches the herd.
    orphan = unique_client("orphan")
    report(herd, "Sixth", orphan)
    wait_until(lambda: all(state != "UP" for state in peers(herd, "Sixth").values()),
               timeout=CONVERGE, what="Sixth's links to be refused")
    log.wait_for("(from_server 'Sixth')")
    assert all(herd.location(name, orphan) is None for name in herd.names)
    # Sixth is not in the file it would reload: it refuses to.
    with pytest.raises(grpc.RpcError) as refused:
        herd.reload("Sixth")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no server 'Sixth'" in refused.value.details()
    herd.kill("Sixth", signal.SIGTERM)


def test_reshaping_under_load_loses_nothing(herd):
    load = SteadyLoad(herd, seed=13).start()
    try:
        load.wait_for_progress(100, "before the change")
        # A link changes: Hamilton moves from Parker to Powell.
        herd.rewrite_config(relink(remove={("Hamilton", "Parker")},
                                   add=[("Hamilton", "Powell")]))
        # In an order that leaves Hamilton cut off for a moment: what it
        # acknowledged then arrives by catch-up once its new link is up.
        for name in ("Parker", "Hamilton", "Powell", "Alford", "Bolden"):
            herd.reload(name)
        load.wait_for_progress(100, "after the link moved")
        # A server joins under load.
        herd.rewrite_config(lambda config: (
            herd.add_server(config, "Sixth"),
            config.links.add(a="Sixth", b="Alford"),
            config.links.add(a="Sixth", b="Hamilton")))
        herd.start_server("Sixth")
        for name in ("Alford", "Hamilton"):
            herd.reload(name)
        load.wait_for_progress(200, "with Sixth in the herd")
    finally:
        load.stop()
    wait_links(herd, "Sixth", {"Alford": "UP", "Hamilton": "UP"})
    wait_for_the_oracle(herd, load)


def test_a_watched_herd_file_is_applied_when_it_changes(make_herd):
    herd = make_herd(server_args=["--watch_herd_file", "1"])
    wait_links(herd, "Hamilton", {"Parker": "UP"})
    shipped_config = herd.config
    # A broken file is refused once (the watch compares contents), and
    # nothing changes.
    log = LogWatch(herd, "Hamilton")
    herd.write_herd_file(herd.config_path.read_text() + "\nlinks {\n")
    log.wait_for("not reloaded, nothing changed")
    # A good one: every server applies it, no signal, no call.
    herd.config = shipped_config
    herd.rewrite_config(relink(add=[("Hamilton", "Powell")]))
    wait_links(herd, "Hamilton", {"Parker": "UP", "Powell": "UP"})
    wait_links(herd, "Powell", {"Alford": "UP", "Bolden": "UP", "Hamilton": "UP"})
    text = log.new_text()
    assert text.count("not reloaded, nothing changed") == 1, text
    assert "reloaded: links added [Powell]" in text

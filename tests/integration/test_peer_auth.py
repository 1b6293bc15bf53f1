"""Mutual TLS between nodes: only a caller holding a certificate of the herd's
CA whose common name is a linked peer may call the inter-node RPCs
(PropagateLocation, Sync); everyone else is refused, and the log says so."""

import signal
import subprocess

import grpc
import pytest
from google.protobuf import text_format

from at_line import (NANOS_PER_SECOND, UCLA, iamat, now_nanos, parse_at_reply,
                     time_text, unique_client)
from local_herd import config_on_free_ports, make_certs, set_tls
from log_watch import LogWatch
from polling import wait_until

CALL_TIMEOUT = 5


# --- helpers ----------------------------------------------------------------

def peer_channel(herd, name, *, certs_dir=None, cert_name=None):
    """A TLS channel to name's peer listener that trusts the herd's CA and,
    with cert_name, presents certs_dir/cert_name.{crt,key}."""
    key = chain = None
    if cert_name is not None:
        key = (certs_dir / f"{cert_name}.key").read_bytes()
        chain = (certs_dir / f"{cert_name}.crt").read_bytes()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(herd.certs_dir / "ca.crt").read_bytes(),
        private_key=key, certificate_chain=chain)
    return grpc.secure_channel(
        herd.peer_address(name), credentials,
        options=[("grpc.ssl_target_name_override", name),
                 ("grpc.use_local_subchannel_pool", 1)])


def location_now(stubs, client_id, origin="Parker"):
    """A complete, valid Location as a peer would send it."""
    herd_pb2 = stubs.herd_pb2
    nanos = now_nanos()
    seconds, fraction = divmod(nanos, NANOS_PER_SECOND)
    return herd_pb2.Location(
        client_id=client_id, latitude=34.068930, longitude=-118.445127,
        coordinates_text=UCLA, client_time_text=time_text(nanos),
        client_time=herd_pb2.Instant(seconds=seconds, nanos=fraction),
        origin_server=origin,
        server_time=herd_pb2.Instant(seconds=seconds, nanos=fraction))


def propagate(stubs, channel, from_server, location):
    stub = stubs.herd_pb2_grpc.HerdNodeStub(channel)
    return stub.PropagateLocation(stubs.herd_pb2.PropagateLocationRequest(
        location=location, from_server=from_server), timeout=CALL_TIMEOUT)


def call_error(call):
    """The grpc.RpcError that call() raises; fails if it succeeds."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def report(herd, server, client_id):
    sent_time = time_text(now_nanos())
    with herd.client(server) as client:
        fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent_time)))
    assert fields["server"] == server
    return sent_time


# --- callers of the peer listener ---------------------------------------------

def test_linked_peer_with_herd_certificate_is_served(herd, stubs):
    """The control for the refusals below: the same call, made right."""
    client_id = unique_client("parker-cert")
    with peer_channel(herd, "Hamilton", certs_dir=herd.certs_dir,
                      cert_name="Parker") as channel:
        response = propagate(stubs, channel, "Parker",
                             location_now(stubs, client_id))
        assert response.outcome == stubs.herd_pb2.UPDATE_OUTCOME_ACCEPTED
        # Health and reflection answer on the peer listener too.
        health = stubs.health_pb2_grpc.HealthStub(channel).Check(
            stubs.health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT)
        assert health.status == stubs.health_pb2.HealthCheckResponse.SERVING
    assert herd.location("Hamilton", client_id) is not None


def test_certificate_cn_must_match_from_server(herd, stubs):
    """A herd certificate for Parker cannot speak for Bolden."""
    client_id = unique_client("forged")
    watch = LogWatch(herd, "Hamilton")
    with peer_channel(herd, "Hamilton", certs_dir=herd.certs_dir,
                      cert_name="Parker") as channel:
        error = call_error(lambda: propagate(
            stubs, channel, "Bolden", location_now(stubs, client_id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    assert "certificate CN 'Parker'" in error.details(), error.details()
    watch.wait_for("refused PropagateLocation from ipv4:127.0.0.1:",
                   "certificate CN 'Parker' does not match from_server 'Bolden'")
    assert herd.location("Hamilton", client_id) is None


def propagate_stream(stubs, channel, from_server, locations):
    """One PropagateLocations stream carrying locations as one batch; returns
    the node's one answer (raises the call's error if refused)."""
    stub = stubs.herd_pb2_grpc.HerdNodeStub(channel)
    batch = stubs.herd_pb2.PropagateLocationsRequest(
        from_server=from_server, locations=locations)
    answers = list(stub.PropagateLocations(iter([batch]), timeout=CALL_TIMEOUT))
    assert len(answers) == 1, answers
    return answers[0]


def test_stream_is_authorized_like_the_unary_call(herd, stubs):
    """The live-update stream: served for Parker's certificate as Parker,
    refused when that certificate claims to be Bolden or on the operator
    listener."""
    served = unique_client("stream-parker")
    forged = unique_client("stream-forged")
    watch = LogWatch(herd, "Hamilton")
    with peer_channel(herd, "Hamilton", certs_dir=herd.certs_dir,
                      cert_name="Parker") as channel:
        response = propagate_stream(stubs, channel, "Parker",
                                    [location_now(stubs, served)])
        assert response.updates_received == 1
        error = call_error(lambda: propagate_stream(
            stubs, channel, "Bolden", [location_now(stubs, forged)]))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    assert "certificate CN 'Parker'" in error.details(), error.details()
    error = call_error(lambda: propagate_stream(
        stubs, herd.channel("Hamilton"), "Parker",
        [location_now(stubs, forged)]))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    watch.wait_for("refused PropagateLocations from ipv4:127.0.0.1:",
                   "certificate CN 'Parker' does not match from_server 'Bolden'",
                   "not served on the operator listener")
    assert herd.location("Hamilton", served) is not None
    assert herd.location("Hamilton", forged) is None


def test_herd_certificate_of_an_unlinked_server_is_refused(herd, stubs):
    """Bolden's certificate is genuine, but Bolden is not linked to Hamilton."""
    watch = LogWatch(herd, "Hamilton")
    with peer_channel(herd, "Hamilton", certs_dir=herd.certs_dir,
                      cert_name="Bolden") as channel:
        stub = stubs.herd_pb2_grpc.HerdNodeStub(channel)
        error = call_error(lambda: stub.Sync(
            stubs.herd_pb2.SyncRequest(from_server="Bolden"), timeout=CALL_TIMEOUT))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    watch.wait_for("refused Sync from",
                   "certificate CN 'Bolden' is not a linked peer")


@pytest.mark.parametrize("credentials", ["no_certificate", "other_ca",
                                         "plaintext"])
def test_caller_without_herd_certificate_is_refused(herd, stubs, tmp_path,
                                                    credentials):
    client_id = unique_client(credentials)
    watch = LogWatch(herd, "Hamilton")
    if credentials == "plaintext":
        channel = grpc.insecure_channel(herd.peer_address("Hamilton"))
    elif credentials == "other_ca":
        other = make_certs(tmp_path / "other-ca", ["Parker"])
        channel = peer_channel(herd, "Hamilton", certs_dir=other,
                               cert_name="Parker")
    else:
        channel = peer_channel(herd, "Hamilton")
    with channel:
        error = call_error(lambda: propagate(
            stubs, channel, "Parker", location_now(stubs, client_id)))
    # The TLS handshake fails, so the call never reaches the service.
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error
    watch.wait_for("grpc: Handshake failed")
    assert herd.location("Hamilton", client_id) is None


def test_operator_listener_refuses_inter_node_calls(herd, stubs):
    client_id = unique_client("operator")
    watch = LogWatch(herd, "Hamilton")
    error = call_error(lambda: propagate(
        stubs, herd.channel("Hamilton"), "Parker", location_now(stubs, client_id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    error = call_error(lambda: herd.node("Hamilton").Sync(
        stubs.herd_pb2.SyncRequest(from_server="Parker"), timeout=CALL_TIMEOUT))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    watch.wait_for("refused PropagateLocation from",
                   "refused Sync from",
                   "not served on the operator listener")
    assert herd.location("Hamilton", client_id) is None


# --- nodes without a herd certificate -------------------------------------------

def assert_cut_off(herd, name, watches):
    """name (linked to Parker only) and Parker cannot reach each other: an
    IAMAT at either stays there, both links keep failing, and Parker's log
    shows the refused handshakes."""
    at_name = unique_client("at-" + name.lower())
    report(herd, name, at_name)
    at_parker = unique_client("at-parker")
    report(herd, "Parker", at_parker)
    # A catch-up attempt of each side that began after the reports has
    # failed: whatever the reports could have sent had its chance.
    LogWatch(herd, name).wait_for("peer Parker catch-up failed")
    LogWatch(herd, "Parker").wait_for(f"peer {name} catch-up failed")
    watches["Parker"].wait_for("grpc: Handshake failed")
    assert herd.location(name, at_name) is not None
    assert herd.location(name, at_parker) is None
    for other in herd.names:
        if other != name:
            assert herd.location(other, at_name) is None, other
    assert herd.peer_state(name, "Parker") != "UP"
    assert herd.peer_state("Parker", name) != "UP"


def test_node_with_certificate_of_another_ca_is_refused(herd, stubs):
    assert herd.kill("Hamilton", signal.SIGTERM) == 0
    other = make_certs(herd.workdir / "other-ca", ["Hamilton"])
    config = type(herd.config)()
    config.CopyFrom(herd.config)
    set_tls(config, other)
    rogue_config = herd.workdir / "rogue.textproto"
    rogue_config.write_text(text_format.MessageToString(config))
    watches = {"Parker": LogWatch(herd, "Parker")}
    herd.restart("Hamilton", config_path=rogue_config)
    assert_cut_off(herd, "Hamilton", watches)


def test_insecure_node_is_refused_by_tls_peers(herd):
    assert herd.kill("Hamilton", signal.SIGTERM) == 0
    watches = {"Parker": LogWatch(herd, "Parker")}
    hamilton_log = LogWatch(herd, "Hamilton")
    herd.restart("Hamilton", extra_args=["--insecure"])
    stderr = herd.process("Hamilton").stderr_path.read_text()
    assert "WARNING: --insecure" in stderr, stderr
    hamilton_log.wait_for("WARNING: --insecure")
    assert_cut_off(herd, "Hamilton", watches)


# --- start-up checks ----------------------------------------------------------

def run_to_exit(herdnode_bin, *args, cwd=None):
    return subprocess.run([str(herdnode_bin), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)


def write(tmp_path, config, name="herd.textproto"):
    path = tmp_path / name
    path.write_text(text_format.MessageToString(config))
    return path


def test_no_tls_section_needs_insecure(herdnode_bin, stubs, tmp_path):
    config = config_on_free_ports(stubs, tmp_path / "logs")
    result = run_to_exit(herdnode_bin, "--config", write(tmp_path, config),
                         "--name", "Hamilton")
    assert result.returncode == 2, result
    assert "tls section" in result.stderr and "--insecure" in result.stderr, (
        result.stderr)


def test_missing_certificate_file_is_named(herdnode_bin, stubs, tmp_path):
    config = config_on_free_ports(stubs, tmp_path / "logs",
                                  certs_dir=tmp_path / "certs")
    (tmp_path / "certs" / "Hamilton.key").unlink()
    result = run_to_exit(herdnode_bin, "--config", write(tmp_path, config),
                         "--name", "Hamilton")
    assert result.returncode == 2, result
    assert "tls.key_path" in result.stderr, result.stderr
    assert str(tmp_path / "certs" / "Hamilton.key") in result.stderr, result.stderr


def test_certificate_of_another_server_is_refused_at_start(herdnode_bin, stubs,
                                                           tmp_path):
    config = config_on_free_ports(stubs, tmp_path / "logs",
                                  certs_dir=tmp_path / "certs")
    config.tls.cert_path = str(tmp_path / "certs" / "Parker.crt")
    config.tls.key_path = str(tmp_path / "certs" / "Parker.key")
    result = run_to_exit(herdnode_bin, "--config", write(tmp_path, config),
                         "--name", "Hamilton")
    assert result.returncode == 2, result
    assert "common name 'Parker'" in result.stderr, result.stderr


def test_relative_tls_paths_are_relative_to_the_herd_file(herdnode_bin, stubs,
                                                          tmp_path):
    """Started from another directory, the node still finds certs/ next to
    its herd file (and serves until SIGTERM)."""
    config = config_on_free_ports(stubs, tmp_path / "logs",
                                  certs_dir=tmp_path / "herd" / "certs")
    config.tls.ca_cert_path = "certs/ca.crt"
    config.tls.cert_path = "certs/{name}.crt"
    config.tls.key_path = "certs/{name}.key"
    path = write(tmp_path / "herd", config)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stdout_path = tmp_path / "out.txt"
    with open(stdout_path, "wb") as out:
        node = subprocess.Popen([str(herdnode_bin), "--config", str(path),
                                 "--name", "Hamilton"], cwd=elsewhere,
                                stdout=out, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: node.poll() is not None
                   or "herdnode Hamilton: " in stdout_path.read_text(),
                   timeout=30, what="Hamilton to start")
        assert node.poll() is None, node.stderr.read().decode()
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=15)
        node.stderr.close()
    assert node.returncode == 0

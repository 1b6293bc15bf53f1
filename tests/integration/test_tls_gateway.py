"""The TLS gateway: the text protocol inside TLS, for clients holding a
certificate of the herd file's client CA. With gateway_tls.bind_client_id a
client may report (IAMAT) only the ids its certificate names; everyone else
is refused at the handshake. The client is the real openssl s_client."""

import subprocess

from at_line import (UCLA, expected_at_line, iamat, now_nanos, parse_at_reply,
                     time_text, unique_client)
from local_herd import REPO_ROOT, split_address
from log_watch import LOG_TIMEOUT, LogWatch
from polling import wait_until
from ports import free_ports
from text_client import TextClient
from tls_client import SClient

MAKE_CLIENT_CERTS = REPO_ROOT / "deploy" / "make-client-certs.sh"
# Hamilton trusts 127.0.0.1: its plaintext gateway takes AT lines from the
# tests, so a refused AT on the TLS gateway is refused for binding alone.
TRUSTED = {"Hamilton": ["127.0.0.1"]}
# README, "Limits": a TLS client has this long to finish its handshake.
HANDSHAKE_DEADLINE = 10


def make_client_certs(out_dir, ids):
    result = subprocess.run([str(MAKE_CLIENT_CERTS), str(out_dir), *ids],
                            capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, f"make-client-certs.sh failed:\n{result.stderr}"
    return out_dir


def make_cn_only_cert(out_dir, client_id):
    """A certificate of the client CA naming client_id in its CN only (no
    subjectAltName), as other tools make them."""
    key, crt, csr = (out_dir / f"{client_id}.{ext}" for ext in ("key", "crt", "csr"))
    for command in (
            ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", key],
            ["openssl", "req", "-new", "-key", key, "-subj", f"/CN={client_id}",
             "-out", csr],
            ["openssl", "x509", "-req", "-in", csr, "-CA", out_dir / "client-ca.crt",
             "-CAkey", out_dir / "client-ca.key", "-CAcreateserial", "-days", "1",
             "-out", crt]):
        subprocess.run(list(map(str, command)), capture_output=True, check=True,
                       timeout=60)


def tls_gateways(client_certs, *, bind, plaintext_off=()):
    """An edit_config that gives every server a TLS gateway on a free port,
    trusting client_certs' CA, and turns off the plaintext gateway of the
    servers in plaintext_off."""
    def edit(config):
        taken = {split_address(getattr(server, field))[1]
                 for server in config.servers
                 for field in ("gateway_address", "grpc_address",
                               "operator_address", "http_address")}
        ports = iter([port for port in free_ports(2 * len(config.servers))
                      if port not in taken])
        for server in config.servers:
            server.tls_gateway_address = f"127.0.0.1:{next(ports)}"
            if server.name in plaintext_off:
                server.ClearField("gateway_address")
        config.gateway_tls.client_ca_cert_path = str(client_certs / "client-ca.crt")
        config.gateway_tls.bind_client_id = bind
    return edit


def s_client(herd, name, client_certs=None, client_id=None):
    """s_client to name's TLS gateway, presenting client_id's certificate
    (none without client_id); it checks the gateway's certificate against
    the herd CA and the server's name."""
    cert = key = None
    if client_id is not None:
        cert = client_certs / f"{client_id}.crt"
        key = client_certs / f"{client_id}.key"
    return SClient(herd.server(name).tls_gateway_address,
                   ca_file=herd.certs_dir / "ca.crt", server_name=name,
                   cert=cert, key=key)


def fresh_report(client_id):
    return iamat(client_id, UCLA, time_text(now_nanos()))


def test_certified_client_reports_only_its_own_id(make_herd, tmp_path):
    own, cn_only, victim, relayed = (
        unique_client(p) for p in ("own", "cn", "victim", "relayed"))
    at_line = expected_at_line("Alford", "+0.500000000", relayed, UCLA,
                               time_text(now_nanos() - 1_000_000_000))
    certs = make_client_certs(tmp_path / "clients", [own])
    make_cn_only_cert(certs, cn_only)
    herd = make_herd(trusted_peers=TRUSTED,
                     edit_config=tls_gateways(certs, bind=True))
    watch = LogWatch(herd, "Hamilton")

    with s_client(herd, "Hamilton", certs, own) as client:
        fields = parse_at_reply(client.request(fresh_report(own)))
        assert (fields["server"], fields["client"]) == ("Hamilton", own)
        # Another client's id: refused, with the protocol's reply.
        forged = fresh_report(victim)
        assert client.request(forged) == "? " + forged
        # An AT line speaks for any client: refused here, although Hamilton
        # takes the same line from this address on its plaintext gateway.
        assert client.request(at_line) == "? " + at_line
        # Reading is not reporting: WHATSAT may ask about anyone it knows.
        client.send_line(f"WHATSAT {own} 10 1")
        reply = client.read_until_blank_line()
        assert parse_at_reply(reply[0])["client"] == own
    watch.wait_for(f"TLS client certified as {own} (IAMAT only for these ids)",
                   f"IAMAT for '{victim}' refused: the client's certificate "
                   f"names {own}")

    # The common name counts when the certificate has no DNS or URI name.
    with s_client(herd, "Hamilton", certs, cn_only) as client:
        assert client.request(fresh_report(cn_only)).startswith("AT Hamilton ")

    # What was accepted floods; what was refused is nowhere.
    herd.wait_for_location(own)
    herd.wait_for_location(cn_only)
    for name in herd.names:
        assert herd.location(name, victim) is None, f"{name} took a refused report"

    # The classic plaintext gateway still serves the same herd, and takes
    # the AT line from its trusted address (a trusted AT gets no reply: the
    # next line's "? " comes first).
    with herd.client("Hamilton") as client:
        client.send_line(at_line)
        assert client.request("PING") == "? PING"
    herd.wait_for_location(relayed)


def test_clients_without_a_certificate_of_the_client_ca_are_refused(
        make_herd, tmp_path):
    client_id = unique_client("stranger")
    certs = make_client_certs(tmp_path / "clients", [client_id])
    # Same name, another CA: must not pass.
    other_ca = make_client_certs(tmp_path / "other-ca", [client_id])
    herd = make_herd(edit_config=tls_gateways(certs, bind=True))
    watch = LogWatch(herd, "Hamilton")
    node_cert = herd.certs_dir  # Parker's: the herd CA's, not the client CA's
    attempts = {
        "no certificate": lambda: s_client(herd, "Hamilton"),
        "another CA": lambda: s_client(herd, "Hamilton", other_ca, client_id),
        "a node's certificate": lambda: s_client(herd, "Hamilton", node_cert,
                                                 "Parker"),
    }
    for what, connect in attempts.items():
        attempt = connect()
        try:
            try:
                attempt.text.send_line(fresh_report(client_id))
            except (BrokenPipeError, ConnectionResetError):
                pass  # s_client already gave up at the server's alert
            received = attempt.text.wait_closed()
            assert received == b"", (
                f"{what}: got {received!r}; s_client said:\n{attempt.diagnostics()}")
        finally:
            attempt.close()
    # Wait for the refusals these three attempts earn, not for any three
    # failed handshakes: the herd's readiness probe may leave a truncated
    # handshake of its own in the log after the watch began.
    no_certificate = "TLS handshake failed: peer did not return a certificate"
    not_verified = "TLS handshake failed: certificate verify failed"
    log = wait_until(
        lambda: (text := watch.new_text()).count(no_certificate) >= 1
        and text.count(not_verified) >= 2 and text,
        timeout=LOG_TIMEOUT, what="the three refused handshakes logged")
    assert log.count(no_certificate) == 1, log
    assert log.count(not_verified) == 2, log
    for name in herd.names:
        assert herd.location(name, client_id) is None, f"{name} took a report"


def test_a_connection_that_never_handshakes_is_closed(make_herd, tmp_path):
    certs = make_client_certs(tmp_path / "clients", [unique_client("idle")])
    herd = make_herd(edit_config=tls_gateways(certs, bind=True))
    watch = LogWatch(herd, "Hamilton")
    host, port = split_address(herd.server("Hamilton").tls_gateway_address)
    # Says nothing: closed after the handshake deadline (10 s), not after
    # the idle timeout (300 s).
    with TextClient(host, port, timeout=HANDSHAKE_DEADLINE + 20) as silent:
        assert silent.wait_closed() == b""
    watch.wait_for("dropped: no TLS handshake within 10 s")


def test_plaintext_gateway_off_and_binding_off(make_herd, tmp_path):
    holder, other = unique_client("holder"), unique_client("other")
    certs = make_client_certs(tmp_path / "clients", [holder])
    herd = make_herd(edit_config=tls_gateways(certs, bind=False,
                                              plaintext_off={"Hamilton"}))
    hamilton = herd.server("Hamilton")
    assert not hamilton.gateway_address
    stdout = herd.process("Hamilton").stdout_path.read_text()
    assert f"herdnode Hamilton: tls gateway {hamilton.tls_gateway_address}, " in stdout
    assert "herdnode Hamilton: gateway" not in stdout
    # Without binding, a certified client may report any id.
    with s_client(herd, "Hamilton", certs, holder) as client:
        for client_id in (holder, other):
            fields = parse_at_reply(client.request(fresh_report(client_id)))
            assert (fields["server"], fields["client"]) == ("Hamilton", client_id)
    herd.wait_for_location(other)

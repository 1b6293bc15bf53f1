"""Hostile clients against one herdnode: slowloris, thousands of idle
connections, megabyte lines, binary garbage, half-open sockets and a client
that never reads; idle and slow clients of the HTTP listener too. Each is
stopped by a documented gateway or HTTP limit (see docs/RELIABILITY.md), gets
a clear error where the protocol allows one, costs a well-behaved client
nothing, and leaves the server's memory bounded.

Every attack is paced and bounded in count and time; nothing here asserts a
duration. The numbers each test observes are printed as "observed: ..." lines
(run pytest with -s to see them) and recorded in docs/RELIABILITY.md.
"""

import resource
import selectors
import socket
import struct
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from at_line import UCLA, iamat, now_nanos, parse_at_reply, time_text, unique_client
from polling import wait_until

# Resident memory the server may gain during one attack. Generous: the point
# is "bounded", not "small" (a sanitizer build needs more than a plain one).
RSS_GROWTH_BOUND_MIB = 200
IDLE_SECONDS = 3
MAX_CONNECTIONS = 500
IDLE_CLIENTS = 2000
# Default limits (protos/herd/v1/config.proto), which these tests rely on.
DEFAULT_MAX_LINE_BYTES = 4096
DEFAULT_MAX_PENDING_OUTPUT_BYTES = 1 << 20
LOG_TIMEOUT = 15.0


def one_server(limits=None):
    """An edit_config keeping the herd's first server only (no links), with
    the given gateway_limits fields set."""

    def edit(config):
        del config.servers[1:]
        del config.links[:]
        for field, value in (limits or {}).items():
            setattr(config.gateway_limits, field, value)

    return edit


def start_node(make_herd, limits=None):
    herd = make_herd(edit_config=one_server(limits))
    return herd, herd.names[0]


def rss_mib(herd, name):
    pid = herd.process(name).popen.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


class MemoryWatch:
    """Checks that the server's RSS grew by less than the bound across a
    with-block, and reports both numbers."""

    def __init__(self, herd, name, attack):
        self.herd, self.name, self.attack = herd, name, attack

    def __enter__(self):
        self.before = rss_mib(self.herd, self.name)
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return
        after = rss_mib(self.herd, self.name)
        print(f"observed: {self.attack}: RSS {self.before:.1f} MiB before, "
              f"{after:.1f} MiB after")
        assert after - self.before < RSS_GROWTH_BOUND_MIB, (
            f"{self.attack}: RSS grew from {self.before:.1f} to {after:.1f} MiB")


def assert_served(client, server):
    """One IAMAT round trip on client, answered by server."""
    client_id = unique_client("bystander")
    sent_time = time_text(now_nanos())
    fields = parse_at_reply(client.request(iamat(client_id, UCLA, sent_time)))
    assert (fields["server"], fields["client"], fields["time"]) == (
        server, client_id, sent_time)


def wait_for_log(herd, name, text, timeout=LOG_TIMEOUT):
    """Polls the server's log until a line contains text; returns it."""
    path = herd.log_path(name)

    def find():
        for line in path.read_bytes().decode(errors="replace").splitlines():
            if text in line:
                return line
        return None

    return wait_until(find, timeout=timeout, what=f"'{text}' in {path}")


def address_of(sock):
    """This end of a connection as "ip:port", as the server logs it."""
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def dropped_line(herd, name, address):
    """The log line saying why the server dropped the client at address."""
    return wait_for_log(herd, name, f"connection from {address} dropped")


def connect(herd, name):
    """A raw socket to the server's gateway, for byte-level attacks."""
    return socket.create_connection(herd.gateway(name), timeout=10)


def read_until_closed(sock, timeout=15.0, limit=1 << 20):
    """Everything the server sends until it closes (or resets) the
    connection; fails after timeout or beyond limit bytes."""
    received = b""
    deadline = time.monotonic() + timeout
    while len(received) <= limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"server did not close; got {received[:300]!r}")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data
    raise AssertionError(f"more than {limit} bytes before the close")


def send_quietly(sock, data):
    """sendall that treats the server closing the connection as the end."""
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


def test_slowloris_is_closed_by_idle_limit_and_costs_others_nothing(make_herd):
    herd, name = start_node(make_herd, {"idle_timeout_seconds": IDLE_SECONDS})
    line = iamat(unique_client("slowloris"), UCLA, time_text(now_nanos())) + "\n"
    byte_interval = 0.25  # the whole line takes far longer than the limit
    assert len(line) * byte_interval > 3 * IDLE_SECONDS
    with MemoryWatch(herd, name, "slowloris"), \
            connect(herd, name) as slow, herd.client(name) as bystander:
        # Slow is fine while each line completes within the limit.
        for byte in b"HELLO\n":
            slow.sendall(bytes([byte]))
            time.sleep(byte_interval)
        slow.settimeout(15)
        assert slow.recv(100) == b"? HELLO\n"
        sent = 0
        replies = 0
        for byte in line.encode():  # bounded: one pass over one line
            if not send_quietly(slow, bytes([byte])):
                break
            sent += 1
            assert_served(bystander, name)
            replies += 1
            time.sleep(byte_interval)
        received = read_until_closed(slow, timeout=IDLE_SECONDS + 15)
        assert received == b"", f"no reply expected to half a line: {received!r}"
        assert sent < len(line), "the server waited for the whole slow line"
        reason = dropped_line(herd, name, address_of(slow))
        assert f"idle for {IDLE_SECONDS} s without a complete line" in reason
        assert_served(bystander, name)
        print(f"observed: slowloris: closed after {sent} of {len(line)} bytes; "
              f"bystander got {replies + 1} replies meanwhile; log: {reason}")


def raise_open_files_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} open files, hard limit is {hard}")
    # The herdnode started after this inherits the raised limit too.
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


def read_ready(selector, key, received):
    """Reads what a ready socket has into received[socket]; at its close (or
    reset) unregisters it and returns False."""
    try:
        data = key.fileobj.recv(4096)
    except ConnectionResetError:
        data = b""
    if data:
        received[key.fileobj] += data
        return True
    selector.unregister(key.fileobj)
    return False


def classify_idle_sockets(sockets, timeout):
    """Waits (bounded) until every refused socket has been closed by the
    server; returns (busy replies by socket, sockets still open)."""
    received = {sock: b"" for sock in sockets}
    open_sockets = set(sockets)
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        # Quiet for a second with every socket accounted for: done.
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 1:
            for key, _ in selector.select(timeout=0.2):
                quiet_since = time.monotonic()
                if not read_ready(selector, key, received):
                    open_sockets.discard(key.fileobj)
    closed = {s: received[s] for s in sockets if s not in open_sockets}
    return closed, open_sockets


def test_thousands_of_idle_connections_hit_max_connections(make_herd):
    raise_open_files_limit(IDLE_CLIENTS + 1024)
    herd, name = start_node(make_herd, {"max_connections": MAX_CONNECTIONS,
                                        "idle_timeout_seconds": 120})
    address = herd.gateway(name)
    sockets = []
    try:
        with MemoryWatch(herd, name, f"{IDLE_CLIENTS} idle connections"):
            for _ in range(IDLE_CLIENTS):
                sockets.append(socket.create_connection(address, timeout=10))
            closed, still_open = classify_idle_sockets(sockets, timeout=60)
            busy = [s for s, data in closed.items()
                    if data == b"? server busy: too many connections\n"]
            assert len(busy) == len(closed), (
                "every refused client gets exactly the busy line: "
                f"{set(closed.values()) - {b'? server busy: too many connections'}}")
            # The server counts its own connections; a readiness probe of the
            # harness may still be closing, hence the small allowance.
            assert MAX_CONNECTIONS - 5 <= len(still_open) <= MAX_CONNECTIONS
            print(f"observed: {IDLE_CLIENTS} idle connections: "
                  f"{len(still_open)} held open, {len(busy)} got the busy line")
            with herd.client(name) as latecomer:
                assert latecomer.wait_closed() == (
                    b"? server busy: too many connections\n")
            for sock in sockets:
                sock.close()
            sockets.clear()

            def served_again():
                try:
                    with herd.client(name) as newcomer:
                        assert_served(newcomer, name)
                        return True
                except AssertionError:
                    return False

            wait_until(served_again, timeout=30,
                       what="a new client to be served once the idle ones left")
        assert wait_for_log(herd, name, "refused: server busy")
    finally:
        for sock in sockets:
            sock.close()


def send_in_background(sock, data):
    """Sends data from a thread (the server may stop reading, or close, part
    way); returns the joinable thread."""
    thread = threading.Thread(target=send_quietly, args=(sock, data), daemon=True)
    thread.start()
    return thread


def test_multi_megabyte_line_gets_line_too_long_and_close(make_herd):
    herd, name = start_node(make_herd)  # default max_line_bytes
    megabytes = 8
    with MemoryWatch(herd, name, f"{megabytes} MiB line"), \
            connect(herd, name) as offender, herd.client(name) as bystander:
        sender = send_in_background(
            offender, b"IAMAT " + b"x" * (megabytes << 20) + b"\n")
        received = read_until_closed(offender, timeout=30)
        sender.join(timeout=30)
        assert not sender.is_alive(), "the offender's send never ended"
        assert received == (
            f"? line too long (limit {DEFAULT_MAX_LINE_BYTES} bytes)\n".encode())
        reason = dropped_line(herd, name, address_of(offender))
        assert f"line longer than {DEFAULT_MAX_LINE_BYTES} bytes" in reason
        assert_served(bystander, name)
        print(f"observed: {megabytes} MiB line: reply {received!r}; log: {reason}")


GARBAGE_LINES = [
    b"\x00",
    b"\x00\x00IAMAT\x00",
    b"\xff\xfe\xfd",
    b"caf\xe9 \xc3\x28 \xed\xa0\x80",  # Latin-1, bad UTF-8, a surrogate
    b"\x1b[2J\x1b[31mred\x07",  # terminal escapes
    b"IAMAT ki\x00wi " + UCLA.encode() + b" 1",
    b"WHATSAT \xff\xff 10 5",
    bytes(range(1, 256)).replace(b"\n", b"").replace(b"\r", b""),
]


def send_garbage(herd, name):
    """Sends GARBAGE_LINES and one valid IAMAT on one connection; returns the
    replies, the IAMAT's client id and time."""
    client_id = unique_client("after-garbage")
    sent_time = time_text(now_nanos())
    with connect(herd, name) as client:
        for garbage in GARBAGE_LINES:
            client.sendall(garbage + b"\n")
        client.sendall(iamat(client_id, UCLA, sent_time).encode() + b"\n")
        client.shutdown(socket.SHUT_WR)
        return read_until_closed(client).split(b"\n"), client_id, sent_time


def test_binary_garbage_is_echoed_and_the_connection_stays_usable(make_herd):
    herd, name = start_node(make_herd)
    with MemoryWatch(herd, name, "binary garbage"):
        replies, client_id, sent_time = send_garbage(herd, name)
    assert replies[:len(GARBAGE_LINES)] == [b"? " + g for g in GARBAGE_LINES]
    fields = parse_at_reply(replies[len(GARBAGE_LINES)].decode())
    assert (fields["client"], fields["time"]) == (client_id, sent_time)
    assert replies[len(GARBAGE_LINES) + 1:] == [b""]
    print(f"observed: binary garbage: {len(GARBAGE_LINES)} lines, each answered "
          "with '? ' + the bytes as sent; the IAMAT after them answered")


def test_binary_garbage_leaves_the_log_a_text_file(make_herd):
    herd, name = start_node(make_herd)
    send_garbage(herd, name)
    wait_for_log(herd, name, "OUT AT ")
    log = herd.log_path(name).read_bytes()
    assert b"\x00" not in log, "the server log holds NUL bytes"
    controls = sorted({c for c in log if c < 0x20 and c not in b"\n\t"})
    assert not controls, (
        f"control bytes (terminal escapes) in the server log: {controls}")
    try:
        log.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AssertionError(f"the server log is not UTF-8 text: {error}") from None


def test_non_utf8_client_id_is_refused_by_the_gateway(make_herd):
    """A client id must be UTF-8 (it travels in proto3 string fields). The
    gateway should say so itself, instead of handing the node a message that
    protobuf refuses to serialize and parse."""
    herd, name = start_node(make_herd)
    lines = [b"WHATSAT caf\xe9 10 5",
             b"IAMAT caf\xe9 " + UCLA.encode() + b" " + time_text(now_nanos()).encode()]
    with connect(herd, name) as client:
        for line in lines:
            client.sendall(line + b"\n")
        client.shutdown(socket.SHUT_WR)
        assert read_until_closed(client).split(b"\n") == [
            b"? " + line for line in lines] + [b""]
    # The log is written asynchronously, and the harness's own readiness
    # probe also closed a connection: wait for this connection's own lines.
    wait_for_log(herd, name, "line is not valid UTF-8")
    stderr = herd.process(name).stderr_path.read_text(errors="replace")
    assert "invalid UTF-8" not in stderr, (
        "the gateway passed a non-UTF-8 client id on to the node:\n" + stderr)


def test_client_shutting_down_its_write_side_mid_line(make_herd):
    herd, name = start_node(make_herd)
    client_id = unique_client("half-open")
    sent_time = time_text(now_nanos())
    with connect(herd, name) as half_line, connect(herd, name) as last_line, \
            herd.client(name) as bystander:
        half_line.sendall(b"IAMAT kiwi")
        half_line.shutdown(socket.SHUT_WR)
        assert read_until_closed(half_line) == b"? IAMAT kiwi\n"
        reason = dropped_line(herd, name, address_of(half_line))
        assert "client closed the connection" in reason
        # A complete command without its "\n" is still answered.
        last_line.sendall(iamat(client_id, UCLA, sent_time).encode())
        last_line.shutdown(socket.SHUT_WR)
        reply = read_until_closed(last_line).decode()
        assert reply.endswith("\n") and reply.count("\n") == 1, reply
        fields = parse_at_reply(reply.rstrip("\n"))
        assert (fields["client"], fields["time"]) == (client_id, sent_time)
        assert_served(bystander, name)
    print(f"observed: write side shut mid-line: '? IAMAT kiwi' then close; log: {reason}")


def test_client_vanishing_without_fin(make_herd):
    herd, name = start_node(make_herd)
    reasons = []
    with MemoryWatch(herd, name, "vanishing clients"), herd.client(name) as bystander:
        for pending in (b"", b"IAMAT half a line", b"WHATSAT x 10 5\n" * 3):
            with connect(herd, name) as client:
                address = address_of(client)
                # Reset only once the server has the connection (a reset
                # before accept() is the kernel's business, see RELIABILITY.md).
                wait_for_log(herd, name, f"connection opened from {address}")
                client.sendall(pending)
                # SO_LINGER 0: close() sends RST instead of FIN, as from a
                # host that crashed and came back, or a middlebox.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
            reasons.append(dropped_line(herd, name, address))
            assert_served(bystander, name)
    # A peer that vanishes without sending anything at all (a pulled cable)
    # is what the idle limit is for; the slowloris test shows it.
    print(f"observed: vanishing clients: {reasons}")


def test_client_that_never_reads_is_closed_at_pending_output_limit(make_herd):
    herd, name = start_node(make_herd)  # default max_pending_output_bytes
    client_id = unique_client("hoarder")
    with herd.client(name) as setup:
        assert parse_at_reply(setup.request(iamat(client_id, UCLA, time_text(now_nanos()))))
        setup.send_line(f"WHATSAT {client_id} 50 20")
        reply_bytes = len("\n".join(setup.read_until_blank_line())) + 2
    # Enough requests that their replies are several times the limit plus
    # what the kernel buffers on both sides of a loopback connection.
    requests = 8 * (DEFAULT_MAX_PENDING_OUTPUT_BYTES + (8 << 20)) // reply_bytes
    hoarder_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hoarder_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hoarder_sock.settimeout(10)
    with MemoryWatch(herd, name, "client that never reads"), \
            herd.client(name) as bystander, hoarder_sock:
        hoarder_sock.connect(herd.gateway(name))
        hoarder = address_of(hoarder_sock)
        sender = send_in_background(
            hoarder_sock, f"WHATSAT {client_id} 50 20\n".encode() * requests)
        reason = wait_for_log(herd, name, f"connection from {hoarder} dropped",
                              timeout=60)
        assert "client is not reading" in reason
        assert f"limit {DEFAULT_MAX_PENDING_OUTPUT_BYTES}" in reason
        assert_served(bystander, name)
        sender.join(timeout=30)
        assert not sender.is_alive(), "the hoarder's send never ended"
    print(f"observed: never-reading client: {requests} pipelined WHATSAT of "
          f"{reply_bytes} reply bytes each; log: {reason}")


# The herd's bound on client IDs (herdnode/mesh/location_check.h, kMaxClientIdBytes)
# and the default bound on client clocks ahead of the server's
# (config.proto, max_client_time_ahead_seconds).
MAX_CLIENT_ID_BYTES = 1024
DEFAULT_MAX_CLIENT_TIME_AHEAD_SECONDS = 300


def test_megabyte_client_id_is_refused_everywhere_and_said_so(herd, stubs):
    """A 1 MiB client ID used to be stored and flooded to every server while
    its caller was told the journal refused it, in an error echoing the whole
    ID (which a default gRPC client cannot even receive). Now it is refused
    before anything is applied, in an error of bounded size."""
    herd_pb2 = stubs.herd_pb2
    entry = "Hamilton"
    huge = "h" * (1 << 20)
    accepted_before = herd.status(entry).updates_accepted

    def report(client_id):
        return herd.node(entry).ReportLocation(herd_pb2.ReportLocationRequest(
            client_id=client_id, coordinates_text=UCLA,
            client_time_text=time_text(now_nanos())), timeout=10)

    for client_id in (huge, "x" * (MAX_CLIENT_ID_BYTES + 1)):
        with pytest.raises(grpc.RpcError) as refused:
            report(client_id)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
            refused.value.details()[:200])
        assert f"longer than {MAX_CLIENT_ID_BYTES} bytes" in refused.value.details()
        assert f"({len(client_id)} bytes)" in refused.value.details()
        assert len(refused.value.details()) < 256
    # An accepted report after the refused ones: once it is everywhere, a
    # refused one flooded before it on the same links would be too.
    marker = unique_client("after-huge")
    accepted = report(marker)
    assert accepted.outcome == herd_pb2.UPDATE_OUTCOME_ACCEPTED
    herd.wait_for_location(marker)
    for name in herd.names:
        assert herd.location(name, huge) is None, name
    assert herd.status(entry).updates_accepted == accepted_before + 1
    longest = "k" * MAX_CLIENT_ID_BYTES
    assert report(longest).outcome == herd_pb2.UPDATE_OUTCOME_ACCEPTED
    herd.wait_for_location(longest)


def test_iamat_far_in_the_future_cannot_freeze_a_client(herd):
    """IAMAT victim +2+2 9999999999.999999999 used to make every later real
    report for victim stale, on every server, forever."""
    victim = unique_client("victim")
    with herd.client("Parker") as attacker, herd.client("Alford") as owner:
        for future in ("9999999999.999999999",
                       time_text(now_nanos() + (DEFAULT_MAX_CLIENT_TIME_AHEAD_SECONDS
                                                + 60) * 10**9)):
            line = iamat(victim, "+2+2", future)
            assert attacker.request(line) == "? " + line
        real_time = time_text(now_nanos())
        fields = parse_at_reply(owner.request(iamat(victim, UCLA, real_time)))
        assert (fields["client"], fields["time"]) == (victim, real_time)
    herd.wait_for_location(
        victim, where=lambda loc: loc.client_time_text == real_time)

# The HTTP listener's limits (herdnode/ops/http_listener.h, HttpLimits), which
# these tests rely on; they are not configurable.
HTTP_MAX_CONNECTIONS = 1024
HTTP_HEAD_TIMEOUT_SECONDS = 5
HTTP_IDLE_CLIENTS = HTTP_MAX_CONNECTIONS + 76


def http_scrape(herd, name):
    """GET /metrics on a new connection: (status, seconds it took)."""
    started = time.monotonic()
    url = f"http://{herd.http_address(name)}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status, time.monotonic() - started


def connect_http(herd, name):
    host, port = herd.http_address(name).rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def wait_all_closed(sockets, timeout):
    """Waits (bounded) until the server has closed every socket; returns
    what each received before its close."""
    received = {sock: b"" for sock in sockets}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while selector.get_map():
            remaining = deadline - time.monotonic()
            assert remaining > 0, (
                f"{len(selector.get_map())} sockets still open")
            for key, _ in selector.select(timeout=min(remaining, 0.5)):
                read_ready(selector, key, received)
    return list(received.values())


def test_idle_http_connections_do_not_keep_metrics_down(make_herd):
    # Issue 12: 64 idle connections refused every scrape until they timed out
    # after 30 s. Now the longest idle is closed to make room, and any
    # connection without a complete head is closed after 5 s.
    raise_open_files_limit(HTTP_IDLE_CLIENTS + 1024)
    herd, name = start_node(make_herd)
    sockets = []
    try:
        with MemoryWatch(herd, name, f"{HTTP_IDLE_CLIENTS} idle HTTP "
                         "connections"):
            opened = time.monotonic()
            for _ in range(HTTP_IDLE_CLIENTS):
                sockets.append(connect_http(herd, name))
            status, took = http_scrape(herd, name)
            assert status == 200
            scraped_after = time.monotonic() - opened
            # Every one is closed by the server: the longest idle ones at
            # once, the rest at the head deadline.
            received = wait_all_closed(
                sockets, timeout=HTTP_HEAD_TIMEOUT_SECONDS + 30)
            closed_after = time.monotonic() - opened
            assert set(received) == {b""}, "closed without a reply"
            assert closed_after >= HTTP_HEAD_TIMEOUT_SECONDS

            def closes_logged():
                log = herd.log_path(name).read_text(errors="replace")
                counts = (log.count("closed, idle the longest, to admit a new"),
                          log.count("no complete request head within 5000 ms"),
                          log.count("are mid-request"))
                return counts if sum(counts) >= HTTP_IDLE_CLIENTS else None

            # Every idle connection's close is logged, as one or the other.
            evicted, timed_out, refused = wait_until(
                closes_logged, timeout=LOG_TIMEOUT,
                what=f"{HTTP_IDLE_CLIENTS} closes in the log")
            assert evicted >= HTTP_IDLE_CLIENTS - HTTP_MAX_CONNECTIONS + 1
            assert refused == 0
            status, _ = http_scrape(herd, name)
            assert status == 200
            print(f"observed: {HTTP_IDLE_CLIENTS} idle HTTP connections: "
                  f"/metrics 200 in {took * 1000:.1f} ms, "
                  f"{scraped_after:.2f} s after the first connect; "
                  f"{evicted} closed as the longest idle, {timed_out} at the "
                  f"head deadline; all closed {closed_after:.1f} s after the "
                  "first connect")
    finally:
        for sock in sockets:
            sock.close()


def test_http_slowloris_is_closed_at_the_head_deadline(make_herd):
    herd, name = start_node(make_herd)
    with MemoryWatch(herd, name, "HTTP slowloris"), \
            connect_http(herd, name) as slow:
        connected = time.monotonic()
        head = b"GET /metrics HTTP/1.1\r\nHost: h\r\nX-Slow: "
        sent = 0
        scrapes = 0
        # Bounded: one pass over 140 bytes, and no longer than the deadline
        # and 15 s.
        for byte in head + b"a" * 100:
            if not send_quietly(slow, bytes([byte])):
                break
            sent += 1
            if time.monotonic() - connected > HTTP_HEAD_TIMEOUT_SECONDS + 15:
                break
            status, _ = http_scrape(herd, name)
            assert status == 200
            scrapes += 1
            time.sleep(0.25)
        received = read_until_closed(slow, timeout=HTTP_HEAD_TIMEOUT_SECONDS + 15)
        closed_after = time.monotonic() - connected
        assert received == b""
        assert closed_after >= HTTP_HEAD_TIMEOUT_SECONDS
        reason = wait_for_log(herd, name,
                              f"http connection from {address_of(slow)} closed")
        assert "no complete request head within 5000 ms" in reason
        print(f"observed: HTTP slowloris: seen closed {closed_after:.2f} s "
              f"after connect, {sent} bytes sent; {scrapes} scrapes got 200 "
              f"meanwhile; log: {reason}")

"""Relays Unix-socket connections to TCP addresses of the network namespace
this process runs in (started with `ip netns exec NS`), so a test in the
root namespace can reach servers that listen only inside NS: Unix sockets
with a path are not namespaced, TCP addresses are.

    ns_relay.py PATH=HOST:PORT ...

For each PATH=HOST:PORT it listens on two Unix sockets and connects every
accepted connection to HOST:PORT, then copies bytes both ways:
- PATH: a plain byte relay (for gRPC channels, "unix:PATH");
- PATH.ack: first sends one byte "+" once HOST:PORT accepted, and closes
  without a byte if it refused, so a client can tell "the server accepts"
  from "the relay accepts" (TCP connect semantics; see netns_herd.py).

Prints "ready" once every socket listens; exits when its stdin closes (the
test ended or died). Uses only the standard library.
"""

import asyncio
import sys

CONNECT_TIMEOUT = 5.0
CHUNK = 65536


async def copy(reader, writer):
    """Copies until end of input, then passes the end on (half-close)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        # One side reset: the whole relayed connection ends.
        writer.transport.abort()


async def relay(client_reader, client_writer, host, port, announce):
    try:
        upstream_reader, upstream_writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        client_writer.close()  # no "+": the client sees a refusal
        return
    try:
        if announce:
            client_writer.write(b"+")
        await asyncio.gather(copy(client_reader, upstream_writer),
                             copy(upstream_reader, client_writer))
    finally:
        upstream_writer.close()
        client_writer.close()


async def serve(specs):
    servers = []
    for spec in specs:
        path, _, address = spec.partition("=")
        host, _, port = address.rpartition(":")
        if not (path and host and port.isdigit()):
            raise SystemExit(f"ns_relay.py: bad relay spec {spec!r} "
                             "(want PATH=HOST:PORT)")
        for listen_path, announce in ((path, False), (path + ".ack", True)):
            servers.append(await asyncio.start_unix_server(
                lambda r, w, h=host, p=int(port), a=announce:
                relay(r, w, h, p, a),
                path=listen_path))
    print("ready", flush=True)
    # Blocks a worker thread until the test closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))

#!/usr/bin/env python3
"""Baseline herd server on the standard library's asyncio (no uvloop).

The classic proxy herd: clients speak IAMAT/WHATSAT on the client port; each
accepted update is flooded as an AT line to every linked peer but the sender,
over one persistent outgoing connection per peer (re-dialled while the peer is
away). Peers dial our peer port and first say "PEER <name>"; AT lines are
accepted there only, so a client cannot forge locations.

Usage: asyncio_herd.py --name Hamilton --herd herd.json [--log FILE]
"""

import asyncio
import signal

from herd_text import FloodingServer, server_from_arguments

MAX_LINE_BYTES = 65536
RECONNECT_DELAY_S = 0.1


class Server(FloodingServer):
    """FloodingServer's asyncio streams: clients, peers and outgoing links."""

    async def serve_client(self, reader, writer):
        who = writer.get_extra_info("peername")
        self.log.write("open", who, "")
        try:
            while raw := await reader.readline():
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.log.write("in", who, line)
                reply, flood = self.state.client_line(line)
                writer.write(reply.encode())
                self.log.write("out", who, reply)
                if flood:
                    self.flood(flood)
                await writer.drain()
        except (ValueError, ConnectionError):
            pass  # a line over the limit or a reset: drop this client only
        finally:
            self.log.write("close", who, "")
            writer.close()

    async def serve_peer(self, reader, writer):
        try:
            hello = (await reader.readline()).decode("utf-8", "replace").split()
            if len(hello) != 2 or hello[0] != "PEER" or hello[1] not in self.peers:
                return
            sender = hello[1]
            self.log.write("peer-in", sender, "")
            while raw := await reader.readline():
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.log.write("in", sender, line)
                flood = self.state.peer_line(line)
                if flood:
                    self.flood(flood, sender)
        except (ValueError, ConnectionError):
            pass
        finally:
            writer.close()

    async def keep_link(self, peer):
        address = self.herd["servers"][peer]
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    address["host"], address["peer_port"])
            except OSError:
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            writer.write(f"PEER {self.name}\n".encode())
            self.peer_writers[peer] = writer.write
            self.log.write("link-up", peer, "")
            try:
                await reader.read()  # the peer never writes here: EOF = gone
            except ConnectionError:
                pass
            del self.peer_writers[peer]
            writer.close()
            self.log.write("link-down", peer, "")
            await asyncio.sleep(RECONNECT_DELAY_S)


async def main():
    server = server_from_arguments(Server, __doc__)
    me = server.herd["servers"][server.name]
    clients = await asyncio.start_server(
        server.serve_client, me["host"], me["port"], limit=MAX_LINE_BYTES)
    peers = await asyncio.start_server(
        server.serve_peer, me["host"], me["peer_port"], limit=MAX_LINE_BYTES)
    links = [asyncio.create_task(server.keep_link(p)) for p in server.peers]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for task in links:
        task.cancel()
    clients.close()
    peers.close()
    server.log.close()


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Baseline herd server on Twisted (Debian's python3-twisted).

The same classic proxy herd as asyncio_herd.py: IAMAT/WHATSAT on the client
port; accepted updates flooded as AT lines to every linked peer but the
sender over persistent outgoing connections (ReconnectingClientFactory
re-dials a peer that went away); peers dial our peer port, say
"PEER <name>" first, and only there are AT lines accepted.

Usage: twisted_herd.py --name Hamilton --herd herd.json [--log FILE]
"""


from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineOnlyReceiver

from herd_text import FloodingServer, server_from_arguments

MAX_LINE_BYTES = 65536


class HerdLineReceiver(LineOnlyReceiver):
    """Lines of at most MAX_LINE_BYTES ("\n" or "\r\n"), for one server."""

    delimiter = b"\n"
    MAX_LENGTH = MAX_LINE_BYTES

    def __init__(self, server):
        self.server = server

    def lineLengthExceeded(self, line):
        self.transport.loseConnection()

    @staticmethod
    def text(line):
        return line.decode("utf-8", "replace").rstrip("\r")


class ClientConnection(HerdLineReceiver):
    who = None

    def connectionMade(self):
        # asyncio and Node set TCP_NODELAY too; without it Nagle's algorithm
        # would hold back lines written back to back.
        self.transport.setTcpNoDelay(True)
        self.who = self.transport.getPeer()
        self.server.log.write("open", self.who, "")

    def lineReceived(self, line):
        text = self.text(line)
        self.server.log.write("in", self.who, text)
        reply, flood = self.server.state.client_line(text)
        self.transport.write(reply.encode())
        self.server.log.write("out", self.who, reply)
        if flood:
            self.server.flood(flood)

    def connectionLost(self, reason=protocol.connectionDone):
        self.server.log.write("close", self.who, "")


class PeerConnection(HerdLineReceiver):
    """A linked peer dialled us: its first line names it, then AT lines."""

    sender = None

    def lineReceived(self, line):
        text = self.text(line)
        if self.sender is None:
            hello = text.split()
            if len(hello) != 2 or hello[0] != "PEER" or hello[1] not in self.server.peers:
                self.transport.loseConnection()
                return
            self.sender = hello[1]
            self.server.log.write("peer-in", self.sender, "")
            return
        self.server.log.write("in", self.sender, text)
        flood = self.server.state.peer_line(text)
        if flood:
            self.server.flood(flood, self.sender)


class PeerLink(protocol.Protocol):
    """Our outgoing connection to one linked peer; we only write to it."""

    def __init__(self, server, peer):
        self.server = server
        self.peer = peer

    def connectionMade(self):
        self.transport.setTcpNoDelay(True)
        self.transport.write(f"PEER {self.server.name}\n".encode())
        self.server.peer_writers[self.peer] = self.transport.write
        self.server.log.write("link-up", self.peer, "")

    def connectionLost(self, reason=protocol.connectionDone):
        if self.server.peer_writers.get(self.peer) == self.transport.write:
            del self.server.peer_writers[self.peer]
        self.server.log.write("link-down", self.peer, "")


class PeerLinkFactory(protocol.ReconnectingClientFactory):
    initialDelay = 0.1
    maxDelay = 1.0

    def __init__(self, server, peer):
        self.server = server
        self.peer = peer

    def buildProtocol(self, addr):
        self.resetDelay()
        return PeerLink(self.server, self.peer)


class ServerFactory(protocol.Factory):
    def __init__(self, server, connection_class):
        self.server = server
        self.connection_class = connection_class

    def buildProtocol(self, addr):
        return self.connection_class(self.server)


def main():
    server = server_from_arguments(FloodingServer, __doc__)
    me = server.herd["servers"][server.name]
    reactor.listenTCP(me["port"], ServerFactory(server, ClientConnection),
                      interface=me["host"])
    reactor.listenTCP(me["peer_port"], ServerFactory(server, PeerConnection),
                      interface=me["host"])
    for peer in server.peers:
        address = server.herd["servers"][peer]
        reactor.connectTCP(address["host"], address["peer_port"],
                           PeerLinkFactory(server, peer))
    reactor.run()  # stops on SIGINT and SIGTERM
    server.log.close()


if __name__ == "__main__":
    main()

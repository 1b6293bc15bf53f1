"""A client of the text gateway: one TCP connection, reads whole lines with a
deadline, so a missing reply is a clear failure rather than a hang."""

import socket
import time

DEFAULT_TIMEOUT = 15.0


class TextClient:
    def __init__(self, host=None, port=None, *, source_ip=None,
                 timeout=DEFAULT_TIMEOUT, sock=None):
        """Connects to host:port, or talks on sock, a connection made
        elsewhere (e.g. through a relay into a network namespace)."""
        self.timeout = timeout
        self._buffer = b""
        self._sock = sock if sock is not None else socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source_ip, 0) if source_ip else None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def local_address(self):
        """This end of the connection as "ip:port", as the server sees it."""
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    def send_raw(self, data: bytes):
        self._sock.sendall(data)

    def send_line(self, line: str):
        self.send_raw(line.encode() + b"\n")

    def _receive(self, deadline, waiting_for):
        """One read before the deadline: bytes, or b"" once the server has
        closed the connection."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {waiting_for} "
                                     f"(received: {self._buffer[:500]!r})")
            self._sock.settimeout(remaining)
            try:
                return self._sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return b""

    def read_line(self, timeout=None) -> str:
        """The next line without its "\\n"; fails on time-out or EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self._buffer:
            data = self._receive(deadline, "a complete reply line")
            if not data:
                raise AssertionError(
                    f"server closed the connection (partial: {self._buffer!r})")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def read_lines(self, count, timeout=None):
        return [self.read_line(timeout) for _ in range(count)]

    def read_until_blank_line(self, max_lines=10000, timeout=None):
        """Lines up to (not including) the first empty line: a WHATSAT reply."""
        lines = []
        for _ in range(max_lines):
            line = self.read_line(timeout)
            if line == "":
                return lines
            lines.append(line)
        raise AssertionError(f"no blank line within {max_lines} lines")

    def request(self, line: str, timeout=None) -> str:
        """Sends one line and returns the one-line reply."""
        self.send_line(line)
        return self.read_line(timeout)

    def wait_closed(self, timeout=None):
        """Reads until the server closes; returns what arrived before that."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while data := self._receive(deadline, "the server to close"):
            self._buffer += data
        received, self._buffer = self._buffer, b""
        return received

    def close(self):
        self._sock.close()

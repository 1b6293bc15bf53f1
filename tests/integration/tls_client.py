"""openssl s_client as a client of a TLS gateway, run the way a user runs it
(README, "Client certificates"): its stdin and stdout are one end of a
socket pair, so the test talks to it through a TextClient exactly as to a
plaintext gateway, with the same deadlines."""

import socket
import subprocess
import tempfile

from text_client import DEFAULT_TIMEOUT, TextClient

STOP_TIMEOUT = 5


class SClient:
    def __init__(self, address, *, ca_file, server_name, cert=None, key=None,
                 timeout=DEFAULT_TIMEOUT):
        """Connects to address (host:port), verifying the gateway's
        certificate against ca_file and server_name; presents cert/key (the
        client's certificate) if given."""
        command = ["openssl", "s_client", "-quiet", "-connect", address,
                   "-CAfile", str(ca_file), "-verify_return_error",
                   "-verify_hostname", server_name]
        if cert is not None:
            command += ["-cert", str(cert), "-key", str(key)]
        ours, theirs = socket.socketpair()
        # s_client's diagnostics (verification, alerts), for failure messages.
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(command, stdin=theirs,
                                             stdout=theirs, stderr=self._stderr)
        finally:
            theirs.close()
        self.text = TextClient(sock=ours, timeout=timeout)

    def __enter__(self):
        return self.text

    def __exit__(self, *exc):
        self.close()

    def diagnostics(self):
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self):
        self.text.close()
        if self._process.poll() is None:
            self._process.terminate()
        try:
            self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT)
        self._stderr.close()

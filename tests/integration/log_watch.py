"""What a server's log says from some moment on, for tests that wait for a
line the server writes."""

from polling import wait_until

LOG_TIMEOUT = 30


class LogWatch:
    """Reads what a server's log gained since the watch was made."""

    def __init__(self, herd, name):
        self.path = herd.log_path(name)
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def new_text(self):
        with open(self.path, "rb") as log:
            log.seek(self.start)
            return log.read().decode(errors="replace")

    def wait_for(self, *needles, timeout=LOG_TIMEOUT):
        def found():
            text = self.new_text()
            return all(needle in text for needle in needles) and text
        return wait_until(found, timeout=timeout,
                          what=f"{needles} in {self.path}")

"""Bounded waiting: every wait in these tests has a deadline."""

import time


def wait_until(condition, *, timeout, what, interval=0.05):
    """Calls condition() until it returns something truthy, and returns that.

    Fails after `timeout` seconds with a message naming `what`; if condition
    exposes a last observed state through an exception or a falsy value, the
    message includes it so a failure says what was seen instead.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        result = condition()
        if result:
            return result
        last = result
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}"
                + (f"; last seen: {last!r}" if last not in (None, False) else ""))
        time.sleep(interval)

"""The status page end to end: a real five-server herd, IAMATs through the
gateways, and the page driven in Debian's headless Chromium (playwright-core,
tests/status/page_driver.js). What the page shows is checked against what
the test reported and what GetStatus says; then a server is killed and the
page, refreshing by itself, must show that link DOWN. A screenshot of the
page is kept as a test artefact.

Needs (ctest sets them): HERD_PLAYWRIGHT_MODULES (node_modules with
playwright-core, installed by the build from tests/status/package-lock.json)
and HERD_TEST_ARTIFACTS (where the screenshot goes); HERD_CHROMIUM (default
/usr/bin/chromium). A missing browser is a failure, never a skip.
"""

import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from at_line import iamat, now_nanos, time_text, unique_client
from polling import wait_until

TIMEOUT = 30
DRIVER = Path(__file__).resolve().parent.parent / "status" / "page_driver.js"
# The page's server: linked to Alford, Bolden and Hamilton in the shipped herd.
VIEWED = "Parker"
# (prefix, coordinates as sent, latitude, longitude, gateway it is sent to)
CLIENTS = [
    ("ucla", "+34.068930-118.445127", 34.068930, -118.445127, "Hamilton"),
    ("sydney", "-33.868800+151.209300", -33.8688, 151.2093, "Alford"),
    ("london", "+51.507400-000.127800", 51.5074, -0.1278, "Powell"),
    ("nairobi", "-01.292100+036.821900", -1.2921, 36.8219, "Parker"),
]


def required_path(variable, default=None):
    value = os.environ.get(variable, default)
    if not value:
        pytest.fail(f"${variable} is not set (ctest sets it; see "
                    "tests/status/CMakeLists.txt)")
    return Path(value)


class PageDriver:
    """page_driver.js in a subprocess: one JSON command, one JSON answer."""

    def __init__(self, url):
        modules = required_path("HERD_PLAYWRIGHT_MODULES")
        if not (modules / "playwright-core").is_dir():
            pytest.fail(f"playwright-core is not installed in {modules}: build "
                        "the herd_status_page_test_modules target (npm ci)")
        chromium = required_path("HERD_CHROMIUM", "/usr/bin/chromium")
        if not os.access(chromium, os.X_OK):
            pytest.fail(f"no Chromium at {chromium}: install Debian's chromium "
                        "package (scripts/deps.sh does; ./test.sh runs it)")
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not installed (scripts/deps.sh installs it)")
        self._process = subprocess.Popen(
            [node, str(DRIVER), url], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "HERD_CHROMIUM": str(chromium)})
        self._stderr = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for line in self._process.stderr:
            self._stderr.append(line)

    def command(self, timeout=60, **command):
        """Sends one command; its answer, failing on error, EOF or time-out."""
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        answer = []
        reader = threading.Thread(
            target=lambda: answer.append(self._process.stdout.readline()),
            daemon=True)
        reader.start()
        reader.join(timeout)
        if not answer or not answer[0]:
            pytest.fail(f"page driver gave no answer to {command}; stderr:\n"
                        + "".join(self._stderr[-30:]))
        reply = json.loads(answer[0])
        assert reply["ok"], f"page driver: {reply.get('error')} (for {command})"
        return reply

    def read(self, after):
        """What the page shows once it has refreshed more than `after` times."""
        return self.command(cmd="read", after=after, timeout_ms=15000)

    def close(self):
        try:
            self.command(cmd="close", timeout=20)
            self._process.stdin.close()
            self._process.wait(timeout=20)
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait(timeout=10)


def http_status(url, method="GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def link_key(herd, name, peer):
    """The page's data-link of the herd file's link between name and peer."""
    for link in herd.config.links:
        if {link.a, link.b} == {name, peer}:
            return f"{link.a}|{link.b}"
    raise AssertionError(f"no link {name}-{peer} in the herd file")


def page_links(page):
    return {link["link"]: link for link in page["links"]}


def test_status_page_shows_the_herds_real_state(herd):
    artifacts = required_path("HERD_TEST_ARTIFACTS")
    base = f"http://{herd.http_address(VIEWED)}"
    assert http_status(f"{base}/no-such-page") == 404
    assert http_status(f"{base}/", method="POST") == 405

    wait_until(lambda: all(p.state == "UP" for n in herd.names
                           for p in herd.status(n).peers),
               timeout=TIMEOUT, what="every link to be UP")
    sent = {}
    for prefix, coords, lat, lon, gateway in CLIENTS:
        client_id = unique_client(prefix)
        client_time = time_text(now_nanos())
        with herd.client(gateway) as client:
            reply = client.request(iamat(client_id, coords, client_time))
        assert reply.startswith(f"AT {gateway} "), reply
        sent[client_id] = (client_time, lat, lon, gateway)
    for client_id in sent:
        herd.wait_for_location(client_id, names=[VIEWED])

    driver = PageDriver(f"{base}/")
    try:
        shown = driver.read(after=0)
        page = shown["page"]
        assert page["node"] == VIEWED
        assert page["refresh_ok"], page["refresh_text"]
        assert page["map_land_chars"] > 10_000, "the world map was not drawn"
        assert sorted(s["name"] for s in page["servers"]) == sorted(herd.names)
        assert [s["name"] for s in page["servers"] if s["self"]] == [VIEWED]
        assert len(page["links"]) == len(herd.config.links)

        # Every client the test reported: a dot where it is, a table row
        # naming the server that heard it, and an entry in recent updates.
        dots = {dot["id"]: dot for dot in page["dots"]}
        rows = {row["id"]: row for row in page["client_rows"]}
        updates = {(u["id"], u["client_time"]): u for u in page["updates"]}
        for client_id, (client_time, lat, lon, gateway) in sent.items():
            assert client_id in dots, f"no dot for {client_id}"
            assert dots[client_id]["cx"] == pytest.approx(lon + 180, abs=0.01)
            assert dots[client_id]["cy"] == pytest.approx(90 - lat, abs=0.01)
            assert client_id in dots[client_id]["title"]
            assert rows[client_id]["cells"][3] == gateway
            assert (client_id, client_time) in updates, \
                f"{client_id} at {client_time} not among recent updates"
            assert updates[(client_id, client_time)]["origin"] == gateway

        # Link states and traffic match GetStatus once nothing moves.
        def page_matches_get_status():
            current = driver.read(after=shown["page"]["refreshes"])
            status = herd.status(VIEWED)
            rows_now = {row["peer"]: row for row in current["page"]["peers"]}
            links = page_links(current["page"])
            for peer in status.peers:
                row = rows_now.get(peer.name)
                link = links[link_key(herd, VIEWED, peer.name)]
                expected = [peer.name, peer.state, str(peer.updates_sent),
                            str(peer.updates_received)]
                if row is None or row["cells"][:4] != expected \
                        or link["state"] != peer.state \
                        or link["traffic"] != (f"↑{peer.updates_sent} "
                                               f"↓{peer.updates_received}"):
                    return False
            return current
        shown = wait_until(page_matches_get_status, timeout=TIMEOUT,
                           what="the page's links to match GetStatus")
        assert {row["state"] for row in shown["page"]["peers"]} == {"UP"}
        # Links between two other servers: the page does not claim to know.
        for key, link in page_links(shown["page"]).items():
            if VIEWED not in key.split("|"):
                assert link["state"] == "UNKNOWN" and link["traffic"] is None

        # A server dies: the page, refreshing by itself, shows its link DOWN.
        herd.kill("Hamilton")
        down_key = link_key(herd, VIEWED, "Hamilton")

        def shows_down():
            current = driver.read(after=shown["page"]["refreshes"])
            rows_now = {r["peer"]: r for r in current["page"]["peers"]}
            if page_links(current["page"])[down_key]["state"] == "DOWN" \
                    and rows_now["Hamilton"]["state"] == "DOWN":
                return current
            return False
        shown = wait_until(shows_down, timeout=TIMEOUT,
                           what="the page to show the link to Hamilton DOWN")
        # GetStatus agrees that the link is not up (it retries meanwhile, so
        # it may be SYNCING for a moment between DOWNs).
        assert herd.peer_state(VIEWED, "Hamilton") in ("DOWN", "SYNCING")
        assert page_links(shown["page"])[link_key(herd, VIEWED, "Alford")][
            "state"] == "UP"

        # Nothing but the node itself was asked for anything.
        foreign = [url for url in shown["requests"]
                   if not url.startswith(f"{base}/")]
        assert not foreign, f"the page fetched from elsewhere: {foreign}"
        assert not shown["problems"], shown["problems"]

        artifacts.mkdir(parents=True, exist_ok=True)
        screenshot = artifacts / "status-page.png"
        driver.command(cmd="screenshot", path=str(screenshot))
        assert screenshot.stat().st_size > 10_000
        print(f"status page screenshot: {screenshot}")
    finally:
        driver.close()

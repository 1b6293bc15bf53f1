"""Prometheus metrics end to end: GET /metrics over real HTTP on every
server, the exposition checked by promtool, and a real Prometheus (Debian's
`prometheus`) scraping the herd on loopback and answering a query."""

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from at_line import UCLA, iamat, now_nanos, time_text, unique_client
from local_herd import free_ports, tail
from polling import wait_until

TIMEOUT = 30
PROMETHEUS_TIMEOUT = 90


def scrape(herd, name):
    """The text of a server's /metrics, checking the HTTP answer."""
    url = f"http://{herd.http_address(name)}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith(
            "text/plain; version=0.0.4")
        return response.read().decode()


def samples(text):
    """{'name{labels}': value} of every sample line of an exposition."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        values[series] = float(value)
    return values


def value(herd, name, series):
    return samples(scrape(herd, name)).get(series)


def wait_links_up(herd):
    def all_up():
        return all(peer.state == "UP" for name in herd.names
                   for peer in herd.status(name).peers)
    wait_until(all_up, timeout=TIMEOUT, what="every link to be UP")


def test_metrics_reflect_an_iamat_at_every_server(herd):
    wait_links_up(herd)
    before = {name: samples(scrape(herd, name)) for name in herd.names}
    for name in herd.names:
        assert "herd_updates_accepted_total" in before[name], name
    client_id = unique_client()
    with herd.client("Hamilton") as client:
        reply = client.request(iamat(client_id, UCLA, time_text(now_nanos())))
    assert reply.startswith("AT Hamilton ")
    herd.wait_for_location(client_id)

    def accepted_everywhere():
        return all(
            value(herd, name, "herd_updates_accepted_total")
            == before[name]["herd_updates_accepted_total"] + 1
            for name in herd.names)
    wait_until(accepted_everywhere, timeout=TIMEOUT,
               what="herd_updates_accepted_total +1 at every server")

    hamilton = samples(scrape(herd, "Hamilton"))
    parker = samples(scrape(herd, "Parker"))
    sent = 'herd_peer_floods_sent_total{peer="Parker"}'
    received = 'herd_peer_floods_received_total{peer="Hamilton"}'
    assert hamilton[sent] == before["Hamilton"][sent] + 1
    assert parker[received] == before["Parker"][received] + 1
    # Parker floods on to its other peers, never back to Hamilton.
    for peer in ("Alford", "Bolden"):
        series = f'herd_peer_floods_sent_total{{peer="{peer}"}}'
        assert parker[series] == before["Parker"][series] + 1, peer
    assert (parker['herd_peer_floods_sent_total{peer="Hamilton"}']
            == before["Parker"]['herd_peer_floods_sent_total{peer="Hamilton"}'])
    assert hamilton['herd_peer_link_state{peer="Parker",state="UP"}'] == 1
    assert hamilton['herd_peer_link_state{peer="Parker",state="DOWN"}'] == 0
    # The gateway saw the client's connection and timed its IAMAT.
    iamats = 'herd_gateway_request_duration_seconds_count{command="IAMAT"}'
    assert hamilton[iamats] == before["Hamilton"][iamats] + 1
    assert hamilton["herd_gateway_connections_total"] >= 1


def test_unknown_paths_are_404(herd):
    url = f"http://{herd.http_address('Parker')}/nothing-here"
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url, timeout=5)
    assert error.value.code == 404


def test_promtool_accepts_the_exposition(herd, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool not installed (Debian package prometheus)"
    wait_links_up(herd)
    with herd.client("Hamilton") as client:
        client.request(iamat(unique_client(), UCLA, time_text(now_nanos())))
    text = scrape(herd, "Parker")
    result = subprocess.run([promtool, "check", "metrics"], input=text,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def query_prometheus(port, expression):
    """The instant vector Prometheus answers for expression, or None while it
    is not serving yet."""
    url = (f"http://127.0.0.1:{port}/api/v1/query?"
           + urllib.parse.urlencode({"query": expression}))
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except (urllib.error.URLError, ConnectionError):
        return None
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_a_real_prometheus_scrapes_the_herd(herd, tmp_path):
    binary = shutil.which("prometheus")
    assert binary, "prometheus not installed (Debian package prometheus)"
    wait_links_up(herd)
    client_id = unique_client()
    with herd.client("Bolden") as client:
        client.request(iamat(client_id, UCLA, time_text(now_nanos())))
    herd.wait_for_location(client_id)
    expected = {name: value(herd, name, "herd_updates_accepted_total")
                for name in herd.names}

    targets = ", ".join(f'"{herd.http_address(name)}"' for name in herd.names)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: herd\n"
        f"    static_configs:\n      - targets: [{targets}]\n")
    (port,) = free_ports(1)
    log = tmp_path / "prometheus.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={config}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        def scraped():
            assert process.poll() is None, (
                f"prometheus exited {process.returncode}: {tail(log)}")
            result = query_prometheus(port, "herd_updates_accepted_total")
            if not result:
                return None
            seen = {sample["metric"]["instance"]: float(sample["value"][1])
                    for sample in result}
            wanted = {herd.http_address(name): expected[name]
                      for name in herd.names}
            return seen if seen == wanted else None
        wait_until(scraped, timeout=PROMETHEUS_TIMEOUT, interval=0.5,
                   what="Prometheus to report every server's accepted count")
        up = query_prometheus(port, 'up{job="herd"}')
        assert sorted(float(s["value"][1]) for s in up) == [1.0] * len(herd.names)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

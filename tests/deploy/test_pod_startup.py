"""The real herdnode started by the entry point from the herd file the pods
get, as pod herd-2 would start (no cluster: the herd file's ports and paths
are moved to free ports and temporary directories of this machine, and the
pod listens on 127.0.0.1), with the container's arguments. Its peers' DNS
names do not resolve here, so it runs alone: this shows that the Kubernetes
herd file, its certificates and the entry point make a server that starts,
answers as the server of its ordinal, serves the probes' health check,
applies a changed herd file as the kubelet delivers it (the way a scaled
herd's file arrives) and stops on SIGTERM."""

import os
import re
import signal
import subprocess
from pathlib import Path

import grpc
import pytest

from stubs import REPO_ROOT
from entrypoint_run import ENTRYPOINT
from local_herd import split_address, tail
from ports import free_ports
from polling import wait_until
from text_client import TextClient

ORDINAL = 2
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 15
MAKE_CERTS = REPO_ROOT / "deploy" / "make-certs.sh"
ROLE_PORTS = {"gateway": 12000, "peer": 13000, "operator": 14000,
              "http": 15000}


def localize(text, replacements):
    """text with each (old, new) replaced; every old must occur."""
    for old, new in replacements:
        assert old in text, f"the Kubernetes herd file no longer has {old!r}"
        text = text.replace(old, new)
    return text


def make_certs(out_dir, names):
    if not MAKE_CERTS.exists():
        pytest.skip(f"{MAKE_CERTS} does not exist yet: no certificates for "
                    "the pod's mutual TLS")
    result = subprocess.run(["bash", str(MAKE_CERTS), str(out_dir), *names],
                            capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, f"make-certs.sh failed:\n{result.stderr}"


class Pod:
    """herd-2's herdnode, started through the entry point."""

    def __init__(self, workdir, herd_file_text, names, args, herdnode_bin):
        self.workdir = workdir
        self.names = names
        self.args = args
        self.herdnode_bin = herdnode_bin
        self.ports = dict(zip(ROLE_PORTS, free_ports(len(ROLE_PORTS))))
        certs = workdir / "certs"
        make_certs(certs, names)
        index = os.environ.get("HERD_GAZETTEER_INDEX")
        if not index:
            pytest.fail("HERD_GAZETTEER_INDEX is not set (CMake sets it for "
                        "ctest): the gazetteer index the build made")
        replacements = [(f':{port}"', f':{self.ports[role]}"')
                        for role, port in ROLE_PORTS.items()]
        replacements += [("/etc/herd/certs/", f"{certs}/"),
                         ("/usr/share/herd/cities.idx", index),
                         ('"/var/log/herd"', f'"{workdir / "logs"}"'),
                         ('"/var/lib/herd"', f'"{workdir / "data"}"')]
        self.herd_file = workdir / "herd.textproto"
        self.herd_file.write_text(localize(herd_file_text, replacements))
        self.stdout = workdir / "stdout"
        self.stderr = workdir / "stderr"
        self.process = None

    def start(self):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOSTNAME": f"herd-{ORDINAL}",
            # As the StatefulSet sets it: the pod's name.
            "HERD_NAME": f"herd-{ORDINAL}",
            "HERD_CONFIG": str(self.herd_file),
            "HERD_LISTEN_HOST": "127.0.0.1",
            "HERDNODE": str(self.herdnode_bin),
        }
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [str(ENTRYPOINT), *self.args], env=env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, cwd=self.workdir)
        self.ready_line = wait_until(self._ready_line, timeout=STARTUP_TIMEOUT,
                                     what="herd-2's herdnode to listen")
        return self

    def _ready_line(self):
        if self.process.poll() is not None:
            raise AssertionError(
                f"exited with {self.process.returncode} while starting; "
                f"stderr:\n{tail(self.stderr)}")
        for line in self.stdout.read_text().splitlines():
            if line.startswith("herdnode "):
                return line
        return None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="module")
def pod(tmp_path_factory, herd_file_text, manifests, herdnode_bin):
    started = Pod(tmp_path_factory.mktemp("pod"), herd_file_text,
                  manifests.herd_names(), manifests.container().get("args", []),
                  herdnode_bin)
    try:
        yield started.start()
    finally:
        started.stop()


def test_starts_as_the_server_of_its_ordinal(pod):
    name = pod.names[ORDINAL]
    gateway = f"127.0.0.1:{pod.ports['gateway']}"
    assert pod.ready_line.startswith(f"herdnode {name}: gateway {gateway}, ")
    assert f"herd-{ORDINAL} is {name}" in pod.stderr.read_text()


def test_herdnode_is_the_process_kubernetes_started(pod):
    exe = Path(f"/proc/{pod.process.pid}/exe").resolve()
    assert exe == pod.herdnode_bin.resolve()


def test_gateway_answers_as_that_server(pod):
    with TextClient("127.0.0.1", pod.ports["gateway"]) as client:
        reply = client.request(
            "IAMAT pod.test +34.068930-118.445127 1621464827.959498503")
    assert reply.startswith(f"AT {pod.names[ORDINAL]} ")
    assert reply.endswith(" pod.test +34.068930-118.445127 1621464827.959498503")


def test_probe_port_serves_grpc_health(pod, stubs, manifests):
    probe_port = manifests.port_number(
        manifests.container()["readinessProbe"]["grpc"]["port"])
    assert probe_port == ROLE_PORTS["operator"]
    operator = re.search(r", operator ([^,\s]+)", pod.ready_line)
    if operator is None:
        pytest.skip("this herdnode does not listen on operator_address yet, "
                    "where the probes ask")
    assert split_address(operator.group(1))[1] == pod.ports["operator"]
    with grpc.insecure_channel(f"127.0.0.1:{pod.ports['operator']}") as channel:
        health = stubs.health_pb2_grpc.HealthStub(channel)
        response = health.Check(stubs.health_pb2.HealthCheckRequest(service=""),
                                timeout=10)
    assert response.status == stubs.health_pb2.HealthCheckResponse.SERVING


def test_a_changed_herd_file_is_applied_without_a_restart(pod):
    """The kubelet swaps a ConfigMap's files in at once; the server sees the
    new file (--watch_herd_file, from the container's arguments) and links
    to the server the new file adds."""
    log = pod.workdir / "logs" / f"herd-{ORDINAL}.log"
    text = pod.herd_file.read_text()
    pod_port = pod.ports["peer"]
    grown = text + (
        '\nservers { name: "herd-5" gateway_address: "herd-5.herd:1" '
        f'grpc_address: "herd-5.herd:{pod_port}" }}\n'
        f'links {{ a: "herd-{ORDINAL}" b: "herd-5" }}\n')
    staged = pod.herd_file.with_suffix(".staged")
    staged.write_text(grown)
    staged.replace(pod.herd_file)
    wait_until(lambda: "reloaded: links added [herd-5]" in log.read_text(),
               timeout=STARTUP_TIMEOUT, what="herd-2 to apply the new herd file")
    assert pod.process.poll() is None


def test_sigterm_stops_it_cleanly(pod):
    """Last: Kubernetes stops a pod with SIGTERM to the process it started."""
    pod.process.send_signal(signal.SIGTERM)
    assert pod.process.wait(timeout=STOP_TIMEOUT) == 0, tail(pod.stderr)

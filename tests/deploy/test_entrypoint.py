"""deploy/entrypoint.sh, the image's entry point, run as Kubernetes would
run it (HOSTNAME the pod name, the pod's environment from the rendered
StatefulSet and ConfigMap), with a stand-in herdnode that records how it
was started."""

import os
import re

import pytest

from entrypoint_run import ENTRYPOINT, FakePod, posix_shells

SHELLS = posix_shells()


@pytest.fixture(params=SHELLS, ids=[name for name, _ in SHELLS])
def pod(request, tmp_path, herd_file_text, manifests):
    """A fake pod of the rendered StatefulSet, under each POSIX shell."""
    fake = FakePod(tmp_path, herd_file_text, shell=request.param)
    # The container's literal environment, as the manifest sets it, except
    # the paths this machine has elsewhere.
    for name, var in manifests.env().items():
        if "value" in var and name not in ("HERD_CONFIG", "HERD_RUN_DIR"):
            fake.env[name] = var["value"]
    fake.env["HERD_NAMES"] = " ".join(manifests.herd_names())
    return fake


def own_addresses(text, host):
    return re.findall(rf'"{re.escape(host)}:(\d+)"', text)


def test_there_is_a_posix_shell_to_test_with():
    assert SHELLS, "no dash, bash or busybox to run the entry point"


def test_entrypoint_is_executable():
    assert os.access(ENTRYPOINT, os.X_OK)


def test_pod_n_runs_server_n(pod, manifests):
    names = manifests.herd_names()
    for ordinal, name in enumerate(names):
        started = pod.run(HOSTNAME=f"herd-{ordinal}")
        assert started.returncode == 0, started.stderr
        assert started.flag("--name") == name
        assert f"herd-{ordinal} is {name}" in started.stderr


def test_own_addresses_listen_on_all_interfaces(pod, manifests):
    """Pod herd-2 binds its own four ports on 0.0.0.0 and dials its peers
    at their pod DNS names; nothing else in the herd file changes."""
    original = pod.herd_file.read_text()
    started = pod.run(HOSTNAME="herd-2")
    rendered = pod.rendered(started)
    assert own_addresses(original, "herd-2.herd") == [
        "12000", "13000", "14000", "15000"]
    assert own_addresses(rendered, "herd-2.herd") == []
    assert own_addresses(rendered, "0.0.0.0") == [
        "12000", "13000", "14000", "15000"]
    for peer in (0, 1, 3, 4):
        host = f"herd-{peer}.herd"
        assert own_addresses(rendered, host) == own_addresses(original, host)
    assert rendered.replace('"0.0.0.0:', '"herd-2.herd:') == original
    # The ConfigMap's file is read-only in a pod: the copy is elsewhere.
    assert started.flag("--config") == str(pod.dir / "run" / "herd.textproto")
    assert pod.herd_file.read_text() == original


def test_herdnode_replaces_the_shell(pod):
    """exec: herdnode is the process Kubernetes started, so it is the one
    that gets SIGTERM."""
    started = pod.run(HOSTNAME="herd-0")
    assert started.herdnode_pid == started.pid


def test_arguments_pass_through_to_herdnode(pod):
    started = pod.run("--insecure", "--log_dir", "/tmp/x", HOSTNAME="herd-1")
    assert started.args[-3:] == ["--insecure", "--log_dir", "/tmp/x"]
    assert started.flag("--name") == "Bolden"


def test_herd_name_overrides_the_ordinal(pod):
    started = pod.run(HOSTNAME="herd-0", HERD_NAME="Parker")
    assert started.returncode == 0, started.stderr
    assert started.flag("--name") == "Parker"


def test_herd_name_alone_needs_no_names_list(pod):
    started = pod.run(HOSTNAME="herd-3", HERD_NAME="Parker", HERD_NAMES=None)
    assert started.flag("--name") == "Parker"


def test_empty_listen_host_runs_the_herd_file_unchanged(pod):
    started = pod.run(HOSTNAME="herd-4", HERD_LISTEN_HOST="")
    assert started.flag("--config") == str(pod.herd_file)
    assert started.flag("--name") == "Powell"


def test_listen_host_may_be_another_address(pod):
    started = pod.run(HOSTNAME="herd-2", HERD_LISTEN_HOST="[::]")
    assert own_addresses(pod.rendered(started), "[::]") == [
        "12000", "13000", "14000", "15000"]


@pytest.mark.parametrize("env, message", [
    ({"HOSTNAME": "herd-5"},
     "pod ordinal 5 is out of range: HERD_NAMES has 5 names"),
    ({"HOSTNAME": "herd-99999999999999999999999"}, "is out of range"),
    ({"HOSTNAME": "herd"}, "pod name 'herd' is not NAME-ORDINAL"),
    ({"HOSTNAME": "herd-x"}, "pod name 'herd-x' does not end in -ORDINAL"),
    ({"HOSTNAME": "herd-"}, "pod name 'herd-' does not end in -ORDINAL"),
    ({"HOSTNAME": "herd-08"}, "has an ordinal with a leading zero"),
    ({"HOSTNAME": None}, "HOSTNAME is not set"),
    ({"HOSTNAME": "herd-1", "HERD_NAMES": None},
     "neither HERD_NAME nor HERD_NAMES is set"),
    ({"HOSTNAME": "herd-1", "HERD_NAMES": "  "}, "HERD_NAMES is empty"),
    ({"HOSTNAME": "herd-1", "HERD_NAMES": "Alford Bolden Alford"},
     "HERD_NAMES names 'Alford' twice"),
    ({"HOSTNAME": "herd-1", "HERD_NAME": "Two Words"}, "contains white space"),
    ({"HOSTNAME": "herd-1", "HERD_CONFIG": "/nonexistent/herd.textproto"},
     "cannot read the herd file '/nonexistent/herd.textproto'"),
    ({"HOSTNAME": "herd-1", "HERD_SERVICE": "other"},
     "has no address on this pod's host 'herd-1.other'"),
    ({"HOSTNAME": "Herd_1", "HERD_NAME": "Bolden"},
     "pod DNS name 'Herd_1.herd' is not a DNS name"),
    ({"HOSTNAME": "herd-1", "HERD_LISTEN_HOST": "0.0.0.0|x"},
     "HERD_LISTEN_HOST '0.0.0.0|x' is not a host or address"),
])
def test_bad_setup_is_a_clear_error(pod, env, message):
    if pod.shell_name == "bash" and env.get("HOSTNAME", "") is None:
        pytest.skip("bash sets HOSTNAME itself when the environment has none")
    started = pod.run(**env)
    assert started.returncode == 2
    assert message in started.stderr
    assert started.stderr.startswith("herd-entrypoint: ")
    assert len(started.stderr.splitlines()) == 1, started.stderr
    assert not started.ran, "herdnode was started anyway"

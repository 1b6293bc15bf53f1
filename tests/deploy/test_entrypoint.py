"""deploy/entrypoint.sh, the image's entry point, run as Kubernetes would
run it (HOSTNAME the pod name, the pod's environment from the rendered
StatefulSet and ConfigMap), with a stand-in herdnode that records how it
was started."""

import os

import pytest

from entrypoint_run import ENTRYPOINT, FakePod, posix_shells

SHELLS = posix_shells()


# A herd whose servers are not named after the pods: HERD_NAMES maps the
# pod ordinals to them.
NAMES_LIST = "Alford Bolden Hamilton Parker Powell"


@pytest.fixture(params=SHELLS, ids=[name for name, _ in SHELLS])
def pod(request, tmp_path, herd_file_text, manifests):
    """A fake pod of the rendered StatefulSet, under each POSIX shell."""
    fake = FakePod(tmp_path, herd_file_text, shell=request.param)
    # The container's literal environment, as the manifest sets it, except
    # the paths this machine has elsewhere; and what Kubernetes sets to the
    # pod's name.
    for name, var in manifests.env().items():
        if "value" in var and name != "HERD_CONFIG":
            fake.env[name] = var["value"]
    fake.pod_name_variables = manifests.pod_name_variables()
    return fake


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


def test_pod_listens_on_all_interfaces_and_reads_the_config_map(pod):
    """Pod herd-2 listens on 0.0.0.0 at its own ports (herdnode's
    --listen_host) and reads the ConfigMap's herd file itself, unchanged,
    so that it sees (and reloads) what an applied change puts there."""
    original = pod.herd_file.read_text()
    started = pod.run(HOSTNAME="herd-2")
    assert started.returncode == 0, started.stderr
    assert started.flag("--listen_host") == "0.0.0.0"
    assert started.flag("--config") == str(pod.herd_file)
    assert pod.herd_file.read_text() == original
    assert "listening on 0.0.0.0 for herd-2.herd" in started.stderr


def test_herdnode_replaces_the_shell(pod):
    """exec: herdnode is the process Kubernetes started, so it is the one
    that gets SIGTERM."""
    started = pod.run(HOSTNAME="herd-0")
    assert started.herdnode_pid == started.pid


def test_arguments_pass_through_to_herdnode(pod):
    started = pod.run("--insecure", "--log_dir", "/tmp/x", HOSTNAME="herd-1")
    assert started.args[-3:] == ["--insecure", "--log_dir", "/tmp/x"]
    assert started.flag("--name") == "herd-1"


def test_herd_name_overrides_the_pod_name(pod):
    started = pod.run(HOSTNAME="herd-0", HERD_NAME="herd-3")
    assert started.returncode == 0, started.stderr
    assert started.flag("--name") == "herd-3"


def test_names_list_maps_ordinals_to_names(pod):
    started = pod.run(HOSTNAME="herd-2", HERD_NAME=None, HERD_NAMES=NAMES_LIST)
    assert started.returncode == 0, started.stderr
    assert started.flag("--name") == "Hamilton"
    assert "herd-2 is Hamilton" in started.stderr


def test_empty_listen_host_uses_the_herd_file_addresses(pod):
    started = pod.run(HOSTNAME="herd-4", HERD_LISTEN_HOST="")
    assert started.flag("--config") == str(pod.herd_file)
    assert "--listen_host" not in started.args
    assert started.flag("--name") == "herd-4"


def test_listen_host_may_be_another_address(pod):
    started = pod.run(HOSTNAME="herd-2", HERD_LISTEN_HOST="[::]")
    assert started.flag("--listen_host") == "[::]"


BY_ORDINAL = {"HERD_NAME": None, "HERD_NAMES": NAMES_LIST}


@pytest.mark.parametrize("env, message", [
    ({"HOSTNAME": "herd-5", **BY_ORDINAL},
     "pod ordinal 5 is out of range: HERD_NAMES has 5 names"),
    ({"HOSTNAME": "herd-99999999999999999999999", **BY_ORDINAL},
     "is out of range"),
    ({"HOSTNAME": "herd", **BY_ORDINAL}, "pod name 'herd' is not NAME-ORDINAL"),
    ({"HOSTNAME": "herd-x", **BY_ORDINAL},
     "pod name 'herd-x' does not end in -ORDINAL"),
    ({"HOSTNAME": "herd-", **BY_ORDINAL},
     "pod name 'herd-' does not end in -ORDINAL"),
    ({"HOSTNAME": "herd-08", **BY_ORDINAL},
     "has an ordinal with a leading zero"),
    ({"HOSTNAME": None, **BY_ORDINAL}, "HOSTNAME is not set"),
    ({"HOSTNAME": "herd-1", "HERD_NAME": None, "HERD_NAMES": None},
     "neither HERD_NAME nor HERD_NAMES is set"),
    ({"HOSTNAME": "herd-1", "HERD_NAME": None, "HERD_NAMES": "  "},
     "HERD_NAMES is empty"),
    ({"HOSTNAME": "herd-1", "HERD_NAME": None,
      "HERD_NAMES": "Alford Bolden Alford"},
     "HERD_NAMES names 'Alford' twice"),
    ({"HOSTNAME": "herd-1", "HERD_NAME": "Two Words"}, "contains white space"),
    ({"HOSTNAME": "herd-1", "HERD_CONFIG": "/nonexistent/herd.textproto"},
     "cannot read the herd file '/nonexistent/herd.textproto'"),
    ({"HOSTNAME": "herd-1", "HERD_SERVICE": "other"},
     "has no address on this pod's host 'herd-1.other'"),
    ({"HOSTNAME": "Herd_1", "HERD_NAME": "herd-1"},
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

"""Fixtures of the deployment tests: the Kubernetes manifests as kubectl
renders them, the herd file they carry, the generated protobuf stubs, and
the herdnode binary under test."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The end-to-end suite's stub generation and bounded polling, shared.
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

import stubs as stub_generation  # noqa: E402  pylint: disable=wrong-import-position
from manifests import Manifests  # noqa: E402  pylint: disable=wrong-import-position

K8S_DIR = REPO_ROOT / "deploy" / "k8s"


@pytest.fixture(scope="session")
def kubectl():
    """kubectl (HERD_KUBECTL overrides PATH); its kustomize renders the
    manifests. Skips only when there is none."""
    path = os.environ.get("HERD_KUBECTL") or shutil.which("kubectl")
    if not path:
        pytest.skip("kubectl is not installed, so the Kubernetes manifests "
                    "cannot be rendered: install Debian's kubernetes-client "
                    "(or any kubectl >= 1.14) or set HERD_KUBECTL")
    return path


@pytest.fixture(scope="session")
def manifests(kubectl):
    """deploy/k8s rendered by `kubectl kustomize`, as the cluster gets it."""
    result = subprocess.run([kubectl, "kustomize", str(K8S_DIR)],
                            capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, (
        f"kubectl kustomize {K8S_DIR} failed:\n{result.stderr}")
    return Manifests.parse(result.stdout)


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    return stub_generation.generate(tmp_path_factory.mktemp("stubs"))


@pytest.fixture(scope="session")
def herd_file_text(manifests):
    """The herd file the pods get: the ConfigMap's, not the source file."""
    return manifests.herd_config_map()["data"]["herd.textproto"]


@pytest.fixture(scope="session")
def herdnode_bin():
    path = os.environ.get("HERDNODE_BIN")
    if not path:
        pytest.fail("no herdnode binary: set HERDNODE_BIN (CMake sets it for "
                    "ctest)")
    path = Path(path)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"herdnode binary {path} does not exist or is not "
                    "executable")
    return path

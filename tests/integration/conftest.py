"""Fixtures of herd's end-to-end tests: generated stubs, the herdnode binary
under test, and five-server herds of real processes."""

import contextlib
import itertools
import os
from pathlib import Path

import pytest

import stubs as stub_generation
from local_herd import Herd


def pytest_addoption(parser):
    parser.addoption(
        "--herdnode", default=None,
        help="path of the herdnode binary (default: $HERDNODE_BIN, which "
             "CMake sets for ctest)")


@pytest.fixture(scope="session")
def herdnode_bin(request):
    path = request.config.getoption("--herdnode") or os.environ.get("HERDNODE_BIN")
    if not path:
        pytest.fail("no herdnode binary: pass --herdnode PATH or set HERDNODE_BIN")
    path = Path(path)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"herdnode binary {path} does not exist or is not executable")
    # Absolute: some tests start servers from another working directory.
    return path.resolve()


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    return stub_generation.generate(tmp_path_factory.mktemp("stubs"))


@pytest.fixture
def make_herd(stubs, herdnode_bin, tmp_path):
    """Starts herds (Herd(...) keyword arguments) and stops each at teardown,
    failing the test if a server did not exit cleanly."""
    numbers = itertools.count()
    with contextlib.ExitStack() as herds:
        def start(**options):
            workdir = tmp_path / f"herd{next(numbers)}"
            workdir.mkdir()
            herd = Herd(stubs, herdnode_bin, workdir, **options)
            herds.callback(herd.stop)
            return herd.start()
        yield start


@pytest.fixture
def herd(make_herd):
    """The shipped five-server herd on free ports, started and serving."""
    return make_herd()

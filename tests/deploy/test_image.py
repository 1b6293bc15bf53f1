"""deploy/Dockerfile, checked without a Docker engine (none runs here): its
build stage does what ./run.sh does, and its runtime stage installs real
Debian bookworm packages, exactly the ones holding the shared libraries
herdnode links, runs unprivileged, and puts every file where the
Kubernetes manifests and herd file expect it."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from google.protobuf import text_format

import dockerfile
from stubs import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
# Sanitizer runtimes: linked only by instrumented test builds.
SANITIZER_LIBRARIES = re.compile(r"^lib(asan|ubsan|tsan|lsan)\.so")
# Installed for the Google Places API's HTTPS, not for a library.
NOT_LIBRARIES = {"ca-certificates"}


@pytest.fixture(scope="module")
def stages():
    parsed = dockerfile.parse(DOCKERFILE.read_text())
    assert len(parsed) == 2, "expected a build stage and a runtime stage"
    return parsed


@pytest.fixture(scope="module")
def runtime(stages):
    return stages[-1]


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          check=False, **kwargs)


def test_build_stage_builds_like_run_sh(stages):
    build = stages[0]
    assert build.base == "debian:bookworm"
    steps = " ".join(build.args("RUN"))
    run_sh = (REPO_ROOT / "run.sh").read_text()
    for step in ("source scripts/deps.sh", "herd_install_deps --build-only",
                 "herd_build_server"):
        assert step in steps, f"the build stage does not run {step}"
        assert step in run_sh, f"run.sh no longer runs {step}"
    functions = run(["bash", "-c", "source scripts/deps.sh && declare -F "
                     "herd_install_deps herd_build_server"], cwd=REPO_ROOT)
    assert functions.returncode == 0, functions.stderr


def test_runtime_copies_what_the_build_makes(stages, runtime):
    """Every COPY --from=build source is a file a build of this tree has
    (HERD_BUILD_ROOT, the CMake build directory under test)."""
    build_root = os.environ.get("HERD_BUILD_ROOT")
    if not build_root:
        pytest.fail("HERD_BUILD_ROOT is not set (CMake sets it for ctest)")
    workdir = stages[0].args("WORKDIR")[-1]
    image_build_dir = f"{workdir}/build/"  # scripts/deps.sh's HERD_BUILD_DIR
    copied = [(sources, dest) for stage, sources, dest in runtime.copies()
              if stage == stages[0].name]
    assert copied
    for sources, _ in copied:
        for source in sources:
            assert source.startswith(image_build_dir), source
            made = Path(build_root) / source[len(image_build_dir):]
            assert made.is_file(), f"{source}: the build made no {made}"


def test_runtime_stage_is_slim_and_unprivileged(runtime, manifests):
    assert runtime.base == "debian:bookworm-slim"
    user = runtime.args("USER")[-1].split(":")
    security = manifests.pod_spec()["securityContext"]
    assert int(user[0]) == security["runAsUser"] != 0
    assert int(user[1]) == security["runAsGroup"]


def test_image_files_are_where_the_pods_look(runtime, manifests, stubs,
                                              herd_file_text):
    destinations = {Path(sources[0]).name: dest
                    for _, sources, dest in runtime.copies()}
    config = stubs.config_pb2.HerdConfig()
    text_format.Parse(herd_file_text, config)
    assert destinations["cities.idx"] == config.places.embedded.index_path
    entrypoint = destinations["entrypoint.sh"]
    assert runtime.args("ENTRYPOINT")[-1] == f'["{entrypoint}"]'
    # The entry point finds herdnode on PATH by default.
    assert destinations["herdnode"] == "/usr/local/bin/herdnode"
    exposed = sorted(int(p) for p in runtime.args("EXPOSE")[-1].split())
    assert exposed == sorted(manifests.container_ports().values())


@pytest.fixture(scope="module")
def apt_lists():
    """Skips unless apt's package lists are here (after apt-get update)."""
    probe = run(["apt-cache", "show", "libc6"])
    if probe.returncode != 0 or "Package: libc6" not in probe.stdout:
        pytest.skip("apt-cache knows no packages here: run apt-get update")


def test_runtime_packages_exist_in_debian(runtime, apt_lists):
    packages = runtime.apt_installed()
    assert packages
    # One call (apt-cache is slow to start); it shows the packages it has.
    shown = run(["apt-cache", "show", "--no-all-versions", *packages])
    unknown = [p for p in packages if f"Package: {p}\n" not in shown.stdout]
    assert not unknown, (
        f"Debian has no package {unknown}: {shown.stderr.strip()}")


def linked_libraries(binary):
    """The shared libraries (paths) the dynamic loader maps for binary."""
    result = run(["ldd", str(binary)])
    assert result.returncode == 0, result.stderr
    paths = re.findall(r"=> (/\S+)", result.stdout)
    paths += re.findall(r"^\s*(/\S+) \(0x", result.stdout, re.MULTILINE)
    missing = re.findall(r"^\s*(\S+) => not found", result.stdout, re.MULTILINE)
    assert not missing, f"{binary} needs libraries this machine lacks: {missing}"
    return [p for p in paths if not SANITIZER_LIBRARIES.match(Path(p).name)]


def owning_packages(paths):
    """The Debian packages that installed these files (merged /usr aware:
    dpkg may know a file by its /lib or its /usr/lib name)."""
    def spellings(path):
        real = os.path.realpath(path)
        for name in dict.fromkeys((path, real)):
            yield name
            yield name[len("/usr"):] if name.startswith("/usr/") else "/usr" + name

    wanted = {path: set(spellings(path)) for path in paths}
    # One dpkg call: it is slow to start. Unknown files only go to stderr.
    result = run(["dpkg", "-S", *sorted(set().union(*wanted.values()))])
    owner_of = {}
    for line in result.stdout.splitlines():
        packages, _, file = line.partition(": ")
        for package in packages.split(", "):
            owner_of.setdefault(file, package.split(":")[0])
    owners = set()
    for path, names in wanted.items():
        found = {owner_of[name] for name in names if name in owner_of}
        assert found, f"no Debian package owns {path}"
        owners |= found
    return owners


def dependency_closure(packages):
    """packages and everything they depend on (Depends, Pre-Depends)."""
    result = run(["apt-cache", "depends", "--recurse", "--no-recommends",
                  "--no-suggests", "--no-conflicts", "--no-breaks",
                  "--no-replaces", "--no-enhances", *packages])
    assert result.returncode == 0, result.stderr
    return {line.strip() for line in result.stdout.splitlines()
            if line and not line[0].isspace() and not line.startswith("<")}


def test_runtime_packages_are_exactly_herdnodes_libraries(runtime, apt_lists,
                                                          herdnode_bin):
    """Nothing herdnode links is missing from the image (the runtime
    packages and what they depend on hold every library), and nothing is
    installed that it does not link."""
    installed = set(runtime.apt_installed())
    owners = owning_packages(linked_libraries(herdnode_bin))
    missing = owners - dependency_closure(sorted(installed))
    assert not missing, (
        f"herdnode links libraries of {sorted(missing)}, which the runtime "
        "stage does not install")
    unused = installed - NOT_LIBRARIES - owners
    assert not unused, f"the runtime stage installs {sorted(unused)}, " \
        "which herdnode does not link"

"""Python stubs for herd's protos and gRPC's health and reflection protos.

Generated with grpc_tools.protoc into a temporary directory for each test
session; nothing generated is ever written into the source tree.
"""

import importlib
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import grpc_tools

REPO_ROOT = Path(__file__).resolve().parents[2]
HERD_PROTO_ROOT = REPO_ROOT / "protos"

# gRPC's own protos, as Debian's grpc-proto package installs them (relative
# to an include root such as /usr/share/grpc-proto).
HEALTH_PROTO = Path("grpc/health/v1/health.proto")
REFLECTION_PROTO = Path("grpc/reflection/v1alpha/reflection.proto")

# Where gRPC's protos may live; HERD_GRPC_PROTO_DIR overrides.
_GRPC_PROTO_ROOTS = (
    "/usr/share/grpc-proto",
    "/usr/local/share/grpc-proto",
    "/usr/include",
    "/usr/local/include",
)

# The copies of gRPC's protos are generated under this package name rather
# than "grpc", which would clash with the grpcio package itself.
_GRPC_COPY_PACKAGE = "herdtest_grpc"


def _dpkg_listed_roots():
    """Include roots derived from the files the grpc-proto package owns."""
    try:
        listing = subprocess.run(
            ["dpkg", "-L", "grpc-proto"], capture_output=True, text=True,
            timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    suffix = "/" + HEALTH_PROTO.as_posix()
    return [line[: -len(suffix)] for line in listing.splitlines()
            if line.endswith(suffix)]


def find_grpc_proto_root():
    """The include root holding grpc/health/v1 and grpc/reflection/v1alpha."""
    candidates = []
    if os.environ.get("HERD_GRPC_PROTO_DIR"):
        candidates.append(os.environ["HERD_GRPC_PROTO_DIR"])
    candidates.extend(_GRPC_PROTO_ROOTS)
    candidates.extend(_dpkg_listed_roots())
    for root in candidates:
        root = Path(root)
        if (root / HEALTH_PROTO).is_file() and (root / REFLECTION_PROTO).is_file():
            return root
    raise FileNotFoundError(
        f"cannot find {HEALTH_PROTO} and {REFLECTION_PROTO} under any of "
        f"{candidates}: install Debian's grpc-proto package or set "
        "HERD_GRPC_PROTO_DIR")


def _protoc(include_dirs, proto_files, out_dir):
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    command = [sys.executable, "-m", "grpc_tools.protoc",
               *(f"--proto_path={d}" for d in include_dirs),
               f"--proto_path={well_known}",
               f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
               *map(str, proto_files)]
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({' '.join(command)}):\n"
                           f"{result.stderr}")


def generate(out_dir):
    """Generates every stub into out_dir and returns them as a namespace.

    Attributes: herd_pb2, herd_pb2_grpc, config_pb2, health_pb2,
    health_pb2_grpc, reflection_pb2, reflection_pb2_grpc.
    """
    out_dir = Path(out_dir)
    staging = out_dir / "proto_src"
    copies = staging / _GRPC_COPY_PACKAGE
    copies.mkdir(parents=True)
    grpc_root = find_grpc_proto_root()
    # Both gRPC protos import nothing, so a renamed copy compiles alone; the
    # proto package (and so the wire names) stays grpc.health.v1 etc.
    shutil.copyfile(grpc_root / HEALTH_PROTO, copies / "health.proto")
    shutil.copyfile(grpc_root / REFLECTION_PROTO, copies / "reflection.proto")

    python_out = out_dir / "python"
    python_out.mkdir()
    herd_protos = sorted(HERD_PROTO_ROOT.glob("herd/v1/*.proto"))
    _protoc([HERD_PROTO_ROOT], herd_protos, python_out)
    _protoc([staging], sorted(copies.glob("*.proto")), python_out)

    sys.path.insert(0, str(python_out))
    importlib.invalidate_caches()
    modules = {
        "herd_pb2": "herd.v1.herd_pb2",
        "herd_pb2_grpc": "herd.v1.herd_pb2_grpc",
        "config_pb2": "herd.v1.config_pb2",
        "health_pb2": f"{_GRPC_COPY_PACKAGE}.health_pb2",
        "health_pb2_grpc": f"{_GRPC_COPY_PACKAGE}.health_pb2_grpc",
        "reflection_pb2": f"{_GRPC_COPY_PACKAGE}.reflection_pb2",
        "reflection_pb2_grpc": f"{_GRPC_COPY_PACKAGE}.reflection_pb2_grpc",
    }
    return types.SimpleNamespace(
        **{attr: importlib.import_module(name)
           for attr, name in modules.items()})

"""herd's protos as Python modules, for the bench: generated from protos/
(tests/integration/stubs.py, which needs grpc_tools) into a temporary
directory the first time they are needed, removed when the process exits.
Nothing generated is written into the source tree."""

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_STUBS_DIR = str(REPO_ROOT / "tests" / "integration")
_stubs = None


def stubs():
    """The generated modules (herd_pb2, herd_pb2_grpc, config_pb2, ...)."""
    global _stubs
    if _stubs is None:
        if _STUBS_DIR not in sys.path:
            sys.path.insert(0, _STUBS_DIR)
        import stubs as generator  # tests/integration/stubs.py
        out = tempfile.mkdtemp(prefix="herd-bench-stubs-")
        atexit.register(shutil.rmtree, out, ignore_errors=True)
        _stubs = generator.generate(out)
    return _stubs

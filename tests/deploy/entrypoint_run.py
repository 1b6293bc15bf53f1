"""Running deploy/entrypoint.sh as a pod would, with a stand-in herdnode
that records how it was started."""

import os
import shutil
import subprocess

from stubs import REPO_ROOT

ENTRYPOINT = REPO_ROOT / "deploy" / "entrypoint.sh"
TIMEOUT = 30

# A test double of herdnode: writes its PID, then its arguments, one a line.
_FAKE_HERDNODE = """#!/bin/sh
{ echo "$$"; printf '%s\\n' "$@"; } >"$FAKE_HERDNODE_RECORD"
"""


def posix_shells():
    """(name, argv) of the POSIX shells here that can run the entry point:
    dash (the image's /bin/sh), bash in POSIX mode, busybox, if installed."""
    shells = []
    for name, argv in (("dash", ["--"]), ("bash", ["--posix"]),
                       ("busybox", ["sh"])):
        path = shutil.which(name)
        if path:
            shells.append((name, [path, *argv]))
    return shells


class Started:
    """How one run of the entry point went."""

    def __init__(self, result, pid, record):
        self.returncode = result.returncode
        self.stderr = result.stderr
        self.pid = pid
        self.ran = record.exists()
        lines = record.read_text().splitlines() if self.ran else []
        self.herdnode_pid = int(lines[0]) if lines else None
        self.args = lines[1:]

    def flag(self, name):
        assert self.args.count(name) == 1, f"{name} in {self.args}"
        return self.args[self.args.index(name) + 1]


class FakePod:
    """A pod's environment in a temporary directory: the herd file and the
    fake herdnode on PATH."""

    def __init__(self, tmp_path, herd_file_text, shell=("sh", [])):
        self.shell_name, self.shell = shell
        self.dir = tmp_path
        self.herd_file = tmp_path / "herd.textproto"
        self.herd_file.write_text(herd_file_text)
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "herdnode"
        fake.write_text(_FAKE_HERDNODE)
        fake.chmod(0o755)
        self.record = tmp_path / "herdnode-args"
        self.env = {
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HERD_CONFIG": str(self.herd_file),
            "FAKE_HERDNODE_RECORD": str(self.record),
        }
        # Variables Kubernetes sets to the pod's name (HOSTNAME's value).
        self.pod_name_variables = []

    def run(self, *args, **env):
        """Runs the entry point with the pod's environment plus env (a None
        value unsets a variable) and returns how it went."""
        pod_name = {name: env["HOSTNAME"] for name in self.pod_name_variables
                    if env.get("HOSTNAME") is not None}
        full_env = {**self.env, **pod_name, **env}
        full_env = {k: v for k, v in full_env.items() if v is not None}
        self.record.unlink(missing_ok=True)
        with subprocess.Popen([*self.shell, str(ENTRYPOINT), *args],
                              env=full_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as process:
            try:
                stdout, stderr = process.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise
        result = subprocess.CompletedProcess(process.args, process.returncode,
                                             stdout, stderr)
        return Started(result, process.pid, self.record)


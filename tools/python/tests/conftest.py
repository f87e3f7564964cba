"""A real callosumd on a private socket in a temp dir, per test.

The binary comes from $CALLOSUMD, else build/bin/callosumd under the
repository root. The router is stopped by its pid (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools" / "python"))

CALLOSUMD = os.environ.get("CALLOSUMD") or str(ROOT / "build" / "bin" / "callosumd")


class Router:
    """One callosumd process: ``path`` is its socket, ``proc`` the Popen."""

    def __init__(self, tmp: Path, config: "dict | None" = None,
                 name: str = "router"):
        self.dir = tmp
        self.path = str(tmp / f"{name}.sock")
        self.log = tmp / f"{name}.log"
        args = [CALLOSUMD, "--socket", self.path, "--log-level", "warn"]
        if config:
            conf = tmp / f"{name}.conf"
            conf.write_text("".join(f"{k} = {v}\n" for k, v in config.items()))
            args += ["--config", str(conf)]
        self._logf = open(self.log, "wb")
        self.proc = subprocess.Popen(args, stdout=self._logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"callosumd exited {self.proc.returncode}: "
                                   f"{self.log.read_text()}")
            if os.path.exists(self.path):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(self.path)
                    break
                except OSError:
                    pass
                finally:
                    s.close()
            if time.monotonic() > deadline:
                raise RuntimeError("callosumd did not start")
            time.sleep(0.01)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self) -> "int | None":
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._logf.close()
        return self.proc.returncode


@pytest.fixture
def start_router():
    """Factory: start_router(config=None) -> Router; all stopped at teardown.

    The directory is a short one under /tmp: a socket path must fit in 108
    bytes, which pytest's tmp_path does not promise.
    """
    routers: list[Router] = []
    tmp_path = Path(tempfile.mkdtemp(prefix="callosum-py-"))

    def start(config: "dict | None" = None) -> Router:
        r = Router(tmp_path, config, name=f"r{len(routers)}")
        routers.append(r)
        return r

    yield start
    for r in routers:
        r.stop()
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def router(start_router):
    """A router with the default configuration."""
    return start_router()

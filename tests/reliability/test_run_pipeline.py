"""`make run` killed with -9 leaves no Prefect server or `serve` behind. The script runs
against stub `prefect` / `python` executables (RLRF_BIN) that only sleep, so the test
checks the process handling, not Prefect."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rlrf.config import repo_root

PREFECT = """#!/usr/bin/env bash
case "$1 $2" in
  "server start") echo $$ > "$STUB/server.pid"; exec sleep 300;;
  "deployment run") echo $$ > "$STUB/run.pid"; exec sleep 300;;
esac
exit 0
"""
PYTHON = """#!/usr/bin/env bash
case "$1" in
  -c) echo 45678;;
  -m) echo $$ > "$STUB/serve.pid"; exec sleep 300;;
  -) cat >/dev/null;;
esac
exit 0
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill 0: read its state
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


def wait_for(path: Path, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.1)
    raise TimeoutError(path)


@pytest.mark.parametrize("killed", ["script", "make"])
def test_kill_9_of_make_run_stops_the_prefect_server(tmp_path, killed, fault):
    fault["fault"] = f"kill -9 of `make run` ({killed} process) while the flow runs"
    for name, text in (("prefect", PREFECT), ("python", PYTHON), ("rlrf", "#!/bin/sh\n")):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    env = {**os.environ, "RLRF_BIN": str(tmp_path), "STUB": str(tmp_path), "PREFECT_PORT": "45678",
           "RLRF_PREFECT_HOME": str(tmp_path / "prefect_home")}
    script = str(repo_root() / "scripts" / "run_pipeline.sh")
    # "make": a parent shell that runs the script as its child, like `make run` does
    cmd = ["bash", script] if killed == "script" else ["bash", "-c", f"bash {script}; true"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        children = [wait_for(tmp_path / f"{n}.pid") for n in ("server", "serve", "run")]
        assert all(alive(p) for p in children[:2])
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in children[:2]):
            time.sleep(0.2)
        assert not any(alive(p) for p in children[:2]), "the Prefect server or serve outlived make run"
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if alive(proc.pid) else None
        for p in (tmp_path / f"{n}.pid" for n in ("server", "serve", "run")):
            if p.exists() and alive(int(p.read_text())):
                os.kill(int(p.read_text()), signal.SIGKILL)

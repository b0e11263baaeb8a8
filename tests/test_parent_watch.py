"""Workers started by a process that is killed with SIGKILL exit instead of waiting forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = """
import multiprocessing as mp, sys, time
from nb201_env import parent_watch

def child(how):
    if how == "watchdog":
        sys.platform = "other"  # as on a system without prctl
    print(parent_watch.exit_with_parent(), flush=True)
    time.sleep(300)

if __name__ == "__main__":
    worker = mp.get_context("fork").Process(target=child, args=(sys.argv[1],))
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(300)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # a zombie has exited; only its reaper is missing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["prctl", "watchdog"])
def test_a_worker_exits_when_its_parent_is_killed(how: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _SCRIPT, how], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == how  # the child is armed
        assert not _gone(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), f"worker {child} outlived its killed parent"
    finally:
        parent.kill()


def test_harness_workers_are_armed(monkeypatch, shared_store) -> None:
    from benchmarks.harness import run

    calls = []
    monkeypatch.setattr(run, "exit_with_parent", lambda: calls.append("armed"))
    run._init_worker(str(shared_store))
    run._init_worker(str(shared_store), in_pool=False)  # the serial path runs in the parent itself
    assert calls == ["armed"]

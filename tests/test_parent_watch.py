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

_SCRIPT = r"""
import multiprocessing as mp, os, sys, time
from nb201_env import parent_watch

def child(how):
    if how == "watchdog":
        sys.platform = "other"  # as on a system without prctl
    os.write(1, f"armed {parent_watch.exit_with_parent()}\n".encode())  # one write: lines never interleave
    time.sleep(300)

if __name__ == "__main__":
    worker = mp.get_context("fork").Process(target=child, args=(sys.argv[1],))
    worker.start()
    os.write(1, f"pid {worker.pid}\n".encode())
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
        lines = dict(parent.stdout.readline().split() for _ in range(2))  # in either order
        child = int(lines["pid"])
        assert lines["armed"] == how  # the child is armed
        assert not _gone(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), f"worker {child} outlived its killed parent"
    finally:
        parent.kill()


def test_harness_workers_are_armed(monkeypatch, public_store) -> None:
    from benchmarks.harness import tasks

    calls = []
    monkeypatch.setattr(tasks, "exit_with_parent", lambda: calls.append("armed"))
    tasks.init_worker(str(public_store))
    tasks.init_worker(str(public_store), in_pool=False)  # the serial path runs in the parent itself
    assert calls == ["armed"]

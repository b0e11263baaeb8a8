"""Make a worker process exit when the process that started it dies, even by ``kill -9``.

A pool's workers wait for jobs on pipes that they themselves hold open, so a parent killed without
cleaning up leaves them alive forever (each holding its copy of the data). On Linux the kernel can deliver
a signal to a process when its parent exits (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread polls
the parent's pid.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 1.0


def exit_with_parent() -> str:
    """Arrange for this process to be killed when its parent exits; return how (``"prctl"`` or ``"watchdog"``)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the request took effect
                    os._exit(1)
                return "prctl"
        except (OSError, AttributeError) as exc:  # no libc symbol: fall back to polling
            log.debug("prctl unavailable (%s); watching the parent pid instead", exc)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
    return "watchdog"


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(1)  # orphaned: the parent that would collect our results is gone

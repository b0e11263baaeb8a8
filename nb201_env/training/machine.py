"""The machine a run was made on: float results depend on it (oneDNN picks CPU kernels by instruction set).

Recorded with every run and every table, not part of the cache key: caches travel between machines, and runs
made on another processor are served as the same experiment (their numbers differ by float rounding only).
"""

from __future__ import annotations

import functools
import platform


@functools.cache
def cpu_model() -> str:
    """Return the processor's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    """Return the processor, platform and Python of this machine."""
    return {"platform": platform.platform(), "processor": cpu_model(), "python": platform.python_version()}

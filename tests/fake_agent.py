"""A minimal agent for harness tests: evaluates archs 0, 1, 2, ... in order (deterministic, no learning).

It can also kill the worker process running it, as ``kill -9`` or the OOM killer would: once (the first
run to find no ``kill_once`` marker file creates it and dies) or for every run with seed ``kill_seed``.
"""

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.common import run_search
from nb201_env.space import all_ops

ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class Args:
    start: int = 0
    kill_once: str = ""
    kill_seed: int = -1


class Sweep:
    name = "fake"

    def __init__(self, args: Args, seed: int) -> None:
        self.next = args.start + seed * 100

    def ask(self) -> np.ndarray:
        self.next += 1
        return all_ops()[self.next % 15625].astype(np.int64)

    def tell(self, action, info) -> None:
        pass


def search(env, args: Args, seed: int):
    marker = Path(args.kill_once) if args.kill_once else None
    if seed == args.kill_seed or (marker is not None and not marker.exists()):
        if marker is not None:
            marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return run_search(env, Sweep(args, seed), seed)

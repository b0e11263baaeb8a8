"""Multi-objective random search: uniformly random cells on ``NASBench201-MO-OneShot-v0``.

What it is
    The NB201 ``RANDOM`` baseline (``agents/random_search.py``, same sampler and settings) run on the
    multi-objective env: it ignores the reward, and what it found is the Pareto front of everything it
    evaluated (``info["pareto_archs"]``; the harness rebuilds it from the trajectory and the store's costs).
    The reference for every multi-objective searcher: a front from ``n`` uniform samples.

    python -c "import gymnasium as gym, nb201_env; from agents import mo_random_search as a; \\
        print(a.search(gym.make(a.ENV_ID, protocol='nb201'), a.Args(), seed=0).settings)"
"""

from __future__ import annotations

import gymnasium as gym

from agents.common import SearchResult, run_search
from agents.random_search import Args, RandomSearch

ENV_ID = "NASBench201-MO-OneShot-v0"
MULTI_OBJECTIVE = True  # the harness passes the sweep's objectives to the env

__all__ = ["ENV_ID", "Args", "search"]


def search(env: gym.Env, args: Args, seed: int) -> SearchResult:
    """Run one random search through the multi-objective ``env`` until its budget is spent."""
    searcher = RandomSearch(args, seed)
    searcher.settings["objectives"] = list(env.unwrapped.objectives)
    return run_search(env, searcher, seed)

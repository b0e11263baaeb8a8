"""Which agents the harness knows, and how to build each one's arguments and environment.

An agent is a module with ``search(env, args, seed) -> SearchResult`` (cleanrl style: one readable file, a frozen
``Args`` dataclass). The built-in ones are named in :data:`AGENTS`; any other function runs by its path,
``module:function`` (``--agents my_agents:search``), through the same path. What the harness reads from the
module, each optional: ``ENV_ID`` (default the one-shot env), ``Args`` (called with the spec's arguments;
without it the function gets ``None``), ``MULTI_OBJECTIVE`` and ``USES_FIDELITIES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

DEFAULT_ENV_ID = "NASBench201-OneShot-v0"


@dataclass(frozen=True)
class AgentSpec:
    """An agent module, the arguments it runs with in the harness, its search function, and its ask/tell searcher
    class if it has one that tolerates several proposals in flight (what the multi-worker simulation needs)."""

    module: str
    args: dict[str, Any] = field(default_factory=dict)
    searcher: str | None = None
    function: str = "search"
    weight_sharing: bool = False
    """The agent trains a supernet for real (its module says ``WEIGHT_SHARING = True``) instead of querying the
    env; known without importing it (it needs torch)."""

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def search_function(self, module: ModuleType) -> Callable[..., Any]:
        """Return the function that runs one search: ``function(env, args, seed) -> SearchResult``."""
        found = getattr(module, self.function, None)
        if not callable(found):
            raise ValueError(f"agent {self.module}:{self.function}: module {self.module!r} has no function "
                             f"{self.function!r}")  # fmt: skip
        return found

    def make_args(self, module: ModuleType) -> Any:
        """Return the agent's arguments: ``module.Args(**args)``, or ``None`` for a module without ``Args``."""
        make = getattr(module, "Args", None)
        if make is None:
            if self.args:
                raise ValueError(f"agent {self.module} takes no Args, but the spec gives {self.args}")
            return None
        return make(**self.args)

    def cluster_searcher(self) -> str:
        """Return the searcher class name for the multi-worker simulation, or raise naming the agents that have one."""
        if self.searcher is None:
            able = ", ".join(name for name, spec in AGENTS.items() if spec.searcher)
            raise ValueError(
                f"agent {self.module} has no ask/tell searcher for the cluster simulation; use one of {able}"
            )
        return self.searcher


def env_id(module: ModuleType) -> str:
    """Return the id of the environment the agent searches through."""
    return str(getattr(module, "ENV_ID", DEFAULT_ENV_ID))


AGENTS: dict[str, AgentSpec] = {
    "random": AgentSpec("agents.random_search", searcher="RandomSearch"),
    "rea": AgentSpec("agents.regularized_evolution", searcher="RegularizedEvolution"),
    "reinforce": AgentSpec("agents.reinforce", searcher="Reinforce"),
    "local": AgentSpec("agents.local_search"),
    "hyperband": AgentSpec("agents.hyperband"),
    "tpe": AgentSpec("agents.optuna_tpe"),
    "tpe_univariate": AgentSpec("agents.optuna_tpe", {"multivariate": False}),
    "bohb": AgentSpec("agents.optuna_bohb"),
    "mo_random": AgentSpec("agents.mo_random_search"),
    "nsga2": AgentSpec("agents.mo_nsga2"),
    "ppo": AgentSpec("agents.sb3_agents", {"algo": "ppo"}),
    "a2c": AgentSpec("agents.sb3_agents", {"algo": "a2c"}),
    "dqn": AgentSpec("agents.sb3_agents", {"algo": "dqn"}),
    "maskable_ppo": AgentSpec("agents.sb3_agents", {"algo": "maskable_ppo"}),
    "naswot_10": AgentSpec("agents.naswot", {"n_samples": 10, "cells": "scored"}),
    "naswot_100": AgentSpec("agents.naswot", {"n_samples": 100, "cells": "scored"}),
    "naswot_1000": AgentSpec("agents.naswot", {"n_samples": 1000, "cells": "scored"}),
    "rea_synflow": AgentSpec("agents.rea_zero_cost", {"proxy": "synflow"}),
    # weight-sharing: one supernet trained for real, the derived cell looked up (benchmarks.harness.supernet_runs)
    "rsps": AgentSpec("agents.rsps", weight_sharing=True),
    "darts_v1": AgentSpec("agents.darts_v1", weight_sharing=True),
    "darts_v2": AgentSpec("agents.darts_v2", weight_sharing=True),
    "gdas": AgentSpec("agents.gdas", weight_sharing=True),
    "setn": AgentSpec("agents.setn", weight_sharing=True),
    "enas": AgentSpec("agents.enas", weight_sharing=True),
}


def get_agent(name: str) -> AgentSpec:
    """Return the spec of a known agent or of ``module:function``, or raise naming the known agents."""
    spec = AGENTS.get(name)
    if spec is not None:
        return spec
    module, colon, function = name.partition(":")
    if not colon:
        raise ValueError(
            f"unknown agent {name!r}; known agents are: {', '.join(map(repr, AGENTS))}; or name your own as "
            "module:function"
        )
    if not all(part.isidentifier() for part in module.split(".")) or not function.isidentifier():
        raise ValueError(f"agent {name!r}: give your own agent as module:function, e.g. my_agents:search")
    spec = AgentSpec(module, function=function)
    try:
        spec.search_function(spec.load())  # fail here, before any run starts, not in a worker
    except ImportError as exc:
        raise ValueError(
            f"agent {name!r}: cannot import {module!r} ({exc}); run from the folder that holds it, or add that "
            "folder to PYTHONPATH"
        ) from None
    return spec

"""Which agents the harness knows, and how to build each one's arguments and environment."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class AgentSpec:
    """An agent module, the arguments it runs with in the harness, and its ask/tell searcher class if it has
    one that tolerates several proposals in flight (what the multi-worker simulation needs)."""

    module: str
    args: dict[str, Any] = field(default_factory=dict)
    searcher: str | None = None
    weight_sharing: bool = False
    """The agent trains a supernet for real (its module says ``WEIGHT_SHARING = True``) instead of querying the
    env; known without importing it (it needs torch)."""

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def cluster_searcher(self) -> str:
        """Return the searcher class name for the multi-worker simulation, or raise naming the agents that have one."""
        if self.searcher is None:
            able = ", ".join(name for name, spec in AGENTS.items() if spec.searcher)
            raise ValueError(
                f"agent {self.module} has no ask/tell searcher for the cluster simulation; use one of {able}"
            )
        return self.searcher


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
    # weight-sharing: one supernet trained for real, the derived cell looked up (benchmarks.harness.supernet_runs)
    "rsps": AgentSpec("agents.rsps", weight_sharing=True),
    "darts_v1": AgentSpec("agents.darts_v1", weight_sharing=True),
    "darts_v2": AgentSpec("agents.darts_v2", weight_sharing=True),
    "gdas": AgentSpec("agents.gdas", weight_sharing=True),
    "setn": AgentSpec("agents.setn", weight_sharing=True),
    "enas": AgentSpec("agents.enas", weight_sharing=True),
}


def get_agent(name: str) -> AgentSpec:
    """Return the spec of an agent by name, or raise naming the known agents."""
    try:
        return AGENTS[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; known agents are: {', '.join(AGENTS)}") from None

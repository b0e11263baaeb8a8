"""Multi-objective agents on ``NASBench201-MO-OneShot-v0``: the run's front, NSGA-II against random search."""

from __future__ import annotations

import numpy as np
import pytest

from agents import mo_nsga2, mo_random_search
from benchmarks.harness.mo_report import Space

pytest.importorskip("optuna")
OBJECTIVES = ("valid_accuracy", "latency_ms/pixel3")


@pytest.mark.parametrize("agent", [mo_random_search, mo_nsga2])
def test_agent_spends_the_budget_and_the_env_keeps_the_front_of_its_evaluations(agent, make_env, no_test_accuracy):
    env = make_env(agent.ENV_ID, budget=8000.0, objectives=OBJECTIVES)
    result = agent.search(env, agent.Args(), seed=1)
    unwrapped = env.unwrapped
    assert unwrapped.clock.exhausted and result.settings["objectives"] == list(OBJECTIVES)
    traj = unwrapped.runs.trajectory().as_arrays()
    assert np.array_equal(result.archs, traj["arch"]) and result.evaluations > 50
    front = set(unwrapped.front.archs.tolist())
    assert front <= set(result.archs.tolist()) and len(front) >= 3


def test_nsga2_tells_the_study_the_objectives_in_natural_units(make_env, public_bench):
    env = make_env(mo_nsga2.ENV_ID, budget=3000.0, objectives=(*OBJECTIVES, "params_mb"))
    searcher = mo_nsga2.OptunaNSGA2(mo_nsga2.Args(population_size=4), 0, env.unwrapped.objectives)
    from agents.common import run_search

    result = run_search(env, searcher, seed=0)
    trial = searcher.study.trials[0]
    arch = int(result.archs[0])
    assert trial.values == pytest.approx(
        [
            public_bench.validation(arch, "cifar10").accuracy,
            public_bench.stat(arch, "latency_ms", "pixel3"),
            public_bench.stat(arch, "params_mb", "cifar10-valid"),
        ]
    )
    assert [d.name for d in searcher.study.directions] == ["MAXIMIZE", "MINIMIZE", "MINIMIZE"]


def test_nsga2_finds_fronts_with_more_hypervolume_than_random_search(make_env, public_bench):
    """Hypervolume ratio on test accuracy and Pixel 3 latency, 6 runs of 40,000 simulated seconds each."""
    space = Space.of(public_bench, "cifar10", list(OBJECTIVES))

    def mean_ratio(agent) -> float:
        env = make_env(agent.ENV_ID, budget=40_000.0, objectives=OBJECTIVES)
        return float(np.mean([space.ratio(agent.search(env, agent.Args(), s) and env.unwrapped.front.archs)
                              for s in range(6)]))  # fmt: skip

    nsga2, random = mean_ratio(mo_nsga2), mean_ratio(mo_random_search)
    assert nsga2 > random + 0.02, (nsga2, random)


def test_bad_nsga2_args_name_the_valid_values():
    with pytest.raises(ValueError, match="population_size must be an int >= 2"):
        mo_nsga2.Args(population_size=1)
    with pytest.raises(ValueError, match=r"crossover_prob must be a number in \[0, 1\]"):
        mo_nsga2.Args(crossover_prob=1.5)

"""``NASBench201-MO-v0`` and ``NASBench201-MO-OneShot-v0``: the search envs with a vector reward (MO-Gymnasium API).

They are ``NASBench201-v0`` and ``NASBench201-OneShot-v0`` whose injected reward is an
:class:`~nb201_env.objectives.ObjectivesReward`: the search run, its clock, budget and ``info`` are the same
(:class:`~nb201_env.search_runs.SearchRuns`), the reward is a vector of the chosen objectives and ``info``
holds the run's Pareto front. Costs are per-architecture tables of the benchmark store
(:meth:`~nb201_env.benchmark.Benchmark.model_costs`) or, with ``reward=``, your own.
"""

from __future__ import annotations

from nb201_env.envs.oneshot import NASBench201OneShotEnv
from nb201_env.envs.sequential import NASBench201Env
from nb201_env.objectives import DEFAULT_OBJECTIVES


class NASBench201MOEnv(NASBench201Env):
    """Build a cell edge by edge; the finished cell is rewarded with a vector of objectives.

    ## Description
    ``NASBench201-v0`` (see :class:`~nb201_env.envs.sequential.NASBench201Env`) with the MO-Gymnasium reward API: the
    same search run, clock, budget rules and ``info``; the reward is a ``numpy`` vector and ``reward_space``
    describes it. Works with ``mo_gymnasium.make`` and its wrappers (e.g. ``LinearReward``).

    ## Rewards
    A ``float32`` vector in the order of ``objectives``: ``valid_accuracy`` as validation accuracy / 100 (the
    single-objective reward), each cost negated (all objectives are maximized): ``params_mb`` (MB),
    ``flops_m`` (MFLOPs), ``latency_ms/<device>`` (ms) from the store. Zeros before the last step and when
    no evaluation happened (budget spent). ``reward_space``: ``Box([0, -max cost...], [1, 0...])``;
    ``objectives`` names the entries.

    ## Info
    As ``NASBench201-v0``, plus on the last step ``objectives`` (name -> value in natural units, when
    evaluated), ``pareto_archs`` and ``pareto_front`` (the run's non-dominated full-fidelity evaluations,
    in reward units).

    ## Arguments
    As ``NASBench201-v0``, plus ``objectives``: ``"valid_accuracy"`` and at least one cost, e.g.
    ``("valid_accuracy", "latency_ms/pixel3")`` (default ``("valid_accuracy", "params_mb")``); an unknown name
    raises an error listing the store's objectives (:func:`~nb201_env.objectives.available_objectives`). Or
    ``reward=``: any :class:`~nb201_env.rewards.VectorReward`, e.g. an
    :class:`~nb201_env.objectives.ObjectivesReward` of your own cost tables (a measured latency, say; this
    also works with ``evaluator=``, which has no store to read costs from). A scalar reward is refused.

    ## Version History
    * v0: initial version.
    """

    default_objectives = DEFAULT_OBJECTIVES


class NASBench201MOOneShotEnv(NASBench201OneShotEnv):
    """Pick a whole cell per step; it is rewarded with a vector of objectives.

    ## Description
    ``NASBench201-OneShot-v0`` (see :class:`~nb201_env.envs.oneshot.NASBench201OneShotEnv`, including
    ``fidelities``) with the vector reward, ``reward_space``, ``info`` and ``objectives`` argument of
    :class:`NASBench201MOEnv`. Only full-fidelity evaluations enter the Pareto front.

    ## Version History
    * v0: initial version.
    """

    default_objectives = DEFAULT_OBJECTIVES


__all__ = ["NASBench201MOEnv", "NASBench201MOOneShotEnv"]

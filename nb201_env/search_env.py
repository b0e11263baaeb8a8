"""What the single search environments share: configuration, the search session, evaluation, rendering."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.clock import SimulatedClock
from nb201_env.config import EnvConfig, build_session
from nb201_env.evaluators import Evaluator
from nb201_env.rewards import Reward
from nb201_env.space import NUM_EDGES, _index_tables
from nb201_env.validate import check_reset


class SearchEnv(gym.Env):
    """Base of ``NASBench201-v0`` and ``NASBench201-OneShot-v0``: one instance is one search run."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        config: EnvConfig | None = None,
        benchmark: Benchmark | None = None,
        evaluator: Evaluator | None = None,
        reward: Reward | None = None,
        **kwargs: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; valid modes are: {self.metadata['render_modes']}")
        if config is not None and kwargs:
            raise ValueError(f"pass either config= or keyword arguments, not both (got {sorted(kwargs)})")
        self.config = config if config is not None else EnvConfig.from_kwargs(**kwargs)
        self.session = build_session(self.config, benchmark, evaluator, reward)
        self.render_mode = render_mode
        self._index_of_code: list[int] = _index_tables()[1].tolist()
        self._last_info: dict[str, Any] = {}

    @property
    def clock(self) -> SimulatedClock:
        """The simulated clock of the current search run."""
        return self.session.clock

    def describe(self) -> dict[str, Any]:
        """Describe the evaluator's signal and cost and the budget, for logs and reports."""
        clock = self.session.clock
        return {**self.session.evaluator.describe(), "budget": clock.budget, "budget_rule": clock.rule}

    def _start(self, seed: int | None, options: dict[str, Any] | None) -> None:
        """Seed, and start a new search run when seeded or asked with ``options={"new_search": True}``."""
        new_search = check_reset(seed, options)
        super().reset(seed=seed)
        if new_search:
            self.session.reset()
        self._last_info = {}

    def _finish(self, code: int, epoch: int | None = None) -> tuple[float, bool, bool, dict[str, Any]]:
        """Evaluate the cell with this lexicographic op code; return (reward, terminated, truncated, info)."""
        session = self.session
        index = self._index_of_code[code]
        if session.clock.exhausted:
            reward, info, terminated = 0.0, {**session.exhausted_info(), "arch": index}, False
        else:
            reward, info = session.evaluate(index, self.np_random, epoch)
            terminated = info["evaluated"]
        self._last_info = info
        return reward, terminated, session.clock.exhausted, info

    def _draw(self, ops: list[int | None]) -> str | np.ndarray | None:
        """Render ``ops`` (``None`` = not chosen yet) with the latest metrics."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        from nb201_env.render import render_ansi, render_rgb

        ops = [*ops, *([None] * (NUM_EDGES - len(ops)))]
        metrics = _render_metrics(self._last_info, self.session)
        return render_ansi(ops, metrics) if self.render_mode == "ansi" else render_rgb(ops, metrics)


def _render_metrics(info: dict[str, Any], session: Any) -> dict[str, object]:
    clock = session.clock
    metrics: dict[str, object] = {}
    if info.get("valid_accuracy") is not None:
        metrics["valid"] = f"{info['valid_accuracy']:.2f}%"
    budget = "" if clock.budget is None else f"/{clock.budget:.0f}"
    metrics["clock"] = f"{clock.elapsed:.0f}{budget} s"
    if session.best_index >= 0:
        metrics["best"] = f"{session.best_accuracy:.2f}% (arch {session.best_index})"
    if info.get("budget_exhausted"):
        metrics["budget"] = "spent"
    return metrics

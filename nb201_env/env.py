"""``NASBench201-v0``: build an NB201 cell one edge at a time; the finished cell is evaluated."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.config import EnvConfig, build_session
from nb201_env.evaluators import Evaluator
from nb201_env.masks import mask_after
from nb201_env.rewards import Reward
from nb201_env.space import NUM_EDGES, NUM_OPS, _index_tables

UNSET = NUM_OPS  # observation value of an edge whose op is not chosen yet


class NASBench201Env(gym.Env):
    """Search the NAS-Bench-201 cell space by choosing the op of each edge in turn.

    ## Description
    An episode builds one architecture of the NB201 space: six steps choose the ops of the six cell edges
    in the official order ``(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)``. The finished cell is evaluated
    by an injected evaluator (by default the recorded NB201 results in a benchmark store) and charged to a
    simulated clock. The clock, the trained architectures and the incumbent persist across episodes: one
    env instance is one *search run*, ended by its time budget.

    ## Action Space
    ``Discrete(5)``: the op of the current edge, in the official order 0 ``none``, 1 ``skip_connect``,
    2 ``nor_conv_1x1``, 3 ``nor_conv_3x3``, 4 ``avg_pool_3x3``.

    ## Observation Space
    ``MultiDiscrete([6, 6, 6, 6, 6, 6, 7])``: the op of each edge (5 = not chosen yet) and the index of the
    edge to choose next (6 once the cell is complete).

    ## Rewards
    0 for the first five steps. The sixth step returns the reward object's value of the cell's
    *validation* accuracy (default: accuracy / 100, e.g. ``cifar10-valid``/``x-valid`` after 12 epochs).
    Test accuracy never enters the reward.

    ## Starting State
    All six edges unset, position 0. ``reset(seed=...)`` or ``reset(options={"new_search": True})`` starts
    a new search run (clock at zero, nothing trained); a plain ``reset()`` keeps the run going.

    ## Episode End
    Terminated after the sixth step when the cell was evaluated. Truncated when the budget is spent: under
    the ``"nb201"`` rule the evaluation that would cross the budget is not performed (terminated=False,
    truncated=True, reward 0); under ``"nats"`` it counts and may overrun (terminated and truncated).
    Afterwards every episode ends with truncated=True, reward 0 and ``info["budget_exhausted"]``.

    ## Info
    Final step: ``arch`` (official index), ``evaluated``, ``repeat``, ``valid_accuracy``, ``cost`` (s),
    ``clock``, ``remaining``, ``budget_exhausted``, ``evaluations``, ``best_arch``, ``best_valid_accuracy``,
    ``best_cost``; ``test_accuracy`` only with ``report_test=True``. ``action_mask`` on every step with
    ``action_mask=True``. ``env.unwrapped.describe()`` says what the signal and cost are.

    ## Arguments
    ``render_mode`` (``"ansi"`` or ``"rgb_array"``), ``config`` (an :class:`~nb201_env.config.EnvConfig`) or
    its fields as keywords (``protocol``, ``dataset``, ``schedule``, ``epoch``, ``seed_policy``, ``seed``,
    ``budget``, ``budget_rule``, ``charge_repeats``, ``report_test``, ``action_mask``, ``store``),
    ``benchmark`` (an open :class:`~nb201_env.benchmark.Benchmark`), ``evaluator`` (any
    :class:`~nb201_env.evaluators.Evaluator`, e.g. real training), ``reward`` (any
    :class:`~nb201_env.rewards.Reward`).

    ## Version History
    * v0: initial version.
    """

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
        self.action_space = gym.spaces.Discrete(NUM_OPS)
        self.observation_space = gym.spaces.MultiDiscrete([NUM_OPS + 1] * NUM_EDGES + [NUM_EDGES + 1])
        self._index_of_code: list[int] = _index_tables()[1].tolist()
        self._obs = np.zeros(NUM_EDGES + 1, dtype=np.int64)
        self._ops: list[int] = []
        self._code = 0
        self._last_info: dict[str, Any] = {}

    @property
    def clock(self) -> Any:
        """The simulated clock of the current search run."""
        return self.session.clock

    def describe(self) -> dict[str, Any]:
        """Describe the evaluator's signal and cost and the budget, for logs and reports."""
        clock = self.session.clock
        return {**self.session.evaluator.describe(), "budget": clock.budget, "budget_rule": clock.rule}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start the next episode (and a new search run when seeded or asked)."""
        super().reset(seed=seed)
        if seed is not None or (options and options.get("new_search")):
            self.session.reset()
        self._obs[:NUM_EDGES] = UNSET
        self._obs[NUM_EDGES] = 0
        self._ops = []
        self._code = 0
        self._last_info = {}
        info = {"action_mask": self.action_masks()} if self.config.action_mask else {}
        return self._obs.copy(), info

    def action_masks(self) -> np.ndarray:
        """Return the ops allowed for the current edge: those that can still give a connected cell."""
        position = len(self._ops)
        if position >= NUM_EDGES:
            return np.ones(NUM_OPS, dtype=bool)
        return mask_after(self._code, position)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Choose the op of the current edge; evaluate the cell after the sixth choice."""
        position = len(self._ops)
        if position >= NUM_EDGES:
            raise RuntimeError("the cell is complete: call reset() to start the next episode")
        try:
            op = int(action)
        except (TypeError, ValueError):
            op = -1
        if op != action or not 0 <= op < NUM_OPS:
            raise ValueError(f"invalid action {action!r}; valid actions are the op ids 0..{NUM_OPS - 1}")
        self._ops.append(op)
        self._code = self._code * NUM_OPS + op
        self._obs[position] = op
        self._obs[NUM_EDGES] = position + 1
        if position + 1 < NUM_EDGES:
            info = {"action_mask": self.action_masks()} if self.config.action_mask else {}
            return self._obs.copy(), 0.0, False, False, info
        session = self.session
        index = self._index_of_code[self._code]
        if session.clock.exhausted:
            reward, info, terminated = 0.0, {**session.exhausted_info(), "arch": index}, False
        else:
            reward, info = session.evaluate(index, self.np_random)
            terminated = info["evaluated"]
        if self.config.action_mask:
            info["action_mask"] = np.ones(NUM_OPS, dtype=bool)
        self._last_info = info
        return self._obs.copy(), reward, terminated, session.clock.exhausted, info

    def render(self) -> str | np.ndarray | None:
        """Draw the cell built so far with the latest metrics (``ansi`` text or an RGB array)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        from nb201_env.render import render_ansi, render_rgb

        ops = [*self._ops, *([None] * (NUM_EDGES - len(self._ops)))]
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

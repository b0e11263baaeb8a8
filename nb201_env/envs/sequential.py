"""``NASBench201-v0``: build an NB201 cell one edge at a time; the finished cell is evaluated."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from nb201_env.envs.base import SearchEnv, check_started
from nb201_env.masks import mask_after
from nb201_env.space import NUM_EDGES, NUM_OPS, check_op, index_of_ops, prefix_code

UNSET = NUM_OPS  # observation value of an edge whose op is not chosen yet

__all__ = ["UNSET", "NASBench201Env"]


class NASBench201Env(SearchEnv):
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
    Final step (the keys of :data:`nb201_env.INFO_KEYS`): ``benchmark`` (the store's name, ``nb201-public`` by
    default, or the evaluator kind), ``arch`` (official index), ``epoch`` (0-based epoch of the signal),
    ``evaluated``, ``repeat``, ``valid_accuracy`` (NaN when not evaluated), ``cost`` (s), ``clock``,
    ``remaining``, ``budget_exhausted``, ``evaluations``, ``best_arch``, ``best_valid_accuracy``,
    ``best_cost``; ``test_accuracy`` only with ``report_test=True``. ``action_mask`` on every step with
    ``action_mask=True``. ``env.unwrapped.describe()`` says what the signal and cost are.

    ## Arguments
    ``render_mode`` (``"ansi"`` or ``"rgb_array"``), ``config`` (an :class:`~nb201_env.EnvConfig`) or its
    fields as keywords (:data:`nb201_env.config.ENV_FIELDS`: ``protocol``, ``budget``, ``budget_rule``,
    ``charge_repeats``, ``report_test``, ``action_mask``, ``store``, and the signal's ``dataset``,
    ``schedule``, ``epoch``, ``seed_policy``, ``seed``, ``test_schedule``), ``benchmark`` (an open
    :class:`~nb201_env.Benchmark`), ``evaluator`` (any :class:`~nb201_env.Evaluator`, e.g. real training;
    the signal's fields and ``store`` are then refused), ``reward`` (any :class:`~nb201_env.Reward`).

    ## Vectorized
    ``gymnasium.make_vec("NASBench201-v0", num_envs=n)`` returns the native
    :class:`~nb201_env.envs.vector.NASBench201VectorEnv`: ``n`` search runs stepped with array operations,
    each step (``info`` included) what ``SyncVectorEnv`` of ``n`` single envs returns, in every autoreset
    mode (``autoreset_mode=``, default ``NEXT_STEP``). ``render_mode`` renders one frame per run. From a
    worker process that has not imported ``nb201_env``, make ``"nb201_env:NASBench201-v0"``.

    ## Examples
    >>> import gymnasium as gym, nb201_env
    >>> env = gym.make("NASBench201-v0", protocol="nb201")  # the bundled nb201-public unless configured
    >>> obs, info = env.reset(seed=0)
    >>> for op in [3, 3, 3, 1, 3, 2]:  # one op per edge, official order
    ...     obs, reward, terminated, truncated, info = env.step(op)
    >>> info["arch"], info["valid_accuracy"], terminated
    (6111, 84.384, True)
    >>> round(info["clock"], 1), info["benchmark"]
    (174.7, 'nb201-public')

    ## Version History
    * v0: initial version.
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(render_mode, **kwargs)
        self.action_space = gym.spaces.Discrete(NUM_OPS)
        self.observation_space = gym.spaces.MultiDiscrete([NUM_OPS + 1] * NUM_EDGES + [NUM_EDGES + 1])
        self._obs = np.zeros(NUM_EDGES + 1, dtype=np.int64)
        self._ops: list[int] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start the next episode (and a new search run when seeded or asked)."""
        self._start(seed, options)
        self._obs[:NUM_EDGES] = UNSET
        self._obs[NUM_EDGES] = 0
        self._ops = []
        info = {"action_mask": self.action_masks()} if self.config.action_mask else {}
        return self._obs.copy(), info

    def action_masks(self) -> np.ndarray:
        """Return the ops allowed for the current edge: those that can still give a connected cell."""
        position = len(self._ops)
        if position >= NUM_EDGES:
            return np.ones(NUM_OPS, dtype=bool)
        return mask_after(prefix_code(self._ops), position)

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        """Choose the op of the current edge; evaluate the cell after the sixth choice."""
        check_started(self._started)
        position = len(self._ops)
        if position >= NUM_EDGES:
            raise RuntimeError("the cell is complete: call reset() to start the next episode")
        op = action if type(action) is int and 0 <= action < NUM_OPS else check_op(action)
        self._ops.append(op)
        self._obs[position] = op
        self._obs[NUM_EDGES] = position + 1
        if position + 1 < NUM_EDGES:
            info = {"action_mask": self.action_masks()} if self.config.action_mask else {}
            return self._obs.copy(), 0.0 if self.front is None else self.runs.no_reward(), False, False, info
        reward, terminated, truncated, info = self._finish(index_of_ops(self._ops))
        if self.config.action_mask:
            info["action_mask"] = np.ones(NUM_OPS, dtype=bool)
        return self._obs.copy(), reward, terminated, truncated, info

    def render(self) -> str | np.ndarray | None:
        """Draw the cell built so far with the latest metrics (``ansi`` text or an RGB array)."""
        return self._draw(list(self._ops))

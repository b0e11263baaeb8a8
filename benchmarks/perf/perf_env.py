"""Environment speed: NASBench201-v0 vs a trivial env with the same spaces, the native vector env vs
Gymnasium's SyncVectorEnv, and stable-baselines3 PPO on both envs -- all measured in one run.

    python -m benchmarks.perf.perf_env [--ppo-steps 16384]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import nb201_env  # noqa: F401  (registers the envs)
from benchmarks.common import best_rate, public_store, table
from nb201_env.benchmark import Benchmark


class TrivialEnv(gym.Env):
    """Same spaces and episode length as NASBench201-v0, no work at all."""

    def __init__(self) -> None:
        self.action_space = gym.spaces.Discrete(5)
        self.observation_space = gym.spaces.MultiDiscrete([6] * 6 + [7])
        self._obs = np.zeros(7, dtype=np.int64)
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs.copy(), {}

    def step(self, action):
        self._t += 1
        return self._obs.copy(), 0.0, self._t == 6, False, {}


gym.register("Trivial-v0", entry_point=TrivialEnv)


def steps_per_second(env: gym.Env, n: int = 120_000) -> float:
    actions = np.random.default_rng(0).integers(5, size=n).tolist()

    def run() -> int:
        env.reset(seed=0)
        step, reset = env.step, env.reset
        for a in actions:
            _, _, terminated, truncated, _ = step(a)
            if terminated or truncated:
                reset()
        return n

    return best_rate(run, repeats=3)


def vector_rate(env, num_envs: int, steps: int) -> float:
    rng = np.random.default_rng(0)
    actions = [rng.integers(5, size=(num_envs, 6)) for _ in range(steps)]

    def run() -> int:
        env.reset(seed=0)
        for a in actions:
            env.step(a)
        return num_envs * steps

    return best_rate(run, repeats=3)


def ppo_seconds(env_id: str, steps: int, bench: Benchmark | None) -> float:
    from stable_baselines3 import PPO

    kwargs = {"benchmark": bench, "budget": None} if bench is not None else {}  # same episodes throughout
    env = gym.make(env_id, **kwargs)
    model = PPO("MlpPolicy", env, n_steps=2048, batch_size=256, seed=0, device="cpu", verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ppo-steps", type=int, default=16384)
    parser.add_argument("--num-envs", type=int, default=8192)
    parser.add_argument("--skip-ppo", action="store_true")
    parser.add_argument("--ppo-repeats", type=int, default=3, help="alternate the two envs this often; keep the best")
    args = parser.parse_args()
    bench = Benchmark.open(public_store())
    rows = []

    trivial = steps_per_second(gym.make("Trivial-v0"))
    ours = steps_per_second(gym.make("NASBench201-v0", benchmark=bench, budget=None))
    rows.append(("gym.make env steps/s", f"{trivial:,.0f}", f"{ours:,.0f}", f"{ours / trivial:.2f}"))

    n = args.num_envs
    same_step = {"autoreset_mode": AutoresetMode.SAME_STEP}  # every step evaluates a cell per run, in both
    native = vector_rate(
        gym.make_vec("NASBench201-OneShot-v0", num_envs=n, benchmark=bench, budget=12000.0, **same_step), n, 60
    )
    sync_n = 64
    sync = gym.make_vec(
        "NASBench201-OneShot-v0",
        num_envs=sync_n,
        vectorization_mode="sync",
        vector_kwargs=same_step,
        benchmark=bench,
        budget=12000.0,
    )
    synced = vector_rate(sync, sync_n, 60)
    rows.append(
        (
            "arch evaluations/s (vector)",
            f"{synced:,.0f} (SyncVectorEnv)",
            f"{native:,.0f} (native)",
            f"{native / synced:.0f}",
        )
    )

    if not args.skip_ppo:
        # alternating runs and keeping each env's best time cancels most of the drift of a shared machine
        times: dict[str, list[float]] = {"Trivial-v0": [], "NASBench201-v0": []}
        for _ in range(args.ppo_repeats):
            for env_id in times:
                times[env_id].append(ppo_seconds(env_id, args.ppo_steps, bench if env_id != "Trivial-v0" else None))
        t_trivial, t_ours = min(times["Trivial-v0"]), min(times["NASBench201-v0"])
        rows.append(
            (f"PPO {args.ppo_steps} steps (s)", f"{t_trivial:.2f}", f"{t_ours:.2f}", f"{t_ours / t_trivial:.3f}")
        )
    print(table(rows, ("measure", "baseline", "nb201_env", "ratio")))


if __name__ == "__main__":
    main()

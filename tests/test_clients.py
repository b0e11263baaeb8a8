"""Third-party clients run the envs as they are: TorchRL's ``GymEnv``/``GymWrapper`` and stable-baselines3's
subprocess vector envs, whose workers find the ids through ``"nb201_env:<id>"`` without a prior import.

MO-Gymnasium's clients are in ``test_multi_objective.py``, Gymnasium's own vector envs and wrappers in
``test_vector_env.py``.
"""

from __future__ import annotations

import multiprocessing as mp

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)

ENV_IDS = ["NASBench201-v0", "NASBench201-OneShot-v0", "NASBench201-MO-v0", "NASBench201-MO-OneShot-v0"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_an_unknown_keyword_is_pythons_type_error_for_every_id(public_bench, env_id):
    """Clients (TorchRL's ``frameskip``, Gymnasium's ``render_mode``) retry only on this exact text."""
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'frameskip'"):
        gym.make(env_id, benchmark=public_bench, frameskip=4)


@pytest.fixture(scope="module")
def torchrl():
    return pytest.importorskip("torchrl")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_torchrl_gym_env_runs_every_id(torchrl, public_bench, env_id):
    from torchrl.envs import GymEnv
    from torchrl.envs.utils import check_env_specs

    env = GymEnv(env_id, benchmark=public_bench, protocol="nb201")  # TorchRL passes frameskip, then drops it
    check_env_specs(env)
    rollout = env.rollout(12, break_when_any_done=False)
    reward_dim = 2 if "-MO-" in env_id else 1
    assert rollout["next", "reward"].shape == (12, reward_dim)
    episode = 6 if env_id.endswith("-v0") and "OneShot" not in env_id else 1
    assert rollout["next", "done"].squeeze(-1).nonzero().flatten()[0].item() == episode - 1
    assert rollout["next", "reward"][episode - 1, 0].item() > 0.05  # a validation accuracy, not zero


def test_torchrl_pixels_and_batched_modes(torchrl, public_bench):
    pytest.importorskip("PIL")
    from torchrl.envs import GymEnv

    pixels = GymEnv("NASBench201-v0", benchmark=public_bench, from_pixels=True, pixels_only=False)
    rollout = pixels.rollout(6)
    assert rollout["next", "pixels"].shape[0] == 6 and rollout["next", "pixels"].shape[-1] == 3
    batched = GymEnv("NASBench201-v0", benchmark=public_bench, num_envs=2)  # TorchRL's AsyncVectorEnv of ours
    assert batched.rollout(6)["next", "reward"].shape == (2, 6, 1)
    batched.close()


@pytest.mark.parametrize("mode", ["Disabled", "SameStep"])
@pytest.mark.parametrize("env_id", ["NASBench201-v0", "NASBench201-OneShot-v0"])
def test_torchrl_wraps_the_native_vector_envs(torchrl, public_bench, env_id, mode):
    """TorchRL takes Gymnasium vector envs in ``DISABLED`` (its preference) or ``SAME_STEP`` autoreset."""
    from torchrl.envs import GymWrapper

    env = GymWrapper(gym.make_vec(env_id, num_envs=3, benchmark=public_bench, budget=3000.0, autoreset_mode=mode))
    rollout = env.rollout(18, break_when_any_done=False)
    assert rollout.shape == (3, 18)
    done = rollout["next", "done"].squeeze(-1)
    length = 6 if env_id == "NASBench201-v0" else 1
    assert done[:, length - 1 :: length].all() and done.sum() == 3 * 18 // length  # every episode, none lost


def test_workers_without_a_prior_import_find_the_module_qualified_ids():
    """A worker started by forkserver or spawn (stable-baselines3's ``SubprocVecEnv`` default) imports nothing of
    ours: the plain id is unknown there, ``"nb201_env:<id>"`` imports the package and finds it."""
    with mp.get_context("forkserver").Pool(1) as pool:
        with pytest.raises(gym.error.NameNotFound, match="NASBench201. doesn't exist"):
            pool.apply(gym.make, ("NASBench201-v0",))
        env = pool.apply(gym.make, ("nb201_env:NASBench201-OneShot-v0",), {"store": "nb201-public"})
    assert type(env.unwrapped).__name__ == "NASBench201OneShotEnv"


def test_stable_baselines3_subprocess_vector_env_from_a_module_that_is_not_main(public_store):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    env = make_vec_env(
        "nb201_env:NASBench201-OneShot-v0",
        n_envs=2,
        vec_env_cls=SubprocVecEnv,
        vec_env_kwargs={"start_method": "forkserver"},
        env_kwargs={"store": str(public_store), "protocol": "nb201"},
    )
    try:
        env.seed(0)
        env.reset()
        _, rewards, dones, infos = env.step(np.array([[3, 3, 3, 1, 3, 2]] * 2))
        assert dones.all() and rewards == pytest.approx([0.84384] * 2)
        assert [i["arch"] for i in infos] == [6111, 6111]
    finally:
        env.close()

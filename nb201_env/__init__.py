"""nb201_env: the NAS-Bench-201 search space as a fast benchmark store and a Gymnasium environment.

Importing the package registers the environments ``NASBench201-v0`` (one step per edge),
``NASBench201-OneShot-v0`` (one step per cell), their native vector versions (``gymnasium.make_vec``), the
multi-objective ``NASBench201-MO-v0`` and ``NASBench201-MO-OneShot-v0`` (vector rewards, MO-Gymnasium API), and
``NASBench201-Train-v0`` (rewards from really training each architecture; the ``[train]`` extra).
"""

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"

if "NASBench201-v0" not in registry:
    register(
        id="NASBench201-v0",
        entry_point="nb201_env.env:NASBench201Env",
        vector_entry_point="nb201_env.vector_env:NASBench201VectorEnv",
    )
    register(
        id="NASBench201-OneShot-v0",
        entry_point="nb201_env.oneshot:NASBench201OneShotEnv",
        vector_entry_point="nb201_env.vector_env:NASBench201OneShotVectorEnv",
    )
    # vector rewards (MO-Gymnasium API): accuracy and costs from the store; mo_gymnasium.make works too
    register(id="NASBench201-MO-v0", entry_point="nb201_env.multi_objective:NASBench201MOEnv", disable_env_checker=True)
    register(
        id="NASBench201-MO-OneShot-v0",
        entry_point="nb201_env.multi_objective:NASBench201MOOneShotEnv",
        disable_env_checker=True,
    )
    # rewards from really training each architecture (needs the [train] extra): make(..., root="data/...")
    register(id="NASBench201-Train-v0", entry_point="nb201_env.training.env:make_training_env")

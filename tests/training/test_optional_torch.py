"""torch stays optional: ``import nb201_env`` never loads it, and a missing torch names the extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_importing_the_package_does_not_import_torch():
    done = _run(
        """
        import sys
        import nb201_env, nb201_env.evaluators, nb201_env.training
        from nb201_env.training import Recipe, ResultCache
        from nb201_env.training.splits import load_splits
        print("torch" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_without_torch_the_error_says_pip_install_nb201_env_train(cifar_jpg):
    done = _run(
        f"""
        import sys
        import numpy as np
        sys.modules["torch"] = None  # what an environment without torch looks like to an import
        from nb201_env.training import Recipe, Runtime, TrainingConfig, TrainingEvaluator
        assert Recipe.proxy().epochs == 4  # torch-free parts keep working
        import nb201_env.training as training
        attempts = (lambda: training.NB201Network, lambda: training.train, lambda: training.ProcessPoolBackend())
        for attempt in attempts:
            try:
                attempt()
            except ImportError as error:
                print(error)
            else:
                raise SystemExit("a torch-only feature worked without torch")
        config = TrainingConfig(root={str(cifar_jpg)!r}, recipe=Recipe.proxy(), runtime=Runtime(device="cpu"))
        with TrainingEvaluator(config) as evaluator:  # configuring and reading caches needs no torch
            try:
                evaluator.evaluate(1, np.random.default_rng(0))  # a cache miss must train
            except ImportError as error:
                print(error)
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 4 and all("pip install nb201-env[train]" in line for line in lines), lines


def test_cached_runs_are_readable_without_torch(tmp_path, cifar_jpg, tiny_splits, tiny_recipe):
    import json

    pytest = __import__("pytest")
    pytest.importorskip("torch")
    from nb201_env.training import Runtime, TrainingConfig, TrainingEvaluator

    cache = tmp_path / "runs.sqlite"
    config = TrainingConfig(recipe=tiny_recipe, cache=cache, runtime=Runtime(device="cpu", threads=1))
    with TrainingEvaluator(config, splits=tiny_splits) as evaluator:
        expected = evaluator.evaluate(3, __import__("numpy").random.default_rng(0))
    done = _run(
        f"""
        import json, sys
        import numpy as np
        sys.modules["torch"] = None
        from nb201_env.training import Recipe, TrainingConfig, TrainingEvaluator
        recipe = Recipe.from_dict(json.loads({json.dumps(json.dumps(tiny_recipe.to_dict()))}))
        config = TrainingConfig(root={str(cifar_jpg)!r}, recipe=recipe, cache={str(cache)!r})
        with TrainingEvaluator(config) as evaluator:  # the data's content is in the key: read, not decoded again
            print(list(evaluator.evaluate(3, np.random.default_rng(0))))
        """
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == list(expected)


def test_unknown_names_are_attribute_errors():
    import pytest

    import nb201_env.training as training

    with pytest.raises(AttributeError, match="has no attribute 'Trainer'"):
        training.Trainer  # noqa: B018

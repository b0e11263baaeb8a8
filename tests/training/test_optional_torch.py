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


def test_without_torch_the_error_says_pip_install_nb201_env_train():
    done = _run(
        """
        import sys
        sys.modules["torch"] = None  # what an environment without torch looks like to an import
        from nb201_env.training import Recipe
        assert Recipe.proxy().epochs == 4  # torch-free parts keep working
        for name in ("TrainingEvaluator", "NB201Network", "train"):
            try:
                getattr(__import__("nb201_env.training", fromlist=[name]), name)
            except ImportError as error:
                print(error)
            else:
                raise SystemExit(f"{name} imported without torch")
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3 and all("pip install nb201-env[train]" in line for line in lines)


def test_unknown_names_are_attribute_errors():
    import pytest

    import nb201_env.training as training

    with pytest.raises(AttributeError, match="has no attribute 'Trainer'"):
        training.Trainer  # noqa: B018

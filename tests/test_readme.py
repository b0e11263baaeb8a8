"""The README's test command is what CI runs."""

import re

import pytest

from shared_data import REPO


def _command(text: str, after: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(line.strip() for line in lines[start + 1 :] if line.strip() and not line.startswith("```"))


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = _command(readme, "## Tests")
    assert command.startswith("python -m pytest")
    assert _command(ci, "# test-command") == command


def test_ci_installs_the_cpu_torch_before_the_project():
    ci = (REPO / ".ci" / "run").read_text()
    torch_line = ci.index("torch==2.13.0")
    assert torch_line < ci.index('-e ".[all]"')
    assert re.search(r"python3 -m venv", ci)


def test_the_quick_start_python_example_runs_as_written(capsys):
    readme = (REPO / "README.md").read_text()
    block = readme.split("In Python:", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md quick start", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Evaluation(accuracy=84.384")
    assert printed[-1].startswith("6111 ")  # the cell built edge by edge is the one named


def test_the_multi_objective_example_runs_as_written(capsys):
    pytest.importorskip("mo_gymnasium")
    readme = (REPO / "README.md").read_text()
    block = readme.split("import gymnasium as gym, mo_gymnasium as mo_gym", 1)[1].split("```", 1)[0]
    exec(compile("import gymnasium as gym, mo_gymnasium as mo_gym" + block, "README.md MO example", "exec"), {})
    printed = capsys.readouterr().out
    assert "[6111]" in printed and "0.84384" in printed  # the front holds the one cell evaluated, its accuracy

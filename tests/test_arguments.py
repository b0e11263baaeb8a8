"""Every bad argument of the probe gets a clear error naming the argument, the bad value and the valid choices."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks.probes.probe_arguments import Case, cases, judge


@pytest.fixture(scope="module")
def probe_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {f"{c.area}: {c.name}": c for c in cases(tmp_path_factory.mktemp("args"))}


def _names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [f"{c.area}: {c.name}" for c in cases(Path(tmp))]


# gymnasium.make warns about an unknown render_mode before our env refuses it; the refusal is what is tested
@pytest.mark.filterwarnings("ignore:.*render_mode.*:UserWarning")
@pytest.mark.parametrize("name", _names())
def test_bad_argument_gets_a_clear_error(name: str, probe_cases: dict[str, Case], caplog) -> None:
    with caplog.at_level(logging.ERROR):
        assert judge(probe_cases[name]) == ""


def test_the_probe_covers_every_area() -> None:
    areas = {name.split(":")[0] for name in _names()}
    assert areas == {"env", "vector", "bench", "space", "cli"}


def test_the_judge_flags_accepted_and_vague_calls() -> None:
    assert judge(Case("x", "accepted", lambda: 1, ("budget",))).startswith("accepted")
    assert "lacks ['budget']" in judge(Case("x", "vague", lambda: int("x"), ("budget",)))
    assert judge(Case("x", "other error", lambda: [][0], ("index",))) == ""  # IndexError is a LookupError
    assert "raised RuntimeError" in judge(Case("x", "runtime", _raise_runtime, ("x",)))


def _raise_runtime() -> None:
    raise RuntimeError("x")

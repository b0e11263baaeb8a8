"""The bundled ``nb201-zero-cost`` table: its contract, its manifest, and scores recomputed from the shared data."""

from __future__ import annotations

import numpy as np
import pytest

from nb201_env.benchmark import Benchmark
from nb201_env.space import NUM_ARCHS
from nb201_env.zero_cost.build import group_representatives, score_groups
from nb201_env.zero_cost.spec import PROXIES

from shared_data import shared_root


@pytest.fixture(scope="module")
def table() -> Benchmark:
    return Benchmark.open("nb201-zero-cost")


def test_every_proxy_is_a_float64_array_in_the_official_order_with_its_coverage(table) -> None:
    method = table.store.manifest.extra["zero_cost"]
    assert table.zero_cost_proxies("cifar10") == tuple(sorted(PROXIES))
    for proxy in PROXIES:
        scores, seconds = table.zero_cost(proxy, "cifar10"), table.zero_cost_seconds(proxy, "cifar10")
        assert scores.dtype == np.float64 and scores.shape == (NUM_ARCHS,) and not scores.flags.writeable
        scored = ~np.isnan(seconds)  # a cost exists exactly where the build computed the score
        assert method["proxies"][proxy]["coverage"] == int(scored.sum()) > 0
        assert np.isnan(scores[~scored]).all() and (seconds[scored] >= 0).all()
    assert method["complete"] == all(method["proxies"][p]["coverage"] == NUM_ARCHS for p in PROXIES)
    assert method["build"]["code_version"] >= 1 and method["build"]["minibatch"]["images"] == 128


def test_group_proxies_are_shared_by_each_score_group(table) -> None:
    groups, reps = score_groups(), group_representatives()
    synflow = table.zero_cost("synflow", "cifar10")
    scored = np.flatnonzero(~np.isnan(synflow))
    assert np.array_equal(synflow[scored], synflow[reps[groups[scored]]])


def test_the_scores_are_computed_again_from_the_shared_tarball() -> None:
    pytest.importorskip("torch")
    tarball = shared_root() / "datasets" / "cifar10-jpg.tar.gz"
    if not tarball.is_file():
        pytest.skip(f"the shared JPEG copy of CIFAR-10 is not at {tarball}")
    from nb201_env.zero_cost.minibatch import minibatch_from_files
    from nb201_env.zero_cost.scorer import score

    table = Benchmark.open("nb201-zero-cost")
    build = table.store.manifest.extra["zero_cost"]["build"]
    batch = minibatch_from_files(tarball, build["minibatch"])  # checked against the table's digest
    naswot, synflow = table.zero_cost("naswot", "cifar10"), table.zero_cost("synflow", "cifar10")
    cell = int(np.flatnonzero(np.isfinite(naswot))[0])
    rep = int(group_representatives()[score_groups()[np.flatnonzero(np.isfinite(synflow))[0]]])
    for index, proxy, stored in ((cell, "naswot", naswot[cell]), (rep, "synflow", synflow[rep])):
        again = score(index, batch, build["seed"], (proxy,)).scores[proxy]
        assert again == pytest.approx(stored, rel=1e-4), (index, proxy)  # float rounding may differ by processor


def test_the_manual_example_runs_as_written(capsys) -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "zero-cost.md").read_text()
    block = page.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, "docs/zero-cost.md example", "exec"), {})
    arch, accuracy = capsys.readouterr().out.split()
    assert 0 <= int(arch) < NUM_ARCHS and 10.0 < float(accuracy) <= 100.0

"""The NB201 baselines, run 500 times each through the environment, land on the paper's figures."""

import pytest

from benchmarks.harness.summary import PUBLISHED_NB201, summarize
from benchmarks.harness.sweep import sweep
from benchmarks.harness.tasks import protocol_variants


def test_random_rea_reinforce_match_the_nb201_paper(public_store, tmp_path):
    """Mean test accuracy of the architecture found lies within the paper's standard deviation.

    The paper searched with a randomly drawn seed per query and reports x-test for CIFAR-100 and
    ImageNet16-120; the public store holds seed-mean 12-epoch accuracies and ori-test 200-epoch figures
    (see README, "Where our data differs"), so only agreement within one reported std is expected.
    """
    agents = ["random", "rea", "reinforce"]
    records = sweep(
        agents,
        protocol_variants(["nb201"], None),
        500,
        tmp_path / "r.jsonl",
        str(public_store),
        workers=2,
        progress=False,
    )
    assert all(r["test"][d] is not None for r in records for d in ("cifar10", "cifar100", "ImageNet16-120"))
    rows = {row["agent"]: row for row in summarize(records)}
    assert sorted(rows) == sorted(agents) and all(rows[a]["runs"] == 500 for a in agents)
    for agent in agents:
        for dataset, (mean, std) in PUBLISHED_NB201[agent].items():
            ours = rows[agent][f"{dataset}_mean"]
            assert abs(ours - mean) <= std, f"{agent} on {dataset}: {ours:.2f} vs paper {mean:.2f} ± {std:.2f}"
    # evolution finds better CIFAR-10 architectures than random sampling with the same budget
    assert rows["rea"]["cifar10_mean"] > rows["random"]["cifar10_mean"] + 0.1
    assert rows["rea"]["clock_mean"] <= 12_000 and rows["random"]["evaluations_mean"] == pytest.approx(106, abs=5)

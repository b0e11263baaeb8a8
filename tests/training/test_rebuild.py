"""The committed build cache rebuilds the bundled proxy table without training, after its documented migration."""

from __future__ import annotations

import lzma

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [train] extra (pip install nb201-env[train])")

from nb201_env.benchmark import Benchmark
from nb201_env.training.migrate import migrate_cache
from nb201_env.training.table import TableConfig, build_table

from shared_data import REPO
from training_helpers import shared_dataset


@pytest.mark.slow
@pytest.mark.shared
def test_the_migrated_rebuild_cache_rewrites_the_bundled_table_bit_for_bit(tmp_path, monkeypatch):
    archive = shared_dataset()
    if not archive.is_file():
        pytest.skip(f"CIFAR-10 JPEG tarball not found at {archive} (set NB201_SHARED to the shared/ folder)")
    cache = tmp_path / "rebuild.sqlite"
    cache.write_bytes(lzma.decompress((REPO / "benchmarks" / "builds" / "rebuild.sqlite.xz").read_bytes()))
    report = migrate_cache(cache, archive)  # the runs were trained on this data: every one of them moves
    assert report.left == 0 and report.migrated >= 6466
    import nb201_env.training.trainer as trainer

    monkeypatch.setattr(trainer, "train", lambda *a, **k: pytest.fail("the committed cache should need no training"))
    config = TableConfig(archive, tmp_path / "proxy.store", cache, workers=1, archs_per_step=16, stacking="per-arch")
    rebuilt, bundled = Benchmark.open(build_table(config)), Benchmark.open("nb201-proxy-cifar10")
    every = np.arange(15625)
    for split in ("x-valid", "ori-test"):
        for epoch in range(3):
            mine = rebuilt.query_many(every, dataset="cifar10-valid", split=split, schedule=3, epoch=epoch)
            theirs = bundled.query_many(every, dataset="cifar10-valid", split=split, schedule=3, epoch=epoch)
            assert np.array_equal(mine, theirs)
    ratio = bundled.cost_table("cifar10") / rebuilt.cost_table("cifar10")  # the bundled times are scaled once
    assert np.allclose(ratio, ratio[0]) and ratio[0] > 1

"""Turn a finished ``nb201 build-table`` cache into the benchmark bundled with the package, and measure its
rank fidelity against the real NB201 figures in ``shared/nb201``.

Times are stored in NB201-equivalent seconds: the measured wall seconds of a single-threaded worker times one
factor, chosen so that the median simulated cost of a search evaluation equals NB201's (``cifar10-valid``, 12
epochs + one validation pass); relative costs between architectures stay our own measurements, and budgets
such as the NB201 protocol's 12,000 s keep their meaning (about a hundred evaluations per run).

    python -m benchmarks.builds.bundle_proxy --cache /work/build/proxy.sqlite --data /tmp/nb201_env_cifar10_jpg
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import public_store, table
from nb201_env.benchmark import Benchmark
from nb201_env.isomorphism import class_ids, representatives
from nb201_env.locate import bundled_store_path
from nb201_env.training.table import TableConfig, train_classes, write_table


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Return Spearman's rank correlation with average ranks for ties (scipy's definition)."""
    from scipy.stats import spearmanr

    keep = ~(np.isnan(a) | np.isnan(b))
    return float(spearmanr(a[keep], b[keep]).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", required=True, help="the build-table result cache")
    parser.add_argument("--data", required=True, help="the dataset folder the table was built from")
    parser.add_argument("--data-cache", help="decoded-image cache of the build")
    parser.add_argument("--out", type=Path, default=bundled_store_path("nb201-proxy-cifar10"))
    parser.add_argument("--name", default="nb201-proxy-cifar10")
    parser.add_argument("--limit", type=int, help="as given to build-table (trials)")
    parser.add_argument("--data-name", default="CIFAR-10 (the JPEG copy of the training and test sets)")
    args = parser.parse_args()

    config = TableConfig(
        args.data,
        args.out,
        args.cache,
        name=args.name,
        limit=args.limit,
        data_cache_dir=args.data_cache,
        overwrite=True,
    )
    runs, num_classes = train_classes(config)  # everything is cached: nothing is trained
    per_class_cost = np.full(len(representatives()), np.nan)
    per_class_valid = np.full(len(representatives()), np.nan)
    per_class_test = np.full(len(representatives()), np.nan)
    position = {int(r): c for c, r in enumerate(representatives())}
    for run in runs:
        c = position[int(run["index"])]
        per_class_cost[c] = sum(run["train_seconds"]) + run["eval_seconds"][-1]
        per_class_valid[c] = run["valid_accuracy"][-1]
        per_class_test[c] = run["test_accuracy"]
    ids = class_ids()
    raw_cost, proxy_valid, proxy_test = per_class_cost[ids], per_class_valid[ids], per_class_test[ids]

    nb201 = Benchmark.open(public_store())
    nb201_cost = nb201.cost_table("cifar10", schedule=12)
    scale = float(np.nanmedian(nb201_cost) / np.nanmedian(raw_cost))
    path = write_table(
        TableConfig(
            args.data,
            args.out,
            args.cache,
            name=args.name,
            limit=args.limit,
            time_scale=scale,
            data_name=args.data_name,
            overwrite=True,
        ),
        runs,
        num_classes,
    )

    every = np.arange(15625)
    reps = representatives()
    test200 = nb201.test_accuracy_many(every, "cifar10")
    valid12 = nb201.validation_many(every, "cifar10", schedule=12)[0]
    ours = Benchmark.open(path)
    ours_cost = ours.cost_table("cifar10")
    rows = [
        ("proxy final validation accuracy", f"{spearman(proxy_valid, test200):.3f}"),
        ("proxy final test accuracy", f"{spearman(proxy_test, test200):.3f}"),
        ("NB201's own 12-epoch validation accuracy (reference)", f"{spearman(valid12, test200):.3f}"),
        ("proxy final validation, one per isomorphism class", f"{spearman(per_class_valid, test200[reps]):.3f}"),
        ("proxy final validation vs NB201 12-epoch validation", f"{spearman(proxy_valid, valid12):.3f}"),
        ("proxy cost vs NB201 12-epoch cost", f"{spearman(ours_cost, nb201_cost):.3f}"),
    ]
    order = np.argsort(-np.nan_to_num(proxy_valid, nan=-1.0), kind="stable")
    top = {k: float(np.nanmean(test200[order[:k]])) for k in (1, 10, 100)}
    picks = [(f"the proxy's best {k} by final validation (mean)", f"{v:.2f}") for k, v in top.items()]
    picks += [
        ("best in the space", f"{np.nanmax(test200):.2f}"),
        ("median of the space", f"{np.nanmedian(test200):.2f}"),
    ]
    trained = int(np.sum(~np.isnan(per_class_valid)))
    print(f"store {path} ({ours.store.size_bytes() / 1e6:.1f} MB); classes trained: {trained}")
    print(
        f"time scale: {scale:.2f} (median raw cost {np.nanmedian(raw_cost):.2f} s -> NB201 median "
        f"{np.nanmedian(nb201_cost):.1f} s)"
    )
    print(f"wall/CPU time of the runs: {ours.store.manifest.extra['wall_to_cpu']} (1 = a free core)")
    print(table(rows, ("Spearman with NB201 200-epoch CIFAR-10 test accuracy (all archs unless said)", "rho")))
    print(table(picks, ("architectures", "NB201 200-epoch CIFAR-10 test accuracy")))
    print(json.dumps({"spearman_valid": rows[0][1], "time_scale": scale}))


if __name__ == "__main__":
    main()

"""Rank fidelity against cost of cheap training recipes, on a fixed stratified sample of architectures.

The sample (``benchmarks/builds/fidelity_sample.csv``, made once with ``sample``) holds 320 architectures drawn
one per stratum of NB201's 200-epoch CIFAR-10 test accuracy (the 15,625 architectures sorted by it and
cut into equal strata), so it weighs the space as a Spearman over all 15,625 does. Each recipe trains the
isomorphism-class representative of every sampled architecture with seed 777 exactly as ``nb201
build-table`` would (one thread per worker, validation and test scored after every epoch); runs go
through a SQLite cache, so ``run`` resumes where it stopped. ``report`` prints, per recipe, Spearman of the
final validation accuracy with NB201's 200-epoch test accuracy (over all the recipe's runs, and over the
screening subsample, every third architecture, on which all recipes compare like for like), the mean NB201
accuracy of the recipe's top 5% of the sample, and the measured cost (CPU seconds per class and the hours
a 6,466-class build takes with two workers), writes
``benchmarks/builds/fidelity_results.csv`` and plots ``docs/fidelity_vs_cost.png``.

    python -m benchmarks.builds.fidelity_study sample
    python -m benchmarks.builds.fidelity_study run --recipes r8c16e3,r16c8e4 --root /tmp/cifar10-jpg
    python -m benchmarks.builds.fidelity_study costs --recipes r8c16e3,r16c8e3 --root /tmp/cifar10-jpg  # alternating
    python -m benchmarks.builds.fidelity_study report --min-archs 100  # after xz -dk + migrate-cache
"""

from __future__ import annotations

import argparse
import csv
import logging
import time

import numpy as np

from benchmarks.common import REPO, read_column, shared_root, spearman, table
from nb201_env import complexity
from nb201_env.isomorphism import representative_of
from nb201_env.training.recipe import Recipe
from nb201_env.training.table import PROXY_RECIPE

SAMPLE = REPO / "benchmarks" / "builds" / "fidelity_sample.csv"
RESULTS = REPO / "benchmarks" / "builds" / "fidelity_results.csv"
PLOT = REPO / "docs" / "fidelity_vs_cost.png"
SEED = 777
CLASSES = 6466
SCREEN_EVERY = 3  # screening runs train every 3rd sampled architecture; all recipes are compared on those
BASE = PROXY_RECIPE  # 5,000 train / 3,000 valid / 2,000 test images, batch 128, flips, 3 epochs, 8 px, C=16, N=1


def _r(**changes: object) -> Recipe:
    return BASE.replace(**changes)


RECIPES: dict[str, Recipe] = {
    "r8c16e3": BASE,  # the first bundled table
    "r8c16e3-10k": _r(train_subset=10000),
    "r8c32e3": _r(channels=32),
    "r8c16n2e3": _r(cells_per_stage=2),
    "r16c8e3": _r(resolution=16, channels=8),
    "r16c8e4": _r(resolution=16, channels=8, epochs=4),
    "r16c16e3": _r(resolution=16),
    "r16c8e6-2500": _r(resolution=16, channels=8, epochs=6, train_subset=2500),
    "r32c8e3-2500": _r(resolution=32, channels=8, train_subset=2500),
    "r16c16e6": _r(resolution=16, epochs=6),
    "r32c16e4": _r(resolution=32, epochs=4),
    "r8c16e3-b64": _r(batch_size=64),
    "r8c16e6-2500": _r(epochs=6, train_subset=2500),
    "r8c8e6": _r(channels=8, epochs=6),
    "r8c16e6": _r(epochs=6),
    "r8c16e3-b256": _r(batch_size=256),
    "r8c16e3-crop": _r(crop_padding=1),
    "r8c16e2-7500": _r(epochs=2, train_subset=7500),
    "r8c16n2e3-3000": _r(cells_per_stage=2, train_subset=3000),
    "r16c8e3-b256": _r(resolution=16, channels=8, batch_size=256),
}
"""name -> recipe; ``rR cC [nN] eE [-images] [-bB] [-crop]``: resolution, channels, cells per stage, epochs, train
images, batch size (default 5,000 images, batch 128), random crops (default flips only)."""


def make_sample(count: int, seed: int) -> list[tuple[int, int]]:
    """Return ``(arch, stratum)``: one architecture per equal-size stratum of NB201 200-epoch accuracy."""
    accuracy = read_column(shared_root() / "nb201" / "nb201_hp200_final_test_accuracy_mean.csv", "cifar10/ori-test")
    order = np.argsort(accuracy, kind="stable")
    rng = np.random.default_rng(seed)
    return [(int(rng.choice(part)), s) for s, part in enumerate(np.array_split(order, count))]


def read_sample() -> list[int]:
    """Return the sampled architecture indices."""
    with open(SAMPLE, newline="") as handle:
        return [int(row["arch_index"]) for row in csv.DictReader(handle)]


def run(names: list[str], cache: str, root: str, data_cache: str, workers: int, every: int) -> None:
    """Train the sample's class representatives with each recipe (cached, resumable); ``every`` > 1 screens
    with every n-th sampled architecture (a stratified subsample)."""
    from nb201_env.training.evaluator import TrainingConfig, TrainingEvaluator
    from nb201_env.training.parallel import ProcessPoolBackend
    from nb201_env.training.runtime import Runtime

    reps = list(dict.fromkeys(int(representative_of(a)) for a in read_sample()[::every]))
    for name in names:
        recipe = RECIPES[name]
        config = TrainingConfig(
            dataset="cifar10-valid",
            root=root,
            recipe=recipe,
            seed=SEED,
            cache=cache,
            runtime=Runtime(threads=1, eval_epochs="all"),
            data_cache_dir=data_cache,
        )
        start = time.perf_counter()
        backend = ProcessPoolBackend(workers=workers, threads_per_worker=1) if workers > 1 else None
        try:
            with TrainingEvaluator(config, backend=backend) as evaluator:
                evaluator.run(reps, [SEED] * len(reps), test="all")
        finally:
            if backend is not None:
                backend.close()
        logging.info("recipe %s: %d classes in %.0f s", name, len(reps), time.perf_counter() - start)


def relative_costs(names: list[str], root: str, data_cache: str, archs: int, rounds: int) -> dict[str, float]:
    """Return CPU seconds per class of each recipe on the same few classes, recipes alternating (best round)."""
    from nb201_env.training.runtime import Runtime
    from nb201_env.training.splits import load_splits, prepare
    from nb201_env.training.trainer import train

    raw = load_splits("cifar10-valid", root, cache_dir=data_cache)
    prepared = {name: prepare(raw, RECIPES[name]) for name in names}
    reps = sorted({int(representative_of(a)) for a in read_sample()})
    chosen = np.random.default_rng(0).choice(reps, archs, replace=False).tolist()
    runtime = Runtime(device="cpu", threads=1, eval_epochs="all")
    best = {name: np.inf for name in names}
    for _ in range(rounds):
        for name in names:
            start = time.process_time()
            for arch in chosen:
                train(arch, prepared[name], RECIPES[name], SEED, runtime, test="all")
            best[name] = min(best[name], (time.process_time() - start) / archs)
            logging.info("recipe %s: %.2f CPU s per class", name, best[name])
    return best


def measure(cache: str, min_archs: int) -> list[dict[str, object]]:
    """Return one row per recipe with at least ``min_archs`` sampled architectures' runs in the cache."""
    from nb201_env.training.cache import ResultCache

    folder = shared_root() / "nb201"
    test200 = read_column(folder / "nb201_hp200_final_test_accuracy_mean.csv", "cifar10/ori-test")
    archs = np.array(read_sample())
    rows = []
    with ResultCache(cache) as runs:
        keys: dict[str, tuple[object, int]] = {}  # per recipe, the key holding most of its runs (one after migration)
        for key, count in runs.run_keys():
            if key.dataset == "cifar10-valid" and count > keys.get(key.recipe_hash, (None, 0))[1]:
                keys[key.recipe_hash] = (key, count)
        for name, recipe in RECIPES.items():
            if recipe.stable_hash() not in keys:
                continue
            key = keys[recipe.stable_hash()][0]
            got = [runs.get(int(a), key, SEED) for a in archs]
            have = np.array([r is not None for r in got])
            if have.sum() < min_archs:
                continue
            found, trained = [r for r in got if r is not None], archs[have]
            valid = np.array([r["valid_accuracy"][-1] for r in found])
            cpu = {int(r["index"]): r["info"]["cpu_seconds"] for r in found}  # once per class
            top = np.argsort(-valid, kind="stable")[: max(1, len(trained) // 20)]
            screen = np.isin(trained, archs[::SCREEN_EVERY])  # the subsample every recipe was screened on
            rows.append(
                {
                    "recipe": name,
                    "archs": int(have.sum()),
                    "resolution": recipe.resolution,
                    "channels": recipe.channels,
                    "cells_per_stage": recipe.cells_per_stage,
                    "epochs": recipe.epochs,
                    "train_images": recipe.train_subset,
                    "recipe_hash": recipe.stable_hash(),
                    "spearman": round(spearman(valid, test200[trained]), 4),
                    "spearman_screen": round(spearman(valid[screen], test200[trained[screen]]), 4),
                    "top5pct_nb201": round(float(test200[trained[top]].mean()), 3),
                    "cpu_s_per_class": round(float(np.mean(list(cpu.values()))), 3),
                    "build_hours_2_workers": round(float(np.mean(list(cpu.values()))) * CLASSES / 2 / 3600, 2),
                }
            )
    return rows


def references(archs: np.ndarray) -> dict[str, float]:
    """Return Spearman on the sample of NB201's 12-epoch validation accuracy and of the parameter count."""
    folder = shared_root() / "nb201"
    test200 = read_column(folder / "nb201_hp200_final_test_accuracy_mean.csv", "cifar10/ori-test")
    valid12 = read_column(folder / "nb201_hp12_final_accuracy.csv", "cifar10-valid/x-valid")
    params = complexity.param_count(archs, 10, 16, 5)
    return {
        "NB201 12-epoch validation": spearman(valid12[archs], test200[archs]),
        "parameter count (no training)": spearman(params, test200[archs]),
    }


def nb201_recipe_hours(images_per_cpu_second: float) -> float:
    """Return the hours two workers would need to train every class with NB201's own 12-epoch recipe
    (25,000 images x 12 epochs at 32 px, C=16, N=5), at our trainer's measured images per CPU second."""
    return CLASSES * 12 * 25_000 / images_per_cpu_second / 2 / 3600


def plot(rows: list[dict[str, object]], refs: dict[str, float], budget_hours: float, nb201_hours: float) -> None:
    """Plot Spearman against build hours, with the reference signals as horizontal lines and NB201's 12-epoch
    signal also as a point at its estimated cost on this CPU."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    hours = [float(r["build_hours_2_workers"]) for r in rows]  # type: ignore[arg-type]
    rho = [float(r["spearman"]) for r in rows]  # type: ignore[arg-type]
    ax.scatter(hours, rho, color="tab:blue", zorder=3)
    for r, h, s in zip(rows, hours, rho):
        ax.annotate(str(r["recipe"]), (h, s), textcoords="offset points", xytext=(4, 3), fontsize=7)
    for (label, value), color in zip(refs.items(), ("tab:green", "tab:gray")):
        ax.axhline(value, color=color, linestyle="--", linewidth=1, label=f"{label}: {value:.3f}")
    ax.scatter([nb201_hours], [refs["NB201 12-epoch validation"]], marker="*", s=120, color="tab:green", zorder=3)
    ax.annotate(
        "NB201 12-epoch recipe (cost estimated)",
        (nb201_hours, refs["NB201 12-epoch validation"]),
        textcoords="offset points",
        xytext=(-150, -14),
        fontsize=7,
    )
    ax.axvline(budget_hours, color="tab:red", linestyle=":", linewidth=1, label=f"{budget_hours:g} h budget")
    ax.set_xscale("log")
    ax.set_xlabel(
        "build time of all 6,466 classes, 2 single-threaded workers (h, from CPU s measured under load;\n"
        "the real r8c16e3 build took 3.6 h where this axis says 5.9 h)"
    )
    ax.set_ylabel("Spearman with NB201 200-epoch CIFAR-10 test")
    ax.set_title(f"Rank fidelity vs cost on {len(read_sample())} stratified architectures")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    PLOT.parent.mkdir(exist_ok=True)
    fig.savefig(PLOT, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("sample", "run", "report", "costs"))
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, of {list(RECIPES)}")
    parser.add_argument(
        "--cache",
        default=str(REPO / "benchmarks" / "builds" / "fidelity.sqlite"),
        help="(xz -dk its snapshot and nb201 migrate-cache it first)",
    )
    parser.add_argument("--root", help="run: the CIFAR-10 image folder (train/<class>/*.jpg and test/)")
    parser.add_argument("--data-cache", help="run: keep decoded images here")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--count", type=int, default=320, help="sample size (sample)")
    parser.add_argument("--budget-hours", type=float, default=3.0)
    parser.add_argument(
        "--nb201-rate",
        type=float,
        default=85.0,
        help="report: our trainer's images per CPU second on NB201's recipe (perf_batched's 'nb201' row)",
    )
    parser.add_argument("--every", type=int, default=1, help="run: only every n-th sampled architecture (screening)")
    parser.add_argument("--min-archs", type=int, default=320, help="report: recipes with at least this many runs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.what == "sample":
        with open(SAMPLE, "w", newline="") as handle:
            handle.write("arch_index,stratum\n")
            handle.writelines(f"{a},{s}\n" for a, s in make_sample(args.count, seed=12))
        print(f"wrote {SAMPLE}")
    elif args.what in ("run", "costs") and args.root is None:
        parser.error(f"{args.what} needs --root, the CIFAR-10 image folder")
    elif args.what == "costs":
        best = relative_costs(args.recipes.split(","), args.root, args.data_cache, archs=6, rounds=2)
        base = next(iter(best.values()))
        print(table([(k, f"{v:.2f}", f"{v / base:.2f}x") for k, v in best.items()], ("recipe", "CPU s/class", "ratio")))
    elif args.what == "run":
        run(args.recipes.split(","), args.cache, args.root, args.data_cache, args.workers, args.every)
    else:
        rows = measure(args.cache, args.min_archs)
        refs = references(np.array(read_sample()))
        header = tuple(rows[0]) if rows else ("recipe",)
        print(table([tuple(str(r[h]) for h in header) for r in rows], header))
        print(table([(k, f"{v:.3f}") for k, v in refs.items()], ("reference on the same sample", "Spearman")))
        with open(RESULTS, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(header))
            writer.writeheader()
            writer.writerows(rows)
        hours = nb201_recipe_hours(args.nb201_rate)
        print(f"NB201's 12-epoch recipe on this CPU at {args.nb201_rate:g} images per CPU second: ~{hours:,.0f} h")
        plot(rows, refs, args.budget_hours, hours)
        print(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()

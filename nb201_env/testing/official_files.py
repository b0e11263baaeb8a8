"""Write small (or full-size) synthetic files in exactly the official NB201 / NATS-Bench layouts.

Values are random but plausible and depend only on ``(root, index)``, where ``root`` is drawn once from the
generator passed to a writer and returned by it: :func:`nats_arch` / :func:`nb201_arch` rebuild any
architecture's expected record for tests. Structure follows ``docs/official-formats.md`` and the real
sample: attribute and dataset names are shared objects (so pickles fetch them back with ``BINGET`` like
the real ones, also across archs in the single-file formats), eval keys are fresh strings, and numpy
scalars are spelled ``numpy.core.multiarray.scalar`` as numpy 1.x wrote them.
"""

from __future__ import annotations

import bz2
import io
import os
import tarfile
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env.complexity import flops_m, params_mb
from nb201_env.importers import pickle_splice
from nb201_env.names import DATASETS, NUM_CLASSES
from nb201_env.space import NUM_ARCHS, arch_str

NATS_DIR_NAME = "NATS-tss-v1_0-3ffb9-simple"
NATS_FILE_NAME = "NATS-tss-v1_0-3ffb9.pickle.pbz2"
NB201_FILE_NAMES = {"v1_0": "NAS-Bench-201-v1_0-e61699.pth", "v1_1": "NAS-Bench-201-v1_1-096897.pth"}
TORCH_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_PROTOCOL = 1001

_EVAL_NAMES_12 = {"cifar10-valid": ["x-valid", "ori-test"], "cifar10": ["ori-test"]}
_EVAL_NAMES_200 = {"cifar10-valid": ["x-valid", "ori-test"], "cifar10": ["ori-test"]}
_TRAIN_FACTOR = {"cifar10-valid": 1.0, "cifar10": 2.0, "cifar100": 2.0, "ImageNet16-120": 6.068}
_EVAL_SIZE = {
    ("cifar10-valid", "x-valid"): 25000,
    ("cifar10-valid", "ori-test"): 10000,
    ("cifar10", "ori-test"): 10000,
    ("cifar100", "x-valid"): 5000,
    ("cifar100", "x-test"): 5000,
    ("cifar100", "ori-test"): 10000,
    ("ImageNet16-120", "x-valid"): 3000,
    ("ImageNet16-120", "x-test"): 3000,
    ("ImageNet16-120", "ori-test"): 6000,
}
_CEILING = {"cifar10-valid": 92.0, "cifar10": 95.0, "cifar100": 74.0, "ImageNet16-120": 47.0}


def _eval_names(dataset: str, hp: int) -> list[str]:
    table = _EVAL_NAMES_12 if hp == 12 else _EVAL_NAMES_200
    default = ["x-valid", "x-test", "ori-test"] if hp == 12 else ["ori-test", "x-valid", "x-test"]
    return list(table.get(dataset, default))


def _acc_epochs(dataset: str, hp: int, name: str) -> range:
    """Return the epochs with eval accuracy/loss, as the official files have them."""
    if hp == 12 or (dataset, name) in (("cifar10-valid", "x-valid"), ("cifar10", "ori-test")):
        return range(hp)
    if name == "ori-test" and dataset != "cifar10-valid":
        return range(hp)
    return range(hp - 1, hp)


def arch_rng(root: int, index: int) -> np.random.Generator:
    """Return the generator that decides everything about one architecture."""
    return np.random.default_rng([root, index])


def _curve(rng: np.random.Generator, n: int, top: float, floor: float) -> np.ndarray:
    t = np.arange(1, n + 1) / n
    return floor + (top - floor) * (1 - np.exp(-4 * t)) + rng.normal(0, 0.3, n)


def _results(index: int, dataset: str, seed: int, hp: int, arch: dict[str, Any], rng: np.random.Generator) -> dict:
    quality = arch["quality"][dataset] * (0.93 if hp == 12 else 1.0)
    acc = _curve(rng, hp, quality, 10.0).clip(0, 100)
    loss = (4.6 - np.log1p(acc / 4)) * rng.uniform(0.95, 1.05)
    t_train = arch["t"] * _TRAIN_FACTOR[dataset]
    names = _eval_names(dataset, hp)
    eval_acc: dict[str, float] = {}
    eval_loss: dict[str, float] = {}
    for name in names:
        curve = _curve(rng, hp, quality * rng.uniform(0.97, 1.0), 10.0).clip(0, 100)
        for epoch in _acc_epochs(dataset, hp, name):
            eval_acc[f"{name}@{epoch}"] = float(curve[epoch])  # fresh key objects per dict, as in the real files
            eval_loss[f"{name}@{epoch}"] = float(4.6 - np.log1p(curve[epoch] / 4))
    eval_times: dict[str, float] = {}
    for name in (n for n in ("x-valid", "x-test", "ori-test") if n in names):
        per_epoch = arch["s"] * _EVAL_SIZE[(dataset, name)]
        for epoch in range(hp):
            eval_times[f"{name}@{epoch}"] = per_epoch
    return {
        "name": dataset,
        "train_acc1es": dict(enumerate(acc.tolist())),
        "train_acc5es": dict(enumerate(np.minimum(acc * 1.3, 100.0).tolist())) if hp == 12 else None,
        "train_losses": dict(enumerate(loss.tolist())),
        "train_times": OrderedDict((e, t_train) for e in range(hp)),
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch["str"], "class_num": NUM_CLASSES[dataset]},
        "params": np.float64(params_mb(index, dataset)),
        "flop": float(flops_m(index, dataset)),
        "seed": f"{seed:04d}",
        "epochs": hp,
        "latency": [np.float64(arch["latency"][dataset])],
        "eval_names": names,
        "eval_acc1es": eval_acc,
        "eval_times": eval_times,
        "eval_losses": eval_loss,
        "net_state_dict": None,
    }


def _arch_results(index: int, hp: int, seeds: dict[str, list[int]], arch: dict, rng: np.random.Generator) -> dict:
    order = sorted({s for ss in seeds.values() for s in ss}, key=lambda s: (s != 777, -s) if hp == 12 else (s < 900, s))
    all_results = {}
    for seed in order:
        for dataset in DATASETS:
            if seed in seeds[dataset]:
                all_results[(dataset, seed)] = _results(index, dataset, seed, hp, arch, rng)
    return {
        "arch_index": index,
        "arch_str": arch["str"],
        "all_results": all_results,
        "dataset_seed": {d: sorted(s) for d, s in seeds.items()},
        "clear_net_done": True,
    }


def _arch_constants(index: int, rng: np.random.Generator) -> dict[str, Any]:
    latency = rng.uniform(0.008, 0.03)
    base = rng.uniform(0.3, 1.0)
    return {
        "str": arch_str(index),
        "t": float(rng.uniform(4.0, 20.0)),  # train s/epoch on cifar10-valid; other datasets scale it
        "s": float(rng.uniform(3e-5, 1.2e-4)),  # eval s/sample
        "latency": {
            "cifar10-valid": latency,
            "cifar10": latency,
            "cifar100": latency * rng.uniform(0.95, 1.0),
            "ImageNet16-120": latency * rng.uniform(0.9, 1.0),
        },
        "quality": {d: 10 + (c - 10) * base for d, c in _CEILING.items()},
    }


_HP12_SEEDS = {"cifar10-valid": [111, 777], "cifar10": [111], "cifar100": [111], "ImageNet16-120": [111]}


def nats_arch(index: int, root: int) -> OrderedDict[str, dict]:
    """Return the NATS per-arch object ``OrderedDict({'12': ..., '200': ...})`` of one synthetic arch."""
    rng = arch_rng(root, index)
    arch = _arch_constants(index, rng)
    hp200 = {d: [777, 888, 999] for d in DATASETS}
    return OrderedDict(
        [("12", _arch_results(index, 12, _HP12_SEEDS, arch, rng)), ("200", _arch_results(index, 200, hp200, arch, rng))]
    )


def nb201_arch(index: int, root: int) -> dict[str, dict]:
    """Return the NB201 per-arch object ``{'full': hp 200, 'less': hp 12}``; hp 200 has 1 to 3 seeds."""
    rng = arch_rng(root, index)
    arch = _arch_constants(index, rng)
    count = int(rng.choice([1, 2, 3], p=[2225 / 15625, 5439 / 15625, 7961 / 15625]))
    chosen = sorted(rng.choice([777, 888, 999], size=count, replace=False).tolist())
    hp200 = {d: list(chosen) for d in DATASETS}
    return {
        "full": _arch_results(index, 200, hp200, arch, rng),
        "less": _arch_results(index, 12, _HP12_SEEDS, arch, rng),
    }


def _meta(total: int = NUM_ARCHS) -> dict[str, Any]:
    return {
        "meta_archs": [arch_str(i) for i in range(total)],
        "total_archs": total,
        "arch2infos": None,
        "evaluated_indexes": set(),
    }


def _root(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**32))


def _nats_member(index: int, root: int, compresslevel: int) -> bytes:
    return bz2.compress(pickle_splice.dumps_official(nats_arch(index, root), 4), compresslevel)


def _nats_members(indices: Iterable[int], root: int, workers: int, compresslevel: int) -> Iterable[tuple[int, bytes]]:
    indices = [int(i) for i in indices]
    if workers <= 1:
        yield from ((i, _nats_member(i, root, compresslevel)) for i in indices)
        return
    with ProcessPoolExecutor(workers) as pool:
        n = len(indices)
        yield from zip(indices, pool.map(_nats_member, indices, [root] * n, [compresslevel] * n, chunksize=16))


def write_nats_dir(
    path: str | os.PathLike[str],
    indices: Iterable[int],
    rng: np.random.Generator,
    *,
    name_format: str = "06d",
    workers: int = 1,
    compresslevel: int = 9,
    meta: bool = True,
) -> int:
    """Write a ``NATS-tss-v1_0-3ffb9-simple`` directory with these archs (+ meta); return the root seed."""
    root = _root(rng)
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    if meta:
        (out / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle_splice.dumps_official(_meta(), 4), compresslevel))
    for index, blob in _nats_members(indices, root, workers, compresslevel):
        (out / f"{index:{name_format}}.pickle.pbz2").write_bytes(blob)
    return root


def write_nats_tar(
    path: str | os.PathLike[str],
    indices: Iterable[int],
    rng: np.random.Generator,
    *,
    workers: int = 1,
    compresslevel: int = 9,
) -> int:
    """Write the ``.tar`` of a ``-simple`` directory (members under ``NATS-tss-v1_0-3ffb9-simple/``)."""
    root = _root(rng)

    def add(tar: tarfile.TarFile, name: str, blob: bytes) -> None:
        info = tarfile.TarInfo(f"{NATS_DIR_NAME}/{name}")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))

    with tarfile.open(path, "w") as tar:
        folder = tarfile.TarInfo(NATS_DIR_NAME)
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        add(tar, "meta.pickle.pbz2", bz2.compress(pickle_splice.dumps_official(_meta(), 4), compresslevel))
        for index, blob in _nats_members(indices, root, workers, compresslevel):
            add(tar, f"{index:06d}.pickle.pbz2", blob)
    return root


def write_nats_single_file(path: str | os.PathLike[str], indices: Iterable[int], rng: np.random.Generator) -> int:
    """Write the non-fast ``NATS-tss-v1_0-3ffb9.pickle.pbz2``: one bz2 protocol-4 pickle of everything."""
    root = _root(rng)
    indices = [int(i) for i in indices]
    header = {"meta_archs": _meta()["meta_archs"], "total_archs": NUM_ARCHS}
    entries = ((i, nats_arch(i, root)) for i in indices)
    with bz2.BZ2File(path, "wb") as fh:
        pickle_splice.write_arch_pickle(fh, header, entries, {"evaluated_indexes": set(indices)}, protocol=4)
    return root


def write_nb201_pth(
    path: str | os.PathLike[str], indices: Iterable[int], rng: np.random.Generator, version: str = "v1_1"
) -> int:
    """Write a legacy ``torch.save`` file like ``NAS-Bench-201-v1_1-096897.pth``: five protocol-2 pickles."""
    if version not in NB201_FILE_NAMES:
        raise ValueError(f"unknown NB201 version {version!r}; valid versions are {sorted(NB201_FILE_NAMES)}")
    root = _root(rng)
    indices = sorted(int(i) for i in indices)
    header = {"meta_archs": _meta()["meta_archs"], "total_archs": NUM_ARCHS}
    entries = ((i, nb201_arch(i, root)) for i in indices)
    sys_info = {
        "protocol_version": TORCH_PROTOCOL,
        "little_endian": True,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    with open(path, "wb") as fh:
        for obj in (TORCH_MAGIC, TORCH_PROTOCOL, sys_info):
            fh.write(pickle_splice.dumps_official(obj, 2))
        pickle_splice.write_arch_pickle(fh, header, entries, {"evaluated_indexes": indices}, protocol=2)
        fh.write(pickle_splice.dumps_official([], 2))  # storage keys: no tensors
    return root

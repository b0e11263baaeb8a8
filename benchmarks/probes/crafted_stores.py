"""Edited copies of a store, as a careless user or an attacker would make them, and the answers a store gives.

:func:`base_store` writes a small store with the kinds of records real stores hold (named seeds, listed
epochs, constant times, an estimate mask, stats); :data:`EDITS` maps a name to an edit of a copy of it.
``resealed`` edits recompute the manifest's seal afterwards, as a deliberate forger would: they must still
be refused by the structural rules. :func:`answers` reads every value a user could ask for, so an edit that
changes any answer without being refused is counted as a wrong answer.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.store import RecordKey, SeedAxis, Source, StatKey, StoreWriter
from nb201_env.store.checks import SEAL, sealed_text
from nb201_env.store.schema import MANIFEST

ACC = RecordKey("cifar10-valid", "x-valid", "accuracy", 12)
LOSS = RecordKey("cifar10-valid", "x-valid", "loss", 12)
TIME = RecordKey("cifar10-valid", "train", "time", 12)
TEST = RecordKey("cifar10", "ori-test", "accuracy", 200)


def base_store(path: Path) -> Path:
    """Write the store every edit starts from."""
    rng = np.random.default_rng(14)
    with StoreWriter(path, "probe", "a store to edit") as w:
        w.add_source("runs", Source("made by the probe"))
        w.add_source("fit", Source("fitted", estimate=True))
        w.add_record(ACC, SeedAxis("seeds", (111, 777)), [5, 11], "runs")[:] = rng.uniform(10, 90, (15625, 2, 2))
        w.add_record(LOSS, SeedAxis("seeds", (111, 777)), [5, 11], "runs")[:] = rng.uniform(0, 3, (15625, 2, 2))
        w.add_record(TIME, SeedAxis("constant"), None, "fit")[:] = rng.uniform(5, 50, (15625, 1, 1))
        w.set_estimate_mask(TIME, np.arange(15625) % 2 == 0)
        w.add_record(TEST, SeedAxis("mean", (777, 888)), [199], "runs")[:] = rng.uniform(10, 95, (15625, 1, 1))
        w.add_stat(StatKey("params_mb", "cifar10"), "runs", "MB")[:] = rng.uniform(0, 2, 15625)
        w.add_stat(StatKey("flops_m", "cifar10"), "runs", "M")[:] = rng.uniform(0, 200, 15625)
        return w.commit()


def answers(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return every value of the base store's records and stats as the store at ``path`` answers them."""
    bench = Benchmark.open(path)
    every = np.arange(15625)
    out: dict[str, Any] = {}
    for key, seeds, epochs in (
        (ACC, (111, 777), (5, 11)),
        (LOSS, (111, 777), (5, 11)),
        (TIME, (), (3,)),
        (TEST, (), (199,)),
    ):
        for seed in ("mean", *seeds):
            for epoch in epochs:
                values = bench.query_many(
                    every,
                    dataset=key.dataset,
                    split=key.split,
                    metric=key.metric,
                    schedule=key.schedule,
                    epoch=epoch,
                    seed=seed,
                )
                out[f"{key.name} seed {seed} epoch {epoch}"] = values.tolist()
    out["estimate mask"] = bench.store.estimate_mask(TIME).tolist()
    out["estimated source"] = bench.store.manifest.sources[bench.store.record_info(TIME).source].estimate
    for stat in ("params_mb", "flops_m"):
        out[stat] = bench.stats_many(every, stat, "cifar10").tolist()
    return out


def _doc(path: Path) -> dict[str, Any]:
    return json.loads((path / MANIFEST).read_text())


def _save(path: Path, doc: dict[str, Any], reseal: bool = False) -> None:
    (path / MANIFEST).write_text(sealed_text(doc) if reseal else json.dumps(doc, indent=1))


def _record(doc: dict[str, Any], key: RecordKey) -> dict[str, Any]:
    return next(
        r
        for r in doc["records"]
        if (r["dataset"], r["split"], r["metric"], r["schedule"]) == (key.dataset, key.split, key.metric, key.schedule)
    )


def _edit(change: Callable[[dict[str, Any]], None], reseal: bool = False) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        doc = _doc(path)
        change(doc)
        _save(path, doc, reseal)

    return apply


def _set(key: RecordKey, *fields: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = _record(doc, key)
        for f in fields[:-1]:
            target = target[f]
        target[fields[-1]] = value

    return change


def _swap_arrays(doc: dict[str, Any]) -> None:
    a, b = _record(doc, ACC), _record(doc, LOSS)
    a["array"], b["array"] = b["array"], a["array"]


def _outside(path: Path, how: str) -> None:
    entry = _record(_doc(path), ACC)["array"]
    outside = path.parent / f"outside-{path.name}.npy"
    shutil.copy(path / entry["file"], outside)
    np.save(outside, np.zeros((15625, 2, 2)))  # same shape and size, other values
    target = {"absolute": str(outside), "dotdot": f"../{outside.name}"}.get(how)
    doc = _doc(path)
    record = _record(doc, ACC)["array"]
    if how == "symlink":
        (path / record["file"]).unlink()
        (path / record["file"]).symlink_to(outside)
        return
    from nb201_env.store.checks import file_sha256

    record.update(file=target, sha256=file_sha256(outside), nbytes=outside.stat().st_size)
    _save(path, doc, reseal=True)


def _file_bytes(path: Path, change: Callable[[bytearray], None], key: RecordKey = ACC) -> None:
    victim = path / _record(_doc(path), key)["array"]["file"]
    data = bytearray(victim.read_bytes())
    change(data)
    victim.chmod(0o644)
    victim.write_bytes(bytes(data))


def _flip_middle(data: bytearray) -> None:
    data[len(data) // 2] ^= 0x10


def _rename_swap(path: Path) -> None:
    a, b = (path / _record(_doc(path), k)["array"]["file"] for k in (ACC, LOSS))
    tmp = path / "swap.tmp"
    a.rename(tmp), b.rename(a), tmp.rename(b)


def _write_text(path: Path, text: bytes) -> None:
    (path / MANIFEST).write_bytes(text)


EDITS: dict[str, Callable[[Path], None]] = {
    "schedule 12 -> 200": _edit(_set(ACC, "schedule", value=200)),
    "epochs [5, 11] -> [4, 11]": _edit(_set(ACC, "epochs", value=[4, 11])),
    "epochs reversed": _edit(_set(ACC, "epochs", value=[11, 5])),
    "seed labels swapped": _edit(_set(ACC, "seed_axis", "seeds", value=[777, 111])),
    "seed label 777 -> 888": _edit(_set(ACC, "seed_axis", "seeds", value=[111, 888])),
    "seed kind seeds -> mean": _edit(_set(ACC, "seed_axis", "kind", value="mean")),
    "seed kind constant -> one": _edit(_set(TIME, "seed_axis", "kind", value="one")),
    "dataset renamed": _edit(_set(TEST, "dataset", value="cifar100")),
    "split renamed": _edit(_set(ACC, "split", value="ori-test")),
    "metric renamed": _edit(_set(LOSS, "metric", value="time")),
    "source renamed to an unknown one": _edit(_set(ACC, "source", value="elsewhere")),
    "estimate flag flipped": _edit(lambda d: d["sources"]["fit"].update(estimate=False)),
    "estimate mask dropped": _edit(_set(TIME, "estimate_mask", value=None)),
    "record duplicated": _edit(lambda d: d["records"].append(dict(_record(d, ACC)))),
    "stat duplicated": _edit(lambda d: d["stats"].append(dict(d["stats"][0]))),
    "two records' arrays swapped": _edit(_swap_arrays),
    "two stats' arrays swapped": _edit(lambda d: [d["stats"][0].__setitem__("array", d["stats"][1]["array"])]),
    "sha256 altered": _edit(_set(ACC, "array", "sha256", value="0" * 64)),
    "nbytes altered": _edit(_set(ACC, "array", "nbytes", value=64)),
    "shape altered": _edit(_set(ACC, "array", "shape", value=[15625, 4, 1])),
    "dtype altered": _edit(_set(ACC, "array", "dtype", value="<f4")),
    "name altered": _edit(lambda d: d.update(name="NB201 official")),
    "format_version 1": _edit(lambda d: d.update(format_version=1)),
    "format_version 3": _edit(lambda d: d.update(format_version=3)),
    "format removed": _edit(lambda d: d.pop("format")),
    "num_archs altered": _edit(lambda d: d.update(num_archs=15624)),
    "seal removed": _edit(lambda d: d.pop(SEAL)),
    "seal replaced": _edit(lambda d: d.update({SEAL: "f" * 64})),
    "schedule as a string": _edit(_set(ACC, "schedule", value="12")),
    "schedule as a float": _edit(_set(ACC, "schedule", value=12.0)),
    "records as an object": _edit(lambda d: d.update(records={"a": 1})),
    "resealed: record duplicated": _edit(lambda d: d["records"].append(dict(_record(d, ACC))), reseal=True),
    "resealed: epochs [5, 11] -> [5, 7, 11]": _edit(_set(ACC, "epochs", value=[5, 7, 11]), reseal=True),
    "resealed: seed labels 2 -> 3": _edit(_set(ACC, "seed_axis", "seeds", value=[111, 777, 888]), reseal=True),
    "resealed: file named after another checksum": _edit(
        _set(ACC, "array", "file", value="0" * 20 + ".npy"), reseal=True
    ),
    "resealed: file in a subfolder": _edit(_set(ACC, "array", "file", value="sub/x.npy"), reseal=True),
    "resealed: absolute file path": lambda p: _outside(p, "absolute"),
    "resealed: ../ file path": lambda p: _outside(p, "dotdot"),
    "array file replaced by a link outside": lambda p: _outside(p, "symlink"),
    "array files swapped on disk": _rename_swap,
    "flipped byte in the middle of an array": lambda p: _file_bytes(p, _flip_middle),
    "array truncated": lambda p: _file_bytes(p, lambda d: d.__delitem__(slice(len(d) // 2, None))),
    "npy header shape edited": lambda p: _file_bytes(
        p, lambda d: d.__setitem__(slice(0, 128), bytes(d[:128]).replace(b"(15625, 2, 2)", b"(15625, 4, 1)"))
    ),
    "manifest truncated": lambda p: _write_text(p, (p / MANIFEST).read_bytes()[:500]),
    "manifest of binary garbage": lambda p: _write_text(p, bytes(range(256)) * 40),
    "manifest of deeply nested JSON": lambda p: _write_text(p, b"[" * 200_000 + b"]" * 200_000),
    "manifest empty": lambda p: _write_text(p, b""),
    "manifest of huge size": lambda p: _write_text(p, b" " * (65 << 20) + b"{}"),
}
"""Edits by name; each changes a copy of :func:`base_store` in place."""

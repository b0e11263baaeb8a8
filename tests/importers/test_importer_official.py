"""OfficialRecords: every schema violation raises an error naming the arch, key and expected value."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from importer_helpers import SparseWriter

from nb201_env.importers import SourceFormatError
from nb201_env.importers.official import (
    OFFICIAL_LAYOUT,
    OfficialRecords,
    add_arch_container,
    check_header,
    index_ranges,
)
from nb201_env.store import RecordKey, StatKey
from nb201_env.testing import official_files as fixtures

HPS = {"12": 12, "200": 200}


@pytest.fixture(scope="module")
def arch7() -> dict[str, Any]:
    return fixtures.nats_arch(7, 99)


def _records(time_axes: str = "constant") -> tuple[SparseWriter, OfficialRecords]:
    writer = SparseWriter()
    return writer, OfficialRecords(writer, "src", time_axes=time_axes)  # type: ignore[arg-type]


def _run(container: dict[str, Any], hp: str = "200", key: tuple[str, int] = ("cifar100", 888)) -> dict[str, Any]:
    return container[hp]["all_results"][key]


def test_official_layout_matches_the_formats_doc() -> None:
    assert OFFICIAL_LAYOUT[(12, "cifar10-valid")].seeds == (111, 777)
    assert OFFICIAL_LAYOUT[(12, "ImageNet16-120")].seeds == (111,)
    assert all(e == tuple(range(12)) for e in OFFICIAL_LAYOUT[(12, "cifar100")].epochs.values())
    c10v = OFFICIAL_LAYOUT[(200, "cifar10-valid")].epochs
    assert c10v["x-valid"] == tuple(range(200)) and c10v["ori-test"] == (199,)
    assert OFFICIAL_LAYOUT[(200, "cifar10")].epochs["ori-test"] == tuple(range(200))
    for dataset in ("cifar100", "ImageNet16-120"):
        layout = OFFICIAL_LAYOUT[(200, dataset)]
        assert layout.seeds == (777, 888, 999)
        assert (layout.epochs["x-valid"], layout.epochs["x-test"]) == ((199,), (199,))
        assert layout.epochs["ori-test"] == layout.epochs["train"] == tuple(range(200))


def test_maps_every_value(arch7: dict[str, Any]) -> None:
    writer, records = _records()
    add_arch_container(records, 7, arch7, HPS, "f")
    run = _run(arch7)
    acc = writer.records[RecordKey("cifar100", "x-valid", "accuracy", 200)][2]
    assert acc[7, 1, 0] == run["eval_acc1es"]["x-valid@199"]
    loss = writer.records[RecordKey("cifar100", "train", "loss", 200)][2]
    assert np.array_equal(loss[7, 1, :], list(run["train_losses"].values()))
    assert writer.records[RecordKey("cifar100", "x-test", "time", 200)][2][7, 0, 0] == run["eval_times"]["x-test@3"]
    assert writer.stats[StatKey("latency_s", "cifar100")][7] == run["latency"][0]
    assert records.summary()["archs_present"] == {"count": 1, "ranges": [[7, 8]]}


def test_full_time_axes_keep_varying_times(arch7: dict[str, Any]) -> None:
    arch = copy.deepcopy(arch7)
    _run(arch)["train_times"][5] *= 2
    with pytest.raises(
        SourceFormatError,
        match=r"arch 7 hp '200' run \('cifar100', 888\): cifar100/train/time@200 "
        r"is not constant across epochs .*time_axes='full'",
    ):
        add_arch_container(_records()[1], 7, arch, HPS, "f")
    writer, records = _records("full")
    add_arch_container(records, 7, arch, HPS, "f")
    times = writer.records[RecordKey("cifar100", "train", "time", 200)][2]
    assert times[7, 1, 5] == 2 * times[7, 1, 4]


def test_time_differing_between_seeds(arch7: dict[str, Any]) -> None:
    arch = copy.deepcopy(arch7)
    times = _run(arch, "12", ("cifar10-valid", 111))["eval_times"]
    for key in [k for k in times if k.startswith("x-valid@")]:
        times[key] = 123.0
    with pytest.raises(
        SourceFormatError,
        match=r"cifar10-valid/x-valid/time@12 is 123\.0 but another seed of this "
        r"arch has .*time_axes='full'",
    ):
        add_arch_container(_records()[1], 7, arch, HPS, "f")


def _mutated(arch7: dict[str, Any], change: str) -> dict[str, Any]:
    arch = copy.deepcopy(arch7)
    run = _run(arch)
    results = arch["200"]["all_results"]
    if change == "dataset":
        results[("cifar20", 888)] = results.pop(("cifar100", 888))
    elif change == "seed":
        results[("cifar100", 555)] = results.pop(("cifar100", 888))
    elif change == "train_epoch":
        run["train_acc1es"][200] = 1.0
    elif change == "eval_epoch":
        run["eval_acc1es"]["x-valid@150"] = 50.0
    elif change == "eval_name":
        run["eval_losses"]["x-hidden@3"] = 1.0
    elif change == "eval_names":
        run["eval_names"].append("secret")
    elif change == "arch_str":
        arch["200"]["arch_str"] = fixtures.arch_str(8)
    elif change == "latency":
        run["latency"] = [np.float64(run["latency"][0] * 1.5)]
    elif change == "params":
        run["params"] = "big"
    elif change == "epochs":
        run["epochs"] = 12
    elif change == "value":
        run["train_losses"][3] = "nan?"
    elif change == "hp":
        arch["400"] = arch.pop("200")
    return arch


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("dataset", r"arch 7 hp '200': unexpected dataset 'cifar20' in all_results; the official schema has"),
        ("seed", r"arch 7 hp '200': unexpected seed 555 for cifar100; the official schema has seeds \[777, 888, 999\]"),
        ("train_epoch", r"run \('cifar100', 888\): unexpected epoch in train_acc1es key 200; .* train epochs 0\.\.199"),
        (
            "eval_epoch",
            r"unexpected epoch in eval_acc1es key 'x-valid@150'; the official schema has x-valid epochs "
            r"\[199\]",
        ),
        ("eval_name", r"unexpected key 'x-hidden@3' in eval_losses; expected '<name>@<epoch>' with name in"),
        ("eval_names", r"unexpected eval name 'secret'; cifar100 has \['x-valid', 'x-test', 'ori-test'\]"),
        ("arch_str", r"arch 7 hp '200': arch_str is '\|.*', the official string of index 7 is"),
        ("latency", r"run \('cifar100', 888\): latency is .* but another run of this arch on cifar100 has"),
        ("params", r"params must be a number, got 'big'"),
        ("epochs", r"run \('cifar100', 888\): epochs is 12, expected 200"),
        ("value", r"non-numeric value 'nan\?'"),
        ("hp", r"arch 7 has unexpected hp '400'; expected \['12', '200'\]"),
    ],
)
def test_schema_violations(arch7: dict[str, Any], change: str, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message):
        add_arch_container(_records()[1], 7, _mutated(arch7, change), HPS, "f")


def test_duplicates_and_bad_indices(arch7: dict[str, Any]) -> None:
    records = _records()[1]
    add_arch_container(records, 7, arch7, HPS, "f")
    with pytest.raises(SourceFormatError, match="arch 7 hp '12': this arch and hp appear twice"):
        add_arch_container(records, 7, arch7, HPS, "f")
    with pytest.raises(SourceFormatError, match=r"arch index 15625 is not an int in 0\.\.15624"):
        add_arch_container(records, 15625, arch7, HPS, "f")
    with pytest.raises(SourceFormatError, match="arch 3 holds list, expected a dict keyed by hp"):
        add_arch_container(records, 3, [], HPS, "f")


def test_missing_values_stay_nan_and_are_counted(arch7: dict[str, Any]) -> None:
    arch = copy.deepcopy(arch7)
    del _run(arch)["train_acc1es"][199]
    del arch["200"]["all_results"][("cifar10", 999)]
    writer, records = _records()
    add_arch_container(records, 7, arch, HPS, "f")
    assert np.isnan(writer.records[RecordKey("cifar100", "train", "accuracy", 200)][2][7, 1, 199])
    assert np.isnan(writer.records[RecordKey("cifar10", "train", "accuracy", 200)][2][7, 2]).all()
    assert records.summary()["missing_values"] == {"cifar100/train/accuracy@200": 1}
    assert records.summary()["runs"]["200"]["cifar10"] == {"777": 1, "888": 1}


def test_header_checks() -> None:
    meta = [fixtures.arch_str(i) for i in range(15625)]
    check_header({"meta_archs": meta, "total_archs": 15625}, "f")
    with pytest.raises(SourceFormatError, match="f: total_archs is 100, expected 15625"):
        check_header({"meta_archs": meta, "total_archs": 100}, "f")
    with pytest.raises(
        SourceFormatError, match="meta_archs must be a list of 15625 arch strings, got list of length 3"
    ):
        check_header({"meta_archs": meta[:3], "total_archs": 15625}, "f")


def test_index_ranges() -> None:
    mask = np.zeros(10, dtype=bool)
    mask[[0, 1, 2, 5, 9]] = True
    assert index_ranges(mask) == [[0, 3], [5, 6], [9, 10]]
    assert index_ranges(np.zeros(4, dtype=bool)) == []

import numpy as np
import pytest

from nb201_env.importers.csv_tables import CsvColumn, CsvFormatError, import_csv, read_columns
from nb201_env.space import Arch
from nb201_env.store import RecordKey, SeedAxis, Source, Store, StoreWriter


def _table(tmp_path, rows, header="arch_index,arch_str,acc"):
    path = tmp_path / "t.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_reads_by_index_and_by_string(tmp_path):
    path = _table(tmp_path, [f"5,{Arch(5).to_str()},71.5", f"9,{Arch(9).to_str()},"])
    col = read_columns(path, ["acc"])["acc"]
    assert col[5] == 71.5 and np.isnan(col[9]) and np.isnan(col[0])
    by_str = _table(tmp_path, [f"{Arch(7).to_str()},12.5"], header="arch_str,acc")
    assert read_columns(by_str, ["acc"])["acc"][7] == 12.5


@pytest.mark.parametrize(
    ("rows", "header", "needle"),
    [
        ([f"5,{Arch(6).to_str()},1"], "arch_index,arch_str,acc", "official index order"),
        (["5,,1", "5,,2"], "arch_index,arch_str,acc", "appears twice"),
        (["5,,abc"], "arch_index,arch_str,acc", "'abc', not a number"),
        (["16000,,1"], "arch_index,arch_str,acc", "0..15624"),
        (["1"], "acc", "needs an 'arch_index' or 'arch_str'"),
    ],
)
def test_bad_tables_are_refused(tmp_path, rows, header, needle):
    with pytest.raises(CsvFormatError, match=needle):
        read_columns(_table(tmp_path, rows, header), ["acc"])


def test_unknown_column_lists_the_real_ones(tmp_path):
    with pytest.raises(CsvFormatError, match="no column 'accuracy'; its columns are: arch_index, arch_str, acc"):
        read_columns(_table(tmp_path, ["1,,2"]), ["accuracy"])


def test_import_csv_places_epochs_in_order(tmp_path):
    path = tmp_path / "curve.csv"
    path.write_text("arch_index,e3,e11\n4,40.0,60.0\n")
    key = RecordKey("cifar100", "x-valid", "accuracy", 12)
    with StoreWriter(tmp_path / "c.store", "c", "") as w:
        w.add_source("s", Source("t"))
        import_csv(w, path, [CsvColumn("e11", key, 11), CsvColumn("e3", key, 3)], "s", SeedAxis("one"))
        out = w.commit()
    store = Store.open(out)
    assert store.record_info(key).epochs == (3, 11)
    assert store.record(key)[4, 0].tolist() == [40.0, 60.0]


def test_shared_store_matches_the_csv_sources(shared_nb201, shared_store):
    import csv

    store = Store.open(shared_store, verify="full")
    with open(shared_nb201 / "nb201_hp12_final_accuracy.csv") as fh:
        rows = {int(r["arch_index"]): r for r in csv.DictReader(fh)}
    valid = store.record(RecordKey("cifar10-valid", "x-valid", "accuracy", 12))
    for index in (0, 1, 777, 15624):
        assert valid[index, 0, 0] == float(rows[index]["cifar10-valid/x-valid"])
    with open(shared_nb201 / "nb201_epoch_times_fitted.csv") as fh:
        times = {int(r["arch_index"]): r for r in csv.DictReader(fh)}
    train = store.record(RecordKey("cifar10-valid", "train", "time", 12))
    mask = store.estimate_mask(RecordKey("cifar10-valid", "train", "time", 12))
    assert train[0, 0, 0] == float(times[0]["cifar10_train_per_epoch_s_recorded"]) / 2 and not mask[0]
    assert train[5000, 0, 0] == float(times[5000]["cifar10_train_per_epoch_s_fit"]) / 2 and mask[5000]
    assert store.manifest.sources["times"].estimate


def test_a_long_table_is_read_once_into_its_groups(tmp_path):
    from nb201_env.importers.csv_tables import read_table

    path = tmp_path / "long.csv"
    rows = [f"{i},{Arch(i).to_str()},{d},{hp},{i + hp / 1000}" for i in (3, 4) for d in ("a", "b") for hp in (12, 200)]
    path.write_text("arch_index,arch_str,dataset,hp,acc\n" + "\n".join(rows) + "\n")
    groups = read_table(path, ["acc"], ("dataset", "hp"))
    assert sorted(groups) == [("a", "12"), ("a", "200"), ("b", "12"), ("b", "200")]
    assert groups[("b", "200")]["acc"][4] == 4.2 and np.isnan(groups[("b", "200")]["acc"][5])
    for where in ({"dataset": "a", "hp": "12"}, {"dataset": "b", "hp": "200"}):
        assert np.array_equal(read_columns(path, ["acc"], where)["acc"], groups[tuple(where.values())]["acc"],
                              equal_nan=True)  # fmt: skip
    assert np.isnan(read_columns(path, ["acc"], {"dataset": "c", "hp": "12"})["acc"]).all()  # no such rows
    path.write_text(path.read_text() + f"3,{Arch(3).to_str()},a,12,9\n")
    with pytest.raises(CsvFormatError, match=r"arch 3 appears twice \(in group \{'dataset': 'a', 'hp': '12'\}\)"):
        read_table(path, ["acc"], ("dataset", "hp"))


def test_convert_shared_reads_each_table_once(shared_nb201, tmp_path, monkeypatch):
    import builtins
    from collections import Counter

    from nb201_env.importers import csv_tables
    from nb201_env.importers.shared_figures import build_shared_store

    opened: Counter = Counter()

    def counting_open(path, *args, **kwargs):
        opened[str(path)] += 1
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(csv_tables, "open", counting_open, raising=False)
    build_shared_store(shared_nb201, tmp_path / "s.store")
    assert len(opened) == 5 and set(opened.values()) == {1}, opened

"""Writers never lose a user's file, and relative, absolute and ``~`` output paths all work."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from nb201_env.cli import main
from nb201_env.store import RecordKey, SeedAxis, Source, Store, StoreError, StoreWriter
from nb201_env.testing.official_files import write_nats_dir

KEY = RecordKey("cifar10-valid", "x-valid", "accuracy", 12)


@pytest.fixture(scope="module")
def nats_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("src") / "NATS-tss-v1_0-3ffb9-simple"
    write_nats_dir(folder, [0, 1], np.random.default_rng(0), compresslevel=1)
    return folder


def _write(path: str | Path, overwrite: bool = False, value: float = 1.0) -> Path:
    with StoreWriter(path, "tiny", "", overwrite=overwrite) as w:
        w.add_source("s", Source("t"))
        w.add_record(KEY, SeedAxis("one"), [11], "s")[:] = value
        return w.commit()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory and a home directory of the test's own (``~`` expands to it)."""
    (tmp_path / "cwd").mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.mark.parametrize("spelling", ["rel.store", "sub/rel.store", "~/home.store", "ABSOLUTE"])
def test_the_writer_takes_relative_absolute_and_home_paths(home: Path, spelling: str) -> None:
    out = str(home / "abs.store") if spelling == "ABSOLUTE" else spelling
    path = _write(out)
    expected = {"~/home.store": home / "home" / "home.store", "ABSOLUTE": home / "abs.store"}.get(
        spelling, home / "cwd" / spelling
    )
    assert path == expected and Store(expected, verify="full").record(KEY)[5, 0, 0] == 1.0
    assert [p.name for p in expected.parent.iterdir() if p.name.startswith(".")] == []  # no scratch left


@pytest.mark.parametrize("spelling", ["rel.store", "~/home.store"])
def test_convert_nats_takes_relative_and_home_paths(home: Path, nats_source: Path, spelling: str, capsys) -> None:
    assert main(["convert", "nats", str(nats_source), "-o", spelling]) == 0
    expected = home / "home" / "home.store" if spelling.startswith("~") else home / "cwd" / spelling
    assert f"wrote {expected}" in capsys.readouterr().out
    Store(expected, verify="full")


@pytest.mark.parametrize("spelling", ["rel.store", "~/home.store"])
def test_convert_shared_takes_relative_and_home_paths(home: Path, shared_nb201: Path, spelling: str) -> None:
    assert main(["convert", "shared", str(shared_nb201), "-o", spelling]) == 0
    expected = home / "home" / "home.store" if spelling.startswith("~") else home / "cwd" / spelling
    assert Store(expected).name == "nb201-public"


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("nb201 convert: error:") and "Traceback" not in "".join(err)
    return err[-1]


def test_overwrite_never_replaces_anything_but_our_store(tmp_path: Path, nats_source: Path, capsys) -> None:
    before = sorted(p.name for p in nats_source.iterdir())
    thesis = tmp_path / "thesis.txt"
    thesis.write_text("mine")
    mydir = tmp_path / "mydir"
    mydir.mkdir()
    (mydir / "thesis.txt").write_text("mine too")
    ours = _write(tmp_path / "ours.store")
    (tmp_path / "ours-plus.store").mkdir()
    for p in ours.iterdir():
        (tmp_path / "ours-plus.store" / p.name).write_bytes(p.read_bytes())
    (tmp_path / "ours-plus.store" / "notes.txt").write_text("my notes")
    (tmp_path / "link.store").symlink_to(ours)
    convert = ["convert", "nats", str(nats_source), "--overwrite", "-o"]
    assert "it is not a directory" in _refused([*convert, str(thesis)], capsys)
    assert "holds no readable manifest.json" in _refused([*convert, str(mydir)], capsys)
    assert "is the source" in _refused([*convert, str(nats_source)], capsys)
    assert "or a folder above it" in _refused([*convert, str(nats_source.parent)], capsys)
    assert "holds 'notes.txt'" in _refused([*convert, str(tmp_path / "ours-plus.store")], capsys)
    assert "symbolic link" in _refused([*convert, str(tmp_path / "link.store")], capsys)
    assert "already exists; pass overwrite" in _refused([*convert[:-2], "-o", str(ours)], capsys)
    assert thesis.read_text() == "mine" and (mydir / "thesis.txt").read_text() == "mine too"
    assert (tmp_path / "ours-plus.store" / "notes.txt").read_text() == "my notes"
    assert sorted(p.name for p in nats_source.iterdir()) == before
    assert main([*convert, str(ours)]) == 0  # our own store is replaced
    assert Store(ours).name == "nats-tss" and (tmp_path / "link.store").resolve() == ours


def test_the_writer_refuses_before_creating_anything(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        _write(tmp_path / "blocker" / "s.store")
    with pytest.raises(StoreError, match="it is not a directory"):
        _write(tmp_path / "blocker", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_stale_scratch_folders_of_dead_writers_are_removed(tmp_path: Path, caplog) -> None:
    dead = tmp_path / ".s.store.partial-999999999"
    dead.mkdir()
    (dead / "record-0.npy").write_bytes(b"half written")
    alive = tmp_path / f".s.store.partial-{os.getppid()}"
    alive.mkdir()
    foreign = tmp_path / ".s.store.old-999999998"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("mine")
    with caplog.at_level(logging.INFO, logger="nb201_env.store.destination"):
        _write(tmp_path / "s.store")
    assert not dead.exists() and "removed" in caplog.text
    assert alive.exists() and f"writer process {os.getppid()} still runs" in caplog.text
    assert (foreign / "thesis.txt").read_text() == "mine" and "files a writer does not write" in caplog.text


def test_converting_a_device_says_it_is_not_a_regular_file(tmp_path: Path, capsys) -> None:
    message = _refused(["convert", "nb201", "/dev/null", "-o", str(tmp_path / "x.store")], capsys)
    assert "/dev/null is not a regular file" in message and "does not exist" not in message
    message = _refused(["convert", "nb201", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "x.store")], capsys)
    assert "does not exist" in message


def test_a_refused_pickle_is_one_line_with_status_2(tmp_path: Path, capsys) -> None:
    from benchmarks.probes.crafted_pickles import bodies, place

    _, source, name = place(bodies()["global-os-system"], "nats-dir", tmp_path / "src")
    message = _refused(["convert", "nats", str(source), "-o", str(tmp_path / "x.store")], capsys)
    assert name in message and "refusing to load global os.system" in message

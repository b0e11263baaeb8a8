"""Stores under faults: files truncated or rewritten under a live process, a full disk while writing, and an
overwrite interrupted between its two renames. No crash, no changed answer, no lost store."""

from __future__ import annotations

import errno
import mmap
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import nb201_env  # noqa: F401  (registers the envs)
from benchmarks.probes.crafted_faults import KILL_AT_SWAP
from nb201_env.benchmark import Benchmark
from nb201_env.locate import find_store
from nb201_env.store import CorruptStoreError, RecordKey, SeedAxis, Source, Store, StoreError, StoreWriter

REPO = Path(__file__).resolve().parents[1]
C10 = RecordKey("cifar10-valid", "x-valid", "accuracy", 12)
C100 = RecordKey("cifar100", "x-valid", "accuracy", 12)
DEAD = 999_999_999  # above any pid_max: a writer that no longer runs


@pytest.fixture
def store_copy(public_store: Path, tmp_path: Path) -> Path:
    """A private copy of the bundled nb201-public store, to damage."""
    return Path(shutil.copytree(public_store, tmp_path / "pub.store"))


def _file(store: Path, key: RecordKey) -> Path:
    return store / Store(store).record_info(key).array.file


def _write(path: Path, value: float, overwrite: bool = False) -> Path:
    with StoreWriter(path, "tiny", "", overwrite=overwrite) as w:
        w.add_source("s", Source("t"))
        w.add_record(C10, SeedAxis("one"), [11], "s")[:] = value
        return w.commit()


def _value(path: Path) -> float:
    return float(Store(path).record(C10)[5, 0, 0])


# 1. a truncated file: no SIGBUS ---------------------------------------------------------------------------------

_TRUNCATE_LIVE = """
import os, sys
from nb201_env.benchmark import Benchmark
bench = Benchmark.open(sys.argv[1])
before = bench.validation(6111).accuracy
os.truncate(sys.argv[2], 128)  # as another process would, while this one has the store open
print(before, bench.validation(6111).accuracy, bench.validation(10).accuracy)
"""


def test_an_array_truncated_under_a_live_process_neither_crashes_it_nor_changes_its_answers(store_copy: Path) -> None:
    victim = _file(store_copy, C10)
    proc = subprocess.run(
        [sys.executable, "-c", _TRUNCATE_LIVE, str(store_copy), str(victim)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, f"the reading process died (status {proc.returncode}): {proc.stderr[-1000:]}"
    before, after, other = map(float, proc.stdout.split())
    fresh = Benchmark.open(REPO / "nb201_env" / "data" / "nb201-public.store")
    assert before == after == 84.384 and other == fresh.validation(10).accuracy


def test_an_array_truncated_before_its_first_use_is_refused_naming_it(store_copy: Path) -> None:
    bench = Benchmark.open(store_copy)  # the sizes are checked here, before the truncation
    victim = _file(store_copy, C10)
    os.truncate(victim, 128)
    with pytest.raises(CorruptStoreError, match=f"{victim.name}.*(truncated|checksum)"):
        bench.validation(6111)


# 2. a file rewritten in place: never served -------------------------------------------------------------------


@pytest.mark.parametrize("rewrite", ["the CIFAR-100 array", "zeros"])
def test_an_array_rewritten_in_place_under_a_live_env_changes_no_answer(store_copy: Path, rewrite: str) -> None:
    env = gym.make("NASBench201-OneShot-v0", store=str(store_copy), protocol="nb201", seed_policy="mean")
    env.reset(seed=0)
    *_, info = env.step(np.array([0, 1, 2, 3, 4, 0]))  # reads the CIFAR-10 validation array
    victim = _file(store_copy, C10)
    data = _file(store_copy, C100).read_bytes() if rewrite != "zeros" else None
    with open(victim, "r+b") as fh:  # in place: same file, same size
        fh.seek(128)
        fh.write(data[128:] if data is not None else bytes(victim.stat().st_size - 128))
    *_, info = env.step(np.array([3, 3, 3, 1, 3, 2]))  # arch 6111, never asked before
    assert info["arch"] == 6111 and info["valid_accuracy"] == 84.384
    with pytest.raises(CorruptStoreError, match="fails its checksum"):
        Benchmark.open(store_copy).validation(6111)  # a fresh reader refuses the altered file


def test_arrays_are_read_into_memory_and_read_only(store_copy: Path) -> None:
    array = Store(store_copy).record(C10)
    owner = array
    while getattr(owner, "base", None) is not None:
        owner = owner.base
    assert not isinstance(owner, mmap.mmap), "a mapped file would crash on truncation and follow rewrites"
    assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array[0, 0, 0] = 1.0


def test_size_mode_reads_without_checksums_but_still_refuses_a_short_file(store_copy: Path) -> None:
    store = Store(store_copy, verify="size")
    victim = _file(store_copy, C10)
    os.truncate(victim, victim.stat().st_size - 8)
    with pytest.raises(CorruptStoreError, match="truncated"):
        store.record(C10)


# 1. a full disk while writing: an error, not SIGBUS -----------------------------------------------------------


def _no_space(fd: int, offset: int, length: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_a_clear_error_that_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    old = _write(tmp_path / "s.store", 1.0)
    monkeypatch.setattr(os, "posix_fallocate", _no_space)
    with pytest.raises(StoreError, match=r"cannot reserve 0\.1 MB .*No space left on device"):
        _write(tmp_path / "s.store", 2.0, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.store"] and _value(old) == 1.0


def test_where_space_cannot_be_allocated_ahead_zeros_are_written(tmp_path: Path, monkeypatch) -> None:
    def unsupported(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    assert _value(_write(tmp_path / "s.store", 3.0)) == 3.0
    Store(tmp_path / "s.store", verify="full")


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs (needs root and a system that allows mounts: skipped otherwise)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8); the injected ENOSPC test covers this")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode(errors='replace').strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


_FILL = """
import sys
from nb201_env.store import RecordKey, SeedAxis, Source, StoreWriter
with StoreWriter(sys.argv[1], "big", "") as w:  # two records of 15,625 x 3 seeds x 12 epochs: 9 MB on a 6 MB disk
    w.add_source("s", Source("t"))
    for split in ("x-valid", "ori-test"):
        record = RecordKey("cifar10-valid", split, "accuracy", 12)
        w.add_record(record, SeedAxis("seeds", (1, 2, 3)), range(12), "s")[:] = 50.0
    w.commit()
"""


def test_a_really_full_disk_is_a_clear_error_not_sigbus(small_tmpfs: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _FILL, str(small_tmpfs / "x.store")], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 1, f"status {proc.returncode} (SIGBUS is -7): {proc.stderr[-500:]}"
    assert "No space left on device" in proc.stderr and "cannot reserve 4.5 MB" in proc.stderr
    assert list(small_tmpfs.iterdir()) == []  # no .x.store.partial-PID left


def test_convert_into_a_full_disk_exits_2_with_one_line(small_tmpfs: Path, tmp_path: Path) -> None:
    from nb201_env.testing.official_files import write_nats_dir

    source = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    write_nats_dir(source, [0, 1], np.random.default_rng(0), compresslevel=1)
    cli = [sys.executable, "-m", "nb201_env.cli", "convert", "nats", str(source), "-o", str(small_tmpfs / "x.store")]
    proc = subprocess.run(cli, capture_output=True, text=True, cwd=REPO)  # this checkout
    assert proc.returncode == 2, f"status {proc.returncode}: {proc.stderr[-500:]}"
    assert "No space left on device" in proc.stderr.strip().splitlines()[-1] and "Traceback" not in proc.stderr
    assert list(small_tmpfs.iterdir()) == []


# 3. an overwrite interrupted between its renames: the previous store survives ----------------------------------


def test_an_overwrite_interrupted_between_its_renames_puts_the_old_store_back(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path / "s.store", 1.0)
    real_rename = Path.rename

    def rename(self: Path, target: Path) -> Path:
        if self.name.startswith(".s.store.partial-"):  # the new store moving in: interrupted here
            raise KeyboardInterrupt
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        _write(path, 2.0, overwrite=True)
    monkeypatch.undo()
    assert _value(path) == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.store"]


def _killed_between_renames(path: Path) -> Path:
    """Leave what a writer killed between the two renames leaves: the old store aside, nothing at ``path``."""
    aside = path.parent / f".{path.name}.old-{DEAD}"
    path.rename(aside)
    return aside


def test_the_next_write_restores_a_store_left_aside_before_it_can_fail(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.store", 1.0)
    aside = _killed_between_renames(path)
    with pytest.raises(RuntimeError, match="the conversion failed"), StoreWriter(path, "tiny", "", overwrite=True):
        raise RuntimeError("the conversion failed")
    assert _value(path) == 1.0 and not aside.exists()


def test_without_overwrite_the_restored_store_is_refused_not_replaced(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.store", 1.0)
    _killed_between_renames(path)
    with pytest.raises(StoreError, match="already exists"):
        _write(path, 2.0)
    assert _value(path) == 1.0


def test_a_reader_names_the_store_left_aside(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path / "s.store", 1.0)
    aside = _killed_between_renames(path)
    with pytest.raises(StoreError, match=f"interrupted overwrite left the previous store at {aside}"):
        Store(path)
    with pytest.raises(StoreError, match=f"interrupted overwrite left the previous store at {aside}"):
        find_store(str(path))
    cache = tmp_path / "cache"
    (cache / "nb201_env").mkdir(parents=True)
    default = _write(cache / "nb201_env" / "nb201.store", 1.0)
    _killed_between_renames(default)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("NB201_DATA", raising=False)
    with pytest.raises(StoreError, match="interrupted overwrite"):
        find_store()  # never the bundled benchmark while the user's own one waits to be put back


def test_two_stores_left_aside_are_named_and_neither_is_chosen(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.store", 1.0)
    first = _killed_between_renames(path)
    second = Path(shutil.copytree(first, tmp_path / f".s.store.old-{DEAD - 1}"))
    with pytest.raises(StoreError, match="2 previous stores") as error:
        _write(path, 2.0, overwrite=True)
    assert str(first) in str(error.value) and str(second) in str(error.value)
    assert first.is_dir() and second.is_dir() and not path.exists()


def test_a_writer_killed_between_its_renames_loses_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.store", 1.0)
    proc = subprocess.run([sys.executable, "-c", KILL_AT_SWAP, str(path)], cwd=REPO, capture_output=True)
    assert proc.returncode == -9 and not path.exists()
    with pytest.raises(StoreError, match="interrupted overwrite"):
        Store(path)
    path = _write(path, 3.0, overwrite=True)  # the old store is put back, then replaced as asked
    assert _value(path) == 3.0 and sorted(p.name for p in tmp_path.iterdir()) == ["s.store"]

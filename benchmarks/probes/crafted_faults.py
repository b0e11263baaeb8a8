"""Faults done to a store while it is used or written, and the driver that performs each one in a fresh process.

    python -m benchmarks.probes.crafted_faults live|cold FAULT STORE   # a store file damaged under a reader
    python -m benchmarks.probes.crafted_faults killed-swap STORE BAD   # an overwrite killed between its renames
    python -m benchmarks.probes.crafted_faults full-disk SOURCE MOUNT RESULT

``live``: the reader answers every query, the fault is done to a store file, the reader answers again and
prints the digest of its answers (a reader that was not affected prints the original digest). ``cold``: the
fault is done between opening the store and its first query. ``killed-swap``: a writer overwriting
``STORE`` is killed between its two renames, then a conversion into ``STORE`` that fails (a refused source
``BAD``) runs, then ``STORE`` is read. ``full-disk``: a conversion into a small tmpfs at ``MOUNT``; what it
left there is written to ``RESULT``. Every refusal is one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nb201_env.benchmark import Benchmark
from nb201_env.store import RecordKey, Store
from nb201_env.store.errors import StoreError

VICTIM = RecordKey("cifar10-valid", "x-valid", "accuracy", 12)
DONOR = RecordKey("cifar100", "x-valid", "accuracy", 12)
DEAD_PID = 999_999_999  # above any pid_max: a writer that no longer runs
_CLI = [sys.executable, "-m", "nb201_env.cli"]


def answers(bench: Benchmark) -> str:
    """Return the digest of every search signal, cost and test figure the benchmark gives.

    Single queries first (each reads the array itself), then the batched ones (served from column tables
    computed once): a reader whose arrays changed under it cannot hide behind its caches.
    """
    every = np.arange(15625)
    digest = hashlib.sha256()
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        single = [(*bench.validation(i, dataset), bench.test_accuracy(i, dataset)) for i in range(15625)]
        digest.update(np.asarray(single, dtype=np.float64).tobytes())
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        for values in (*bench.validation_many(every, dataset), bench.test_accuracy_many(every, dataset)):
            digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _file(store: Path, key: RecordKey) -> Path:
    return store / Store(store).record_info(key).array.file


def _in_place(data: Callable[[Path, Path], bytes]) -> Callable[[Path, Path], None]:
    def fault(victim: Path, store: Path) -> None:
        with open(victim, "r+b") as fh:
            fh.write(data(victim, store))

    return fault


def _replaced(victim: Path, store: Path) -> None:
    spare = victim.with_name("spare.tmp")
    shutil.copy(_file(store, DONOR), spare)
    os.replace(spare, victim)


FAULTS: dict[str, Callable[[Path, Path], None]] = {
    "truncated to 128 bytes": lambda victim, store: os.truncate(victim, 128),
    "truncated to 0 bytes": lambda victim, store: os.truncate(victim, 0),
    "another record copied over it in place": _in_place(lambda victim, store: _file(store, DONOR).read_bytes()),
    "zeros written over it in place": _in_place(lambda victim, store: bytes(victim.stat().st_size)),
    "one byte flipped in place": _in_place(
        lambda victim, store: victim.read_bytes()[:4096] + bytes([victim.read_bytes()[4096] ^ 0x10])
    ),
    "deleted": lambda victim, store: victim.unlink(),
    "replaced by another file (rename)": _replaced,
}
"""Faults by name, done to the store's CIFAR-10 validation-accuracy file."""


def reader_main(when: str, fault: str, store: Path) -> int:
    """Answer, damage a file (before the first query when ``when`` is ``cold``), answer again; print the digest."""
    try:
        bench = Benchmark.open(store)
        if when == "live":
            answers(bench)
        FAULTS[fault](_file(store, VICTIM), store)
        print(answers(bench))
    except (StoreError, OSError, ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


KILL_AT_SWAP = """
import os, signal, sys
from pathlib import Path
real = Path.rename
def rename(self, target):
    if ".partial-" in self.name:  # the new store moving in: killed between the two renames
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, target)
Path.rename = rename
from nb201_env.store import RecordKey, SeedAxis, Source, StoreWriter
with StoreWriter(sys.argv[1], "new", "", overwrite=True) as w:
    w.add_source("s", Source("t"))
    w.add_record(RecordKey("cifar10-valid", "x-valid", "accuracy", 12), SeedAxis("one"), [11], "s")[:] = 1.0
    w.commit()
"""
"""A writer that overwrites the store ``argv[1]`` and is killed (SIGKILL) between its two renames."""


def killed_swap_main(store: Path, bad_source: Path) -> int:
    """Kill an overwrite of ``store`` between its renames, fail a conversion into it, then read it."""
    subprocess.run([sys.executable, "-c", KILL_AT_SWAP, str(store)], check=False)
    subprocess.run([*_CLI, "convert", "nats", str(bad_source), "-o", str(store), "--overwrite"], check=False)
    return _read(store)


def _read(store: Path) -> int:
    try:
        print(answers(Benchmark.open(store)))
    except (StoreError, OSError, ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def full_disk_main(source: Path, mount: Path, result: Path) -> int:
    """Convert ``source`` into the small tmpfs at ``mount``; write what was left there to ``result``."""
    proc = subprocess.run(
        [*_CLI, "convert", "nats", str(source), "-o", str(mount / "x.store")], capture_output=True, text=True
    )
    result.write_text(json.dumps(sorted(p.name for p in mount.iterdir())))
    sys.stderr.write(proc.stderr)
    if proc.returncode < 0:  # die the same way, so that the probe counts the crash
        signal.signal(-proc.returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -proc.returncode)
    return proc.returncode


def can_mount_tmpfs(folder: Path) -> str:
    """Return "" if a small tmpfs can be mounted at ``folder`` (root, a system that allows it), else why not."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "mounting a tmpfs needs root and mount(8)"
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        return f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}"
    return ""


def unmount(folder: Path) -> None:
    """Unmount the tmpfs at ``folder`` (lazily: a crashed writer may still hold it)."""
    subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def probe_cases(root: Path) -> list[dict[str, Any]]:
    """Return the probe's cases (keyword arguments of ``probe_hardening.Case``): every fault under a live reader
    and before the first query; an overwrite killed between its renames; stores left aside; a full disk."""
    from benchmarks.probes import crafted_pickles
    from nb201_env.locate import bundled_store_path
    from nb201_env.testing.official_files import write_nats_dir

    public = bundled_store_path("nb201-public")
    digest = answers(Benchmark.open(public))
    driver = [sys.executable, "-m", "benchmarks.probes.crafted_faults"]
    cases: list[dict[str, Any]] = []
    for i, name in enumerate(FAULTS):
        for when in ("live", "cold"):
            store = shutil.copytree(public, root / f"{when}-{i}" / "pub.store")
            argv = [*driver, when, name, str(store)]
            if when == "live":  # unaffected (or refused): never a crash, never another answer
                cases.append({"name": f"{name}, under a live reader", "argv": argv, "answer": digest})
            else:
                victim = _file(public, VICTIM).name
                cases.append({"name": f"{name}, before the first query", "argv": argv, "names": victim})
    source = root / "src" / "NATS-tss-v1_0-3ffb9-simple"
    write_nats_dir(source, [0, 1], np.random.default_rng(0), compresslevel=1)
    _, bad, _ = crafted_pickles.place(crafted_pickles.bodies()["global-os-system"], "nats-dir", root / "bad")
    store = shutil.copytree(public, root / "swap" / "pub.store")
    cases.append(
        {
            "name": "an overwrite killed between its renames, then a failed convert",
            "expect": "succeed",
            "argv": [*driver, "killed-swap", str(store), str(bad)],
            "answer": digest,
        }
    )
    aside = root / "aside" / f".pub.store.old-{DEAD_PID}"
    shutil.copytree(public, aside)
    cases.append(
        {
            "name": "a reader of a store left aside by a killed overwrite",
            "names": aside.name,
            "argv": [*_CLI, "info", "--store", str(aside.parent / "pub.store")],
        }
    )
    asides = [root / "asides" / f".pub.store.old-{pid}" for pid in (DEAD_PID, DEAD_PID - 1)]
    for path in asides:
        shutil.copytree(public, path)
    cases.append(
        {
            "name": "two stores left aside, then convert --overwrite",
            "names": "2 previous stores",
            "argv": [*_CLI, "convert", "nats", str(source), "-o", str(root / "asides" / "pub.store"), "--overwrite"],
            "after": lambda: "" if all(p.is_dir() for p in asides) else "a store left aside was deleted",
        }
    )
    mount, result = root / "tmpfs", root / "tmpfs-result.json"
    name = "convert into a full disk (a 6 MB tmpfs)"
    why = can_mount_tmpfs(mount)
    if why:
        return [*cases, {"name": name, "argv": [], "names": why}]

    def left() -> str:
        unmount(mount)
        found = json.loads(result.read_text()) if result.is_file() else ["(no result)"]
        return "" if found == [] else f"left {found} on the full disk"

    argv = [*driver, "full-disk", str(source), str(mount), str(result)]
    return [*cases, {"name": name, "argv": argv, "names": "No space left on device", "after": left}]


def main(argv: list[str]) -> int:
    if argv[0] in ("live", "cold"):
        return reader_main(argv[0], argv[1], Path(argv[2]))
    if argv[0] == "killed-swap":
        return killed_swap_main(Path(argv[1]), Path(argv[2]))
    if argv[0] == "full-disk":
        return full_disk_main(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    raise SystemExit(f"unknown mode {argv[0]!r}; see the module's docstring")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

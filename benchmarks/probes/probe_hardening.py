"""Probe every importer and a converted store with crafted inputs: count tried / refused / crashed / wrong answers.

    python -m benchmarks.probes.probe_hardening [--families pickles bombs manifests outputs] [--jobs 2]

Every case runs in its own subprocess (the ``nb201`` command, or this module's ``--answers`` mode), so a
crash is counted instead of ending the probe. Outcomes:

* refused: exit status 2 with one error line (for crafted files: naming the file);
* crashed: the process was killed by a signal (a segfault);
* wrong answer: a crafted pickle was converted, an edited store answered differently from the original,
  a refused output lost a user's file, or a valid request was refused;
* unclear: anything else (a traceback, an error not naming the file).

Families: ``pickles`` (18 crafted bodies x 8 places where an official pickle is read), ``bombs``
(decompression bombs), ``manifests`` (edits of a store's manifest and files), ``outputs`` (``-o`` onto
user files, the source, links, relative and ``~`` paths), ``faults`` (store files truncated or rewritten
under a live reader or before its first query, an overwrite killed between its renames, a full disk while
converting: :mod:`benchmarks.probes.crafted_faults`), ``records`` (the harness given bad results lines, a
second process on its results file, repeated names: :mod:`benchmarks.probes.crafted_records`). A case that
cannot run here (a tmpfs needs root) is counted as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.probes import crafted_pickles

FAMILIES = ("pickles", "bombs", "manifests", "outputs", "faults", "records")
_CLI = [sys.executable, "-m", "nb201_env.cli"]


@dataclass
class Case:
    """One probe: a command, what a correct program does with it, and a check of the files afterwards."""

    family: str
    name: str
    argv: list[str]
    expect: str = "refuse"  # or "succeed"
    names: str = ""  # what a refusal must name (a file name)
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    after: Callable[[], str] | None = None  # returns "" when the files are as they must be, else why not
    answer: str = ""  # the expected answers digest (manifests)


def _answers_digest(path: str) -> str:
    from benchmarks.probes import crafted_stores

    data = json.dumps(crafted_stores.answers(path), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def pickle_cases(root: Path) -> list[Case]:
    """Every crafted body in every place an official pickle is read."""
    cases = []
    for body_name, body in crafted_pickles.bodies().items():
        for where in crafted_pickles.PLACES:
            folder = root / f"{body_name}-{where}"
            kind, source, name = crafted_pickles.place(body, where, folder)
            argv = [*_CLI, "convert", kind, str(source), "-o", str(folder / "out.store")]
            cases.append(Case("pickles", f"{body_name} @ {where}", argv, names=name))
    return cases


def bomb_cases(root: Path) -> list[Case]:
    """Decompression bombs in each compressed place."""
    cases = []
    for bomb_name, (where, blob) in crafted_pickles.bombs().items():
        folder = root / bomb_name
        kind, source, name = crafted_pickles.place(None, where, folder, blob=blob)
        argv = [*_CLI, "convert", kind, str(source), "-o", str(folder / "out.store")]
        cases.append(Case("bombs", bomb_name, argv, names=name))
    return cases


def manifest_cases(root: Path) -> list[Case]:
    """Every edit of :mod:`benchmarks.probes.crafted_stores`, read back through the public API."""
    from benchmarks.probes import crafted_stores

    base = crafted_stores.base_store(root / "base.store")
    digest = _answers_digest(str(base))
    cases = []
    for i, (name, edit) in enumerate(crafted_stores.EDITS.items()):
        copy = root / f"edit-{i}" / "s.store"
        shutil.copytree(base, copy)
        edit(copy)
        argv = [sys.executable, "-m", "benchmarks.probes.probe_hardening", "--answers", str(copy)]
        cases.append(Case("manifests", name, argv, answer=digest))
    return cases


def _kept(path: Path, text: str) -> Callable[[], str]:
    return lambda: "" if path.is_file() and path.read_text() == text else f"{path} was changed or removed"


def output_cases(root: Path) -> list[Case]:
    """``-o`` onto user files, sources, links and stores; relative, absolute and ``~`` paths."""
    from nb201_env.testing.official_files import write_nats_dir

    source = root / "src" / "NATS-tss-v1_0-3ffb9-simple"
    write_nats_dir(source, [0, 1], np.random.default_rng(0), compresslevel=1)
    before = sorted(p.name for p in source.iterdir())

    def source_kept() -> str:
        return "" if sorted(p.name for p in source.iterdir()) == before else "the source was changed"

    def convert(out: str, *extra: str) -> list[str]:
        return [*_CLI, "convert", "nats", str(source), "-o", out, *extra]

    (root / "thesis.txt").write_text("mine")
    (root / "mydir").mkdir()
    (root / "mydir" / "thesis.txt").write_text("mine too")
    ours = root / "ours.store"
    subprocess.run(convert(str(ours)), check=True, capture_output=True)
    shutil.copytree(ours, root / "ours-plus.store")
    (root / "ours-plus.store" / "notes.txt").write_text("my notes")
    (root / "link.store").symlink_to(ours)
    stale = root / ".fresh.store.partial-999999"
    stale.mkdir()
    (stale / "record-0.npy").write_bytes(b"x")
    (root / "home").mkdir()
    return [
        Case(
            "outputs",
            "-o a regular file --overwrite",
            convert(str(root / "thesis.txt"), "--overwrite"),
            after=_kept(root / "thesis.txt", "mine"),
        ),
        Case(
            "outputs",
            "-o a folder with a user's file --overwrite",
            convert(str(root / "mydir"), "--overwrite"),
            after=_kept(root / "mydir" / "thesis.txt", "mine too"),
        ),
        Case("outputs", "-o the source --overwrite", convert(str(source), "--overwrite"), after=source_kept),
        Case(
            "outputs",
            "-o a folder above the source --overwrite",
            convert(str(source.parent), "--overwrite"),
            after=source_kept,
        ),
        Case(
            "outputs",
            "-o our store holding a user's file --overwrite",
            convert(str(root / "ours-plus.store"), "--overwrite"),
            after=_kept(root / "ours-plus.store" / "notes.txt", "my notes"),
        ),
        Case("outputs", "-o a link to our store --overwrite", convert(str(root / "link.store"), "--overwrite")),
        Case("outputs", "-o an existing store without --overwrite", convert(str(ours))),
        Case(
            "outputs",
            "convert nb201 /dev/null",
            [*_CLI, "convert", "nb201", "/dev/null", "-o", str(root / "n.store")],
            names="not a regular file",
        ),
        Case("outputs", "-o our store --overwrite", convert(str(ours), "--overwrite"), expect="succeed"),
        Case(
            "outputs",
            "-o a relative path",
            convert("rel.store"),
            expect="succeed",
            cwd=root,
            after=lambda: "" if (root / "rel.store" / "manifest.json").is_file() else "no store at ./rel.store",
        ),
        Case(
            "outputs",
            "-o ~/home.store",
            convert("~/home.store"),
            expect="succeed",
            env={"HOME": str(root / "home")},
            after=lambda: "" if (root / "home" / "home.store" / "manifest.json").is_file() else "no store in ~",
        ),
        Case(
            "outputs",
            "-o fresh.store next to a stale scratch folder",
            convert(str(root / "fresh.store")),
            expect="succeed",
            after=lambda: "" if not stale.exists() else f"{stale} was left behind",
        ),
    ]


def fault_cases(root: Path) -> list[Case]:
    """Store files damaged under a live reader and before its first query, killed overwrites, a full disk."""
    from benchmarks.probes import crafted_faults

    return [Case("faults", **case) for case in crafted_faults.probe_cases(root)]


def record_cases(root: Path) -> list[Case]:
    """The harness on crafted results files, repeated names, and a second process on its results file."""
    from benchmarks.probes import crafted_records

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(_PACKAGE_ROOT)}
    return [Case("records", **case) for case in crafted_records.probe_cases(root, env)]


_PACKAGE_ROOT = [str(Path(__file__).resolve().parents[2])]


def run_case(case: Case) -> tuple[str, str]:
    """Run one case in a subprocess; return (outcome, detail)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(_PACKAGE_ROOT), **case.env}
    cwd = case.cwd or Path(tempfile.gettempdir())  # not this checkout: `python -m` puts the cwd first on the path
    if not case.argv:
        return "skipped", case.names
    proc = subprocess.run(case.argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    err = [line for line in proc.stderr.replace("\r", "\n").splitlines() if line.strip() and "/s]" not in line]
    why = case.after() if case.after else ""  # also when it crashed: the check may clean up (a tmpfs)
    if proc.returncode < 0:
        return "crashed", f"signal {-proc.returncode}"
    if proc.returncode == 0:
        if case.answer and proc.stdout.strip() == case.answer:
            return "unaffected", ""
        if case.expect == "succeed" and not why:
            return "ok", ""
        return "wrong answer", why or "accepted"
    one_line = bool(err) and "Traceback" not in proc.stderr and "error" in err[-1]
    if proc.returncode == 2 and one_line and case.names in err[-1] and case.expect == "refuse" and not why:
        return "refused", err[-1]
    if why or (proc.returncode == 2 and case.expect == "succeed"):
        return "wrong answer", why or err[-1]
    return "unclear", (err[-1] if err else f"exit status {proc.returncode}")[:300]


def answers_main(store: str) -> int:
    """Print the digest of a store's answers, or one error line (exit 2) when it is refused."""
    from nb201_env.store.errors import StoreError

    try:
        print(_answers_digest(store))
    except (StoreError, ValueError, LookupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    parser.add_argument("--against", type=Path, help="run the cases with the nb201_env of another checkout")
    parser.add_argument("--answers", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.against:
        _PACKAGE_ROOT.insert(0, str(args.against.resolve()))
    if args.answers:
        sys.exit(answers_main(args.answers))
    builders = {"pickles": pickle_cases, "bombs": bomb_cases, "manifests": manifest_cases, "outputs": output_cases,
                "faults": fault_cases, "records": record_cases}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="nb201-probe-") as tmp:
        for family in args.families:
            cases = builders[family](Path(tmp) / family)
            with ThreadPoolExecutor(args.jobs) as pool:
                outcomes = list(pool.map(run_case, cases))
            counts = Counter(outcome for outcome, _ in outcomes)
            print(
                f"{family}: tried {len(cases)}, "
                + ", ".join(
                    f"{k} {counts.get(k, 0)}"
                    for k in ("refused", "ok", "unaffected", "crashed", "wrong answer", "unclear", "skipped")
                ),
                flush=True,
            )
            for case, (outcome, detail) in zip(cases, outcomes):
                if args.verbose or outcome in ("crashed", "wrong answer", "unclear", "skipped"):
                    print(f"  {outcome:<12} {case.name}: {detail}", flush=True)
            for path in Path(tmp).iterdir():
                os.chmod(path, 0o755)


if __name__ == "__main__":
    main()

"""Results files and command lines that a careless user, a second process or an editor would give the harness,
and an independent judge of what the harness left afterwards.

Every case runs ``python -m benchmarks.harness.run --agents random --runs 3 --budgets 3000`` (or a variant) on
the bundled store into a results file of its own, with a report. :func:`reference` runs the same sweep once
into a clean file: the harness is deterministic, so after any case each run 0..2 must have exactly one record
equal to the reference one (wall time aside), the report must count 3 runs, every figure it shows must lie
within 0..100 and, for the NB201 protocol at 3,000 s, no figure of the paper may stand beside ours.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNS = 3
_HARNESS = [sys.executable, "-m", "benchmarks.harness.run", "--store", "nb201-public", "--workers", "1"]
SWEEP = ["--agents", "random", "--runs", str(RUNS), "--budgets", "3000"]


def reference(folder: Path, env: dict[str, str]) -> list[str]:
    """Run the probe's sweep into a clean file (with the environment ``env``); return its lines (run 0, 1, 2)."""
    out = folder / "reference.jsonl"
    subprocess.run([*_HARNESS, *SWEEP, "--out", str(out)], check=True, capture_output=True, cwd=folder, env=env)
    return out.read_text().splitlines()


def _reject(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def _strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "wall_seconds"}


def judge(out: Path, report: Path, reference_lines: list[str], exact_lines: bool) -> str:
    """Return what is wrong with what a case left ("" when nothing is)."""
    want = {json.loads(line)["run"]: _strip(json.loads(line)) for line in reference_lines}
    found: dict[int, int] = {}
    raw = out.read_bytes().splitlines() if out.exists() else []
    for line in raw:
        try:
            record = json.loads(line.decode("utf-8"), parse_constant=_reject)
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        if isinstance(record, dict) and record.get("run") in want and _strip(record) == want[record["run"]]:
            found[record["run"]] = found.get(record["run"], 0) + 1
    if sorted(found) != sorted(want):
        return f"runs {sorted(set(want) - set(found))} have no valid record: a bad line counted as done"
    if exact_lines and len(raw) != len(want):
        return f"{len(raw)} lines for {len(want)} runs: runs were done more than once"
    table = report / "table.md"
    if not table.is_file():
        return "no report table"
    rows = [line for line in table.read_text().splitlines() if line.startswith("| nb201")]
    if len(rows) != 1 or rows[0].split("|")[3].strip() != str(RUNS):
        return f"the report does not count {RUNS} runs once: {rows}"
    figures = [float(x) for cell in rows[0].split("|")[5:8] for x in re.findall(r"-?\d+\.\d+", cell)]
    if any(not 0.0 <= x <= 100.0 for x in figures):
        return f"the report shows a figure outside 0..100: {rows[0]}"
    if "paper" in table.read_text():
        return "the paper's 12,000 s figures are shown beside a 3,000 s search"
    return ""


def _edit(line: str, **changes: Any) -> str:
    record = json.loads(line)
    for key, value in changes.items():
        outer, _, inner = key.partition(".")
        if inner:
            record[outer][inner] = value
        else:
            record[outer] = value
    return json.dumps(record)


BAD_LINES: dict[str, Callable[[list[str]], list[str]]] = {
    "run 0: best_arch 99999, test 1000 %, evaluations -3, empty trajectory": lambda g: [
        _edit(
            g[0],
            best_arch=99999,
            evaluations=-3,
            trajectory={"time": [], "arch": [], "valid": []},
            **{"test.cifar10": 1000.0},
        ),
        *g[1:],
    ],
    "run 0: best_valid NaN": lambda g: [_edit(g[0], best_valid=0.5).replace(": 0.5", ": NaN"), *g[1:]],
    "run 0: clock Infinity": lambda g: [_edit(g[0], clock=0.5).replace(": 0.5", ": Infinity"), *g[1:]],
    "run 0: test accuracy as a string": lambda g: [_edit(g[0], **{"test.cifar10": "93.7"}), *g[1:]],
    "run 0: a non-UTF-8 byte": lambda g: [g[0].replace('"random"', '"rand\udcffom"', 1), *g[1:]],
    "run 0: another seed": lambda g: [_edit(g[0], seed=7), *g[1:]],
    "run 0: another budget": lambda g: [_edit(g[0], budget=12000.0), *g[1:]],
    "runs -1 and 10**30 beside runs 0..2": lambda g: [*g, _edit(g[0], run=-1), _edit(g[0], run=10**30)],
    "every line twice": lambda g: [*g, *g],
}
"""Results files by name: each a list of lines built from the reference lines (surrogates are raw bytes)."""


def write_lines(path: Path, lines: list[str]) -> None:
    """Write ``lines`` as a results file (surrogate escapes become the raw bytes they stand for)."""
    path.write_bytes(b"".join(line.encode("utf-8", "surrogateescape") + b"\n" for line in lines))


TWO_AT_ONCE = """
import subprocess, sys
procs = [subprocess.Popen(sys.argv[1:]) for _ in range(2)]
codes = sorted(p.wait() for p in procs)
sys.exit(0 if codes in ([0, 0], [0, 2]) else max(codes))
"""
"""Start the same sweep twice at once; succeed when one ran and the other ran too or was refused."""


def command(out: Path, report: Path, *extra: str) -> list[str]:
    """Return the harness command of a case: the probe's sweep, ``extra`` replacing flags it names."""
    sweep = list(SWEEP)
    for flag in [e for e in extra if e.startswith("--")]:
        if flag in sweep:
            i = sweep.index(flag)
            del sweep[i : i + 2]
    return [*_HARNESS, *sweep, *extra, "--out", str(out), "--report", str(report)]


def probe_cases(root: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Return the probe's cases (keyword arguments of ``probe_hardening.Case``): the harness on every file of
    :data:`BAD_LINES`, on repeated names, and twice at once on one results file; ``env`` runs the reference."""
    root.mkdir(parents=True, exist_ok=True)
    ref = reference(root, env)
    cases: list[dict[str, Any]] = []

    def add(name: str, lines: list[str] | None, *extra: str, exact: bool = False, twice: bool = False) -> None:
        folder = root / f"case-{len(cases)}"
        folder.mkdir()
        out, report = folder / "r.jsonl", folder / "report"
        if lines is not None:
            write_lines(out, lines)
        argv = command(out, report, *extra)
        if twice:
            argv = [sys.executable, "-c", TWO_AT_ONCE, *argv]
        cases.append({"name": name, "argv": argv, "expect": "succeed", "after": lambda: judge(out, report, ref, exact)})

    for name, build in BAD_LINES.items():
        add(name, build(ref))
    add("--agents random random", None, "--agents", "random", "random", exact=True)
    add("--protocols nb201 nb201", None, "--protocols", "nb201", "nb201", exact=True)
    add("--budgets 3000 3000", None, "--budgets", "3000", "3000", exact=True)
    add("two harness processes on one --out", None, exact=True, twice=True)
    return cases

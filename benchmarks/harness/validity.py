"""When a line of a results file counts as a search run: its fields, their ranges, and its agreement with a sweep.

A results file is plain text that anyone can edit, and two processes or an old sweep can leave lines in it,
so no line is trusted: :func:`record_problems` checks that a record is one the harness could have written (types,
an architecture index, accuracies within 0..100, finite times, a trajectory as long as its evaluations and
agreeing with its incumbent), and :class:`SweepSpec` checks that it is a run of the sweep at hand (its agent,
protocol and run number, the seed, budget, rule, dataset and benchmark that run has). A line failing either is
reported by file and line and its run is done again, so a report never shows a figure outside its valid range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from nb201_env.clock import BUDGET_RULES
from nb201_env.names import SEARCH_DATASETS
from nb201_env.protocols import SearchProtocol
from nb201_env.space import NUM_ARCHS

MAX_RUNS: Final = 100_000
"""Most runs per agent and protocol in one sweep (the papers use 500); run numbers are ``0..MAX_RUNS - 1``."""

_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "agent": (str,),
    "protocol": (str,),
    "run": (int,),
    "seed": (int,),
    "best_arch": (int,),
    "best_valid": (int, float, type(None)),
    "evaluations": (int,),
    "clock": (int, float),
    "test": (dict,),
    "trajectory": (dict,),
    "dataset": (str,),
    "benchmark": (str,),
    "budget": (int, float, type(None)),
    "rule": (str, type(None)),
}
"""Fields every record has, with their JSON types: the harness resumes and reports from these (``budget`` and
``rule`` are ``None`` exactly in weight-sharing runs, ``clock_kind = "wall"``)."""

INCOMPLETE: Final = "missing or invalid"

_TOLERANCE: Final = 1e-3  # the trajectory is rounded (times to 3 decimals, accuracies to 4)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _accuracy(value: object) -> bool:
    return _number(value) and 0.0 <= value <= 100.0  # type: ignore[operator]


def _score(value: object) -> bool:
    """A zero-cost score: a finite number, or None where the score is undefined (it ranks last)."""
    return value is None or _number(value)


def _signal_check(record: dict[str, Any]) -> Any:
    return _score if record.get("signal") == "score" else _accuracy


def record_problems(record: Any) -> list[str]:
    """Return what makes ``record`` something the harness cannot have written (empty when it is a valid run)."""
    if not isinstance(record, dict):
        return [f"not a JSON object but {type(record).__name__}"]
    bad = [k for k, kinds in _TYPES.items() if k not in record or type(record[k]) not in kinds]
    if bad:
        return [f"{INCOMPLETE}: {', '.join(bad)}"]
    r = record
    problems = []
    if not r["agent"] or not r["protocol"] or not r["benchmark"]:
        problems.append("empty agent, protocol or benchmark name")
    if not 0 <= r["run"] < MAX_RUNS:
        problems.append(f"run {r['run']} is outside 0..{MAX_RUNS - 1}")
    if not 0 <= r["seed"] < 2**63:
        problems.append(f"seed {r['seed']} is outside 0..2**63-1")
    wall = r.get("clock_kind") == "wall"  # a weight-sharing run: measured seconds, no budget, no rule
    if wall and (r["budget"] is not None or r["rule"] is not None):
        problems.append(f"a weight-sharing run with budget {r['budget']!r} and rule {r['rule']!r} (both None)")
    if r["dataset"] not in SEARCH_DATASETS or (not wall and r["rule"] not in BUDGET_RULES):
        problems.append(f"dataset {r['dataset']!r} or rule {r['rule']!r} is not one the harness runs")
    if not wall and not (_number(r["budget"]) and r["budget"] > 0):
        problems.append(f"budget {r['budget']!r} is not a positive finite number of seconds")
    if not (_number(r["clock"]) and r["clock"] >= 0):
        problems.append(f"clock {r['clock']!r} is not a finite number of seconds >= 0")
    elif r["rule"] == "nb201" and _number(r["budget"]) and r["clock"] > r["budget"] + _TOLERANCE:
        problems.append(f"clock {r['clock']} exceeds the budget {r['budget']} under the nb201 rule")
    n = r["evaluations"]
    if n < 0:
        problems.append(f"evaluations {n} is negative")
    elif n == 0 and (r["best_arch"] != -1 or r["best_valid"] is not None):
        problems.append("no evaluations, yet an incumbent")
    elif n > 0 and not (0 <= r["best_arch"] < NUM_ARCHS and _signal_check(r)(r["best_valid"])):
        problems.append(
            f"best_arch {r['best_arch']} or best_valid {r['best_valid']!r} is outside 0..{NUM_ARCHS - 1} / "
            + ("a score (not NaN or +inf)" if r.get("signal") == "score" else "0..100")
        )
    problems += _test_problems(r["test"])
    if not problems:
        problems += _trajectory_problems(r)
    return problems


def _test_problems(test: dict[str, Any]) -> list[str]:
    unknown = [k for k in test if k not in SEARCH_DATASETS]
    if unknown:
        return [f"test accuracy of unknown datasets {unknown}"]
    wrong = {k: v for k, v in test.items() if v is not None and not _accuracy(v)}
    return [f"test accuracies {wrong} are not numbers within 0..100"] if wrong else []


def _trajectory_problems(r: dict[str, Any]) -> list[str]:
    traj, n = r["trajectory"], r["evaluations"]
    lists = {k: traj.get(k) for k in ("time", "arch", "valid", "epoch") if k in traj or k != "epoch"}
    if any(not isinstance(v, list) or len(v) != n for v in lists.values()):
        return [f"the trajectory's {', '.join(lists)} are not lists of its {n} evaluations"]
    times, archs, valid = lists["time"], lists["arch"], lists["valid"]
    if not all(_number(t) and t >= 0 for t in times) or any(b < a for a, b in pairwise(times)):
        return ["the trajectory's times are not finite, non-negative and non-decreasing"]
    signal = _signal_check(r)
    if not all(type(a) is int and 0 <= a < NUM_ARCHS for a in archs) or not all(signal(v) for v in valid):
        return [f"the trajectory holds archs outside 0..{NUM_ARCHS - 1} or signals outside their range"]
    if "epoch" in lists and not all(type(e) is int and e >= -1 for e in lists["epoch"]):
        return ["the trajectory's epochs are not ints >= -1"]
    if n == 0:
        return []
    if abs(times[-1] - r["clock"]) > _TOLERANCE:
        return [f"clock {r['clock']} is not the time of the last evaluation ({times[-1]})"]
    if r.get("incumbent") == "last" and archs[-1] != r["best_arch"]:  # a weight-sharing method reports its last cell
        return [f"best_arch {r['best_arch']} is not the last derived cell ({archs[-1]})"]
    of_best = [v for a, v in zip(archs, valid) if a == r["best_arch"]]
    if r.get("signal") == "score":  # None: an undefined score, the lowest of all
        defined = [v for v in of_best if v is not None]
        best = max(defined) if defined else None
        if not of_best or (best is None) != (r["best_valid"] is None):
            return [f"best_arch {r['best_arch']} with best_valid {r['best_valid']} is not in the trajectory"]
        of_best = [best] if best is not None else []
        if best is None:
            return []
    if not of_best or abs(max(of_best) - r["best_valid"]) > _TOLERANCE:
        return [f"best_arch {r['best_arch']} with best_valid {r['best_valid']} is not in the trajectory"]
    return []


def run_key(record: Mapping[str, Any]) -> tuple[str, str, int]:
    """Return the identity of a run: (agent, protocol, run number)."""
    return record["agent"], record["protocol"], int(record["run"])


@dataclass(frozen=True)
class SweepSpec:
    """The runs a sweep asks for, and what each of them must hold to count as done.

    Args:
        agents: agent names.
        protocols: the protocols by their (possibly renamed) name.
        runs: run numbers ``0..runs - 1`` of every agent and protocol.
        seed0: run ``r`` is seeded ``seed0 + r``.
        benchmark: the name of the store the sweep searches.
        workers: simulated workers per protocol name (cluster sweeps), ``None`` for sequential searches.
        sharing: the weight-sharing agents: they run each protocol under its name in ``renamed``.
        renamed: protocol name -> the name of its weight-sharing runs (``<protocol>@<scale>``, also in
            ``protocols``).
    """

    agents: tuple[str, ...]
    protocols: Mapping[str, SearchProtocol]
    runs: int
    seed0: int
    benchmark: str
    workers: Mapping[str, int | None]
    sharing: frozenset[str] = frozenset()
    renamed: Mapping[str, str] = field(default_factory=dict)

    def wanted(self) -> list[tuple[str, str, int]]:
        """Return every run of the sweep, protocol by protocol, agent by agent."""
        shared = set(self.renamed.values())
        return [
            (a, self.renamed[p] if a in self.sharing else p, r)
            for p in self.protocols
            if p not in shared
            for a in self.agents
            for r in range(self.runs)
        ]

    def asks_for(self, record: Mapping[str, Any]) -> bool:
        """Return whether the record's (agent, protocol, run) is one of this sweep's runs."""
        agent, protocol = record["agent"], record["protocol"]
        if agent not in self.agents or protocol not in self.protocols or record["run"] >= self.runs:
            return False
        return (agent in self.sharing) == (protocol in self.renamed.values())

    def mismatch(self, record: Mapping[str, Any]) -> str:
        """Return how a record of one of this sweep's runs differs from that run ("" when it does not)."""
        p = self.protocols[record["protocol"]]
        sharing = p.name in self.renamed.values()  # weight-sharing runs have no budget and no rule
        expected = {
            "seed": self.seed0 + record["run"],
            "budget": None if sharing else p.budget,
            "rule": None if sharing else p.rule,
            "dataset": p.dataset,
            "benchmark": self.benchmark,
            "workers": self.workers.get(p.name),
        }
        differ = [f"{k} {record.get(k)!r} (this sweep: {v!r})" for k, v in expected.items() if record.get(k) != v]
        return f"not this sweep's run: {', '.join(differ)}" if differ else ""

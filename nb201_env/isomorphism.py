"""Isomorphism classes of NB201 cells: the official NATS-Bench notion of "unique" architectures.

Two cells fall in one class when they compute the same expression of the input node, reading ``none``
as zero, ``skip_connect`` as the identity and the parametric ops (``nor_conv_1x1``, ``nor_conv_3x3``,
``avg_pool_3x3``) as distinct functions; edges into nodes that never reach the output drop out, and the
order of the terms summed at a node does not matter. The expression grammar (input ``0``, zero ``#``, op
terms ``(operand)@op``, sums as the sorted ``+``-join of term strings) matches the official
``CellStructure.to_unique_str(consider_zero=True)`` character for character, because the partition depends
on it: a sum copied through ``skip_connect`` is joined as one string, not re-sorted term by term, so the
byte order of the grammar decides which sums compare equal. This reproduces the partition of the official
``CellStructure.to_unique_str(consider_zero=True)``, giving 6,466 classes, including its two conservative
corners: an op applied to a node that is a sum of zeros is not folded to zero, and a zero term still counts
inside a sum, and sums copied by ``skip_connect`` are not flattened. So the official classes (and ours) are
a refinement of pure functional equivalence (which would merge them into 4,930 classes).

Class ids number the classes 0..6465 by the smallest official index they contain; that member is the
class representative.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from nb201_env.space import NONE, NUM_ARCHS, OPS, SKIP, Arch, all_ops

NUM_CLASSES = 6466
_ZERO = "#"


def canonical_form(arch: Arch | int) -> str:
    """Return the canonical expression of the cell's output node; equal strings mean one class."""
    ops = arch.ops if isinstance(arch, Arch) else Arch(arch).ops
    return _canonical_form(ops)


def _canonical_form(ops: tuple[int, ...]) -> str:
    node_expr = ["0"]
    edge = 0
    for node in range(1, 4):
        terms = []
        for source in range(node):
            op, operand = ops[edge], node_expr[source]
            edge += 1
            if op == NONE or operand == _ZERO:
                terms.append(_ZERO)
            elif op == SKIP:
                terms.append(operand)
            else:
                terms.append(f"({operand})@{OPS[op]}")
        # a sum is a sorted join of its term strings: the order of edges into a node does not matter
        node_expr.append("+".join(sorted(terms)))
    return node_expr[3]


@cache
def _class_tables() -> tuple[np.ndarray, np.ndarray]:
    forms = [_canonical_form(tuple(int(o) for o in row)) for row in all_ops()]
    class_of_form: dict[str, int] = {}
    class_ids = np.empty(NUM_ARCHS, dtype=np.int32)
    representatives: list[int] = []
    for index, form in enumerate(forms):  # ascending index: the first member seen is the smallest
        cid = class_of_form.setdefault(form, len(class_of_form))
        if cid == len(representatives):
            representatives.append(index)
        class_ids[index] = cid
    reps = np.asarray(representatives, dtype=np.int64)
    class_ids.flags.writeable = False
    reps.flags.writeable = False
    return class_ids, reps


def class_ids() -> np.ndarray:
    """Return the class id (0..6465) of every architecture as a read-only array in index order."""
    return _class_tables()[0]


def representatives() -> np.ndarray:
    """Return the representative (smallest official index) of each class, indexed by class id."""
    return _class_tables()[1]


def class_of(arch: Arch | int) -> int:
    """Return the class id of one architecture."""
    index = arch.index if isinstance(arch, Arch) else Arch(arch).index
    return int(class_ids()[index])


def representative_of(arch: Arch | int) -> int:
    """Return the official index of the representative of the architecture's class."""
    return int(representatives()[class_of(arch)])


def members_of(arch: Arch | int) -> np.ndarray:
    """Return the official indices of every architecture isomorphic to this one (itself included)."""
    return np.flatnonzero(class_ids() == class_of(arch))

"""Draw a cell as plain text, for Gymnasium's ``ansi`` render mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from nb201_env.render.common import metric_items, next_edge, pack, partial_status
from nb201_env.space import EDGES, OPS, Arch, check_partial_ops

_ANSI_WIDTH: Final = 100


def render_ansi(ops: Sequence[int | None], metrics: Mapping[str, object] | None = None) -> str:
    """Draw the cell as a few lines of plain text: each node's incoming edges, the arch string and metrics."""
    values = check_partial_ops(ops)
    items = metric_items(metrics)
    nxt = next_edge(values)
    if nxt is None:
        arch = Arch.from_ops(values)
        header = f"NB201 cell (node 0 = in, node 3 = out): arch {arch.index}"
    else:
        header = f"NB201 cell (node 0 = in, node 3 = out): {partial_status(values, nxt)}"
    lines = [header]
    for to in range(1, 4):
        cells = []
        for edge, (dst, frm) in enumerate(EDGES):
            if dst != to:
                continue
            op = values[edge]
            name = OPS[op] if op is not None else ("? (next)" if edge == nxt else "?")
            cells.append(f"{frm}:{name:<14}")  # 14 = longest op name + 2, so the columns line up
        lines.append(f"  node {to} <- " + "".join(cells).rstrip())
    if nxt is None:
        lines.append(arch.to_str())
    lines.extend(pack(items, lambda line: len(line) <= _ANSI_WIDTH, max_lines=3))
    return "\n".join(lines)

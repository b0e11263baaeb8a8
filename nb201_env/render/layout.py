"""Where the picture puts nodes, edges and text, at any size (computed once per size)."""

from __future__ import annotations

import math
from functools import cache
from numbers import Integral
from typing import Final

from nb201_env.space import EDGES

_MIN_SIZE: Final = (240, 160)  # below this the labels no longer fit between the nodes


class Layout:
    """Geometry of the picture at one size, in output pixels (floats); computed once per size."""

    def __init__(self, width: int, height: int) -> None:
        self.font_px = max(10, min(24, round(min(width / 480, height / 320) * 13)))
        self.line_h = round(self.font_px * 1.35)
        pad = round(self.font_px * 0.6)
        self.panel_top = height - 2 * self.line_h - 2 * pad
        self.text_rows = (self.panel_top + pad, self.panel_top + pad + self.line_h)
        self.text_x = pad + 2
        area = self.panel_top
        self.radius = max(10.0, min(40.0, min(width, height) * 0.055))
        r = self.radius
        margin = r + width * 0.05
        self.y = area * 0.6
        step = (width - 2 * margin) / 3
        self.nodes = tuple((margin + i * step, self.y) for i in range(4))
        label_room = self.font_px * 1.4
        tall = self.y - label_room  # the input->output arc goes over everything else
        short = tall * 0.5
        self.curves: list[list[tuple[float, float]]] = []
        for to, frm in EDGES:
            if to - frm == 1:
                self.curves.append(self._straight(frm, to))
            elif (to, frm) == (3, 0):
                self.curves.append(self._arc(frm, to, tall, math.radians(68), side=-1))
            else:  # 0->2 above and 1->3 below, so the two half-overlapping spans never cross
                self.curves.append(self._arc(frm, to, short, math.radians(40), side=-1 if frm == 0 else 1))
        self.midpoints = tuple(curve[len(curve) // 2] for curve in self.curves)

    def _straight(self, frm: int, to: int) -> list[tuple[float, float]]:
        (xa, y), (xb, _) = self.nodes[frm], self.nodes[to]
        n = 33  # odd, so the middle sample is the midpoint
        return [(xa + self.radius + (xb - xa - 2 * self.radius) * i / (n - 1), y) for i in range(n)]

    def _arc(self, frm: int, to: int, height: float, angle: float, side: int) -> list[tuple[float, float]]:
        """Sample a symmetric cubic Bezier leaving node ``frm`` at ``angle`` and peaking ``height`` away."""
        (xa, y), (xb, _) = self.nodes[frm], self.nodes[to]
        r, c, s = self.radius, math.cos(angle), math.sin(angle) * side
        p0, p3 = (xa + r * c, y + r * s), (xb - r * c, y + r * s)
        # the peak of a symmetric cubic sits 3/4 of the way to its control points; keep those in order in x
        k = min((height - r * abs(s)) / (0.75 * abs(s)), (xb - xa) / 2 / c - r)
        p1, p2 = (p0[0] + k * c, p0[1] + k * s), (p3[0] - k * c, p3[1] + k * s)
        n = 65
        points = []
        for i in range(n):
            t = i / (n - 1)
            a, b, cc, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
            points.append(
                (a * p0[0] + b * p1[0] + cc * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + cc * p2[1] + d * p3[1])
            )
        return points


@cache
def layout(width: int, height: int) -> Layout:
    """Return the (cached) layout of a picture of this size."""
    return Layout(width, height)


def check_size(size: object) -> tuple[int, int]:
    """Return ``(width, height)`` as ints, or raise a ``ValueError`` if it is not a pair large enough to draw."""
    ok = (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) for v in size)
    )
    if not ok or size[0] < _MIN_SIZE[0] or size[1] < _MIN_SIZE[1]:  # type: ignore[index]
        raise ValueError(
            f"size must be (width, height) in pixels, at least {_MIN_SIZE[0]}x{_MIN_SIZE[1]}, got {size!r}"
        )
    return int(size[0]), int(size[1])  # type: ignore[index]


def edge_midpoints(size: tuple[int, int] = (480, 320)) -> tuple[tuple[int, int], ...]:
    """Return the ``(x, y)`` pixel at the middle of each edge (official order) in a picture of this size."""
    width, height = check_size(size)
    return tuple((round(x), round(y)) for x, y in layout(width, height).midpoints)

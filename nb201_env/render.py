"""Text and picture renderings of a (possibly partly chosen) NB201 cell, for Gymnasium's render modes.

Both renderers take the six op ids in official edge order, with ``None`` for an edge not chosen yet; the
first unset edge is the one being chosen next and is highlighted. ``metrics`` is an optional mapping shown
as ``name value`` pairs: strings verbatim, numbers compactly, and a pair such as ``(1234, 12000)`` as
``1234/12000`` -- units are the caller's business (pass ``"91.2%"`` to get a percent sign).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from numbers import Integral, Real
from typing import TYPE_CHECKING, Final

import numpy as np

from nb201_env.space import EDGES, NUM_EDGES, NUM_OPS, OPS, Arch

if TYPE_CHECKING:  # Pillow is an optional dependency (the ``plot`` extra)
    from PIL import ImageDraw, ImageFont

RGB = tuple[int, int, int]

OP_COLOURS: Final[tuple[RGB, ...]] = (
    (150, 150, 150),  # none: grey, and drawn dashed since it carries no signal
    (0, 114, 178),  # skip_connect: blue
    (0, 158, 115),  # nor_conv_1x1: green
    (213, 94, 0),  # nor_conv_3x3: vermillion
    (170, 68, 153),  # avg_pool_3x3: purple
)
"""Edge colour per op id (Okabe-Ito / Tol hues, distinguishable with the common colour-vision deficiencies)."""

OP_LABELS: Final[tuple[str, ...]] = ("none", "skip", "1x1", "3x3", "pool")
"""Short edge label per op id, as drawn on the picture."""

UNSET_COLOUR: Final[RGB] = (200, 200, 200)
"""Colour of an edge not chosen yet."""

NEXT_COLOUR: Final[RGB] = (230, 159, 0)
"""Colour of the edge being chosen next (the first unset one)."""

_BACKGROUND: Final[RGB] = (255, 255, 255)
_INK: Final[RGB] = (40, 44, 52)
_FAINT_INK: Final[RGB] = (110, 114, 122)
_NODE_NAMES: Final = ("in", "1", "2", "out")
_ANSI_WIDTH: Final = 100
_MIN_SIZE: Final = (240, 160)  # below this the labels no longer fit between the nodes
_SCALE: Final = 2  # shapes are drawn at twice the size and averaged down, which antialiases the curves


def _check_ops(ops: object) -> tuple[int | None, ...]:
    choices = f"op ids 0..{NUM_OPS - 1} ({', '.join(f'{i}={n}' for i, n in enumerate(OPS))}) or None for unset"
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (Sequence, np.ndarray)):
        raise ValueError(f"ops must be a sequence of {NUM_EDGES} {choices}; got {ops!r}")
    if len(ops) != NUM_EDGES:
        raise ValueError(f"ops must have {NUM_EDGES} entries (one per edge), got {len(ops)}: {ops!r}")
    values: list[int | None] = []
    for edge, op in enumerate(ops):
        # bools are ints to Python but almost certainly a caller's mistake here
        if op is not None and (isinstance(op, (bool, np.bool_)) or not isinstance(op, Integral)):
            raise ValueError(f"op {op!r} on edge {edge} is not valid: expected {choices}")
        if op is not None and not 0 <= int(op) < NUM_OPS:
            raise ValueError(f"op {op!r} on edge {edge} is out of range: expected {choices}")
        values.append(None if op is None else int(op))
    return tuple(values)


def _check_metrics(metrics: object) -> Mapping[str, object]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a mapping of name -> value or None, got {metrics!r}")
    return metrics


def _format_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if abs(v) >= 1000:
            return f"{v:.0f}"
        return f"{v:.1f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
    if isinstance(value, (tuple, list)):  # e.g. (elapsed, budget) -> "1234/12000"
        return "/".join(_format_value(v) for v in value)
    return str(value)


def _metric_items(metrics: Mapping[str, object]) -> list[str]:
    return [f"{name} {_format_value(value)}" for name, value in metrics.items()]


def _next_edge(ops: tuple[int | None, ...]) -> int | None:
    return next((e for e, op in enumerate(ops) if op is None), None)


def _edge_name(edge: int) -> str:
    to, frm = EDGES[edge]
    return f"{to}<-{frm}"


def _pack(items: list[str], fits: Callable[[str], bool], max_lines: int) -> list[str]:
    """Pack items greedily into at most ``max_lines`` lines; ``fits(line)`` says whether a line is short enough."""
    lines: list[str] = []
    for item in items:
        candidate = f"{lines[-1]}  {item}" if lines else item
        if lines and fits(candidate):
            lines[-1] = candidate
        elif len(lines) < max_lines:
            lines.append(item)
        else:  # out of room: say so rather than silently drop values
            lines[-1] = lines[-1] + "  ..."
            break
    out = []
    for line in lines:  # a single over-long item is cut to fit
        while not fits(line) and len(line) > 3:
            line = line[:-4] + "..."
        out.append(line)
    return out


def render_ansi(ops: Sequence[int | None], metrics: Mapping[str, object] | None = None) -> str:
    """Draw the cell as a few lines of plain text: each node's incoming edges, the arch string and metrics."""
    values = _check_ops(ops)
    items = _metric_items(_check_metrics(metrics))
    nxt = _next_edge(values)
    n_set = sum(op is not None for op in values)
    if nxt is None:
        arch = Arch.from_ops(values)
        header = f"NB201 cell (node 0 = in, node 3 = out): arch {arch.index}"
    else:
        header = f"NB201 cell (node 0 = in, node 3 = out): {n_set}/{NUM_EDGES} edges set, next edge {_edge_name(nxt)}"
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
    lines.extend(_pack(items, lambda line: len(line) <= _ANSI_WIDTH, max_lines=3))
    return "\n".join(lines)


class _Layout:
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
def _layout(width: int, height: int) -> _Layout:
    return _Layout(width, height)


@cache
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=px)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1 or no FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _check_size(size: object) -> tuple[int, int]:
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
    width, height = _check_size(size)
    return tuple((round(x), round(y)) for x, y in _layout(width, height).midpoints)


def _cum_lengths(points: list[tuple[float, float]]) -> list[float]:
    cum = [0.0]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        cum.append(cum[-1] + math.hypot(x1 - x0, y1 - y0))
    return cum


def _sub_path(
    points: list[tuple[float, float]], cum: list[float], start: float, stop: float
) -> list[tuple[float, float]]:
    """Return the part of a polyline between two arc lengths."""

    def at(s: float) -> tuple[float, float]:
        i = max(1, min(len(cum) - 1, next((j for j, c in enumerate(cum) if c >= s), len(cum) - 1)))
        seg = cum[i] - cum[i - 1] or 1.0
        t = (s - cum[i - 1]) / seg
        (x0, y0), (x1, y1) = points[i - 1], points[i]
        return (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)

    inner = [p for p, c in zip(points, cum) if start < c < stop]
    return [at(start), *inner, at(stop)]


def _text_bbox(draw: ImageDraw.ImageDraw, text: str, font: object) -> tuple[float, float, float, float]:
    return draw.textbbox((0, 0), text, font=font)  # type: ignore[arg-type]


def _text_centred(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: object, fill: RGB) -> None:
    # via the bounding box rather than anchor="mm", which the bitmap fallback font does not support
    left, top, right, bottom = _text_bbox(draw, text, font)
    x = xy[0] - (left + right) / 2
    y = xy[1] - (top + bottom) / 2
    draw.text((round(x), round(y)), text, font=font, fill=fill)  # type: ignore[arg-type]


def _on_colour(colour: RGB) -> RGB:
    luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return _INK if luminance > 165 else (255, 255, 255)


def render_rgb(
    ops: Sequence[int | None], metrics: Mapping[str, object] | None = None, size: tuple[int, int] = (480, 320)
) -> np.ndarray:
    """Draw the cell DAG with op-coloured edges and a metrics panel as an ``(H, W, 3)`` uint8 array."""
    values = _check_ops(ops)
    items = _metric_items(_check_metrics(metrics))
    width, height = _check_size(size)
    try:
        from PIL import Image, ImageDraw
    except ImportError as err:
        raise ImportError("render_rgb needs Pillow: pip install nb201-env[plot]") from err

    lay = _layout(width, height)
    font = _font(lay.font_px)
    nxt = _next_edge(values)
    S = _SCALE
    big = Image.new("RGB", (width * S, height * S), _BACKGROUND)
    draw = ImageDraw.Draw(big)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    line_w = max(2, round(lay.radius * 0.17 * S))
    dash, gap = lay.radius * 0.45 * S, lay.radius * 0.33 * S  # scaled like the stroke, so dashes stay dashes
    arrow_len, arrow_half = lay.radius * 0.6 * S, lay.radius * 0.3 * S
    labels: list[tuple[tuple[float, float], str, RGB]] = []
    for edge, curve in enumerate(lay.curves):
        op = values[edge]
        if op is None:
            colour = NEXT_COLOUR if edge == nxt else UNSET_COLOUR
            label, dashed = "?", True
        else:
            colour, label, dashed = OP_COLOURS[op], OP_LABELS[op], op == 0
        points = [(x * S, y * S) for x, y in curve]
        cum = _cum_lengths(points)
        total = cum[-1]
        end = total - arrow_len * 0.7  # stop the stroke inside the arrowhead so its thick end cannot poke out
        if dashed:
            # dashes laid out symmetrically about the middle, so a dash (not a gap) sits under the label
            middle, period = total / 2, dash + gap
            k = math.ceil(middle / period)
            for i in range(-k, k + 1):
                a, b = max(0.0, middle + i * period - dash / 2), min(end, middle + i * period + dash / 2)
                if b > a:
                    draw.line(_sub_path(points, cum, a, b), fill=colour, width=line_w, joint="curve")
        else:
            draw.line(_sub_path(points, cum, 0.0, end), fill=colour, width=line_w, joint="curve")
        # arrowhead at the target node, pointing along the curve's final direction
        tip = points[-1]
        bx, by = _sub_path(points, cum, total - arrow_len, total)[0]
        dx, dy = tip[0] - bx, tip[1] - by
        norm = math.hypot(dx, dy) or 1.0
        dx, dy = dx / norm, dy / norm
        base = (tip[0] - dx * arrow_len, tip[1] - dy * arrow_len)
        draw.polygon(
            [
                tip,
                (base[0] - dy * arrow_half, base[1] + dx * arrow_half),
                (base[0] + dy * arrow_half, base[1] - dx * arrow_half),
            ],
            fill=colour,
        )
        # a rounded label box on the middle of the edge, in the edge's colour
        mx, my = lay.midpoints[edge]
        left, top, right, bottom = _text_bbox(measure, label, font)
        half_w = (right - left) / 2 + lay.font_px * 0.45
        half_h = lay.font_px * 0.72
        draw.rounded_rectangle(
            [(mx - half_w) * S, (my - half_h) * S, (mx + half_w) * S, (my + half_h) * S],
            radius=half_h * S,
            fill=colour,
            outline=_BACKGROUND,
            width=S,
        )
        labels.append(((mx, my), label, _on_colour(colour)))

    r = lay.radius * S
    for i, (x, y) in enumerate(lay.nodes):
        terminal = i in (0, 3)
        draw.ellipse(
            [x * S - r, y * S - r, x * S + r, y * S + r],
            fill=_INK if terminal else _BACKGROUND,
            outline=_INK,
            width=max(2, round(lay.radius * 0.12 * S)),
        )
    draw.line([(0, lay.panel_top * S), (width * S, lay.panel_top * S)], fill=(225, 225, 225), width=S)

    # text goes on after averaging down: glyphs stay crisp and keep their hinting
    img = big.reduce(S)
    draw = ImageDraw.Draw(img)
    for xy, label, ink in labels:
        _text_centred(draw, xy, label, font, ink)
    for i, xy in enumerate(lay.nodes):
        _text_centred(draw, xy, _NODE_NAMES[i], font, (255, 255, 255) if i in (0, 3) else _INK)

    room = width - 2 * lay.text_x
    if nxt is None:
        arch = Arch.from_ops(values)
        status = f"arch {arch.index}  {arch.to_str()}"
        if draw.textlength(status, font=font) > room:  # the full string only fits on wide pictures
            status = f"arch {arch.index}"
    else:
        n_set = sum(op is not None for op in values)
        status = f"{n_set}/{NUM_EDGES} edges set, next edge {_edge_name(nxt)}"
    draw.text((lay.text_x, lay.text_rows[0]), status, font=font, fill=_FAINT_INK)
    metric_line = _pack(items, lambda line: draw.textlength(line, font=font) <= room, max_lines=1)
    if metric_line:
        draw.text((lay.text_x, lay.text_rows[1]), metric_line[0], font=font, fill=_INK)
    return np.asarray(img, dtype=np.uint8)

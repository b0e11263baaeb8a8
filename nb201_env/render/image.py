"""Draw a cell as a picture, for Gymnasium's ``rgb_array`` render mode (needs Pillow)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Final

import numpy as np

from nb201_env.render.common import metric_items, next_edge, pack, partial_status
from nb201_env.render.layout import check_size, layout
from nb201_env.render.style import (
    BACKGROUND,
    FAINT_INK,
    INK,
    NEXT_COLOUR,
    OP_COLOURS,
    OP_LABELS,
    RGB,
    UNSET_COLOUR,
    on_colour,
)
from nb201_env.space import Arch, check_partial_ops

if TYPE_CHECKING:  # Pillow is an optional dependency (the ``plot`` extra)
    from PIL import ImageDraw, ImageFont

_NODE_NAMES: Final = ("in", "1", "2", "out")
_SCALE: Final = 2  # shapes are drawn at twice the size and averaged down, which antialiases the curves


@cache
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=px)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1 or no FreeType: the fixed bitmap font
        return ImageFont.load_default()


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


def render_rgb(
    ops: Sequence[int | None], metrics: Mapping[str, object] | None = None, size: tuple[int, int] = (480, 320)
) -> np.ndarray:
    """Draw the cell DAG with op-coloured edges and a metrics panel as an ``(H, W, 3)`` uint8 array."""
    values = check_partial_ops(ops)
    items = metric_items(metrics)
    width, height = check_size(size)
    try:
        from PIL import Image, ImageDraw
    except ImportError as err:
        raise ImportError("render_rgb needs Pillow: pip install nb201-env[plot]") from err

    lay = layout(width, height)
    font = _font(lay.font_px)
    nxt = next_edge(values)
    S = _SCALE
    big = Image.new("RGB", (width * S, height * S), BACKGROUND)
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
            outline=BACKGROUND,
            width=S,
        )
        labels.append(((mx, my), label, on_colour(colour)))

    r = lay.radius * S
    for i, (x, y) in enumerate(lay.nodes):
        terminal = i in (0, 3)
        draw.ellipse(
            [x * S - r, y * S - r, x * S + r, y * S + r],
            fill=INK if terminal else BACKGROUND,
            outline=INK,
            width=max(2, round(lay.radius * 0.12 * S)),
        )
    draw.line([(0, lay.panel_top * S), (width * S, lay.panel_top * S)], fill=(225, 225, 225), width=S)

    # text goes on after averaging down: glyphs stay crisp and keep their hinting
    img = big.reduce(S)
    draw = ImageDraw.Draw(img)
    for xy, label, ink in labels:
        _text_centred(draw, xy, label, font, ink)
    for i, xy in enumerate(lay.nodes):
        _text_centred(draw, xy, _NODE_NAMES[i], font, (255, 255, 255) if i in (0, 3) else INK)

    room = width - 2 * lay.text_x
    if nxt is None:
        arch = Arch.from_ops(values)
        status = f"arch {arch.index}  {arch.to_str()}"
        if draw.textlength(status, font=font) > room:  # the full string only fits on wide pictures
            status = f"arch {arch.index}"
    else:
        status = partial_status(values, nxt)
    draw.text((lay.text_x, lay.text_rows[0]), status, font=font, fill=FAINT_INK)
    metric_line = pack(items, lambda line: draw.textlength(line, font=font) <= room, max_lines=1)
    if metric_line:
        draw.text((lay.text_x, lay.text_rows[1]), metric_line[0], font=font, fill=INK)
    return np.asarray(img, dtype=np.uint8)

"""Text and picture renderings of a (possibly partly chosen) NB201 cell, for Gymnasium's render modes.

Both renderers take the six op ids in official edge order, with ``None`` for an edge not chosen yet; the
first unset edge is the one being chosen next and is highlighted. ``metrics`` is an optional mapping shown
as ``name value`` pairs: strings verbatim, numbers compactly, and a pair such as ``(1234, 12000)`` as
``1234/12000`` -- units are the caller's business (pass ``"91.2%"`` to get a percent sign).
"""

from nb201_env.render.image import render_rgb
from nb201_env.render.layout import edge_midpoints
from nb201_env.render.style import NEXT_COLOUR, OP_COLOURS, OP_LABELS, RGB, UNSET_COLOUR
from nb201_env.render.text import render_ansi

__all__ = [
    "NEXT_COLOUR",
    "OP_COLOURS",
    "OP_LABELS",
    "RGB",
    "UNSET_COLOUR",
    "edge_midpoints",
    "render_ansi",
    "render_rgb",
]

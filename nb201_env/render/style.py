"""How the picture marks ops and state: edge colours, short edge labels and the ink they sit on."""

from __future__ import annotations

from typing import Final

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

BACKGROUND: Final[RGB] = (255, 255, 255)
INK: Final[RGB] = (40, 44, 52)
FAINT_INK: Final[RGB] = (110, 114, 122)


def on_colour(colour: RGB) -> RGB:
    """Return the text colour that reads best on a label box of this colour."""
    luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return INK if luminance > 165 else (255, 255, 255)

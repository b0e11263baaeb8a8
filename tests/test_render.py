import importlib.util
import sys
from collections import Counter

import numpy as np
import pytest

from nb201_env.render import (
    NEXT_COLOUR,
    OP_COLOURS,
    UNSET_COLOUR,
    edge_midpoints,
    render_ansi,
    render_rgb,
)
from nb201_env.space import EDGES, NUM_OPS, OPS, Arch

OPS_A = (3, 0, 1, 4, 2, 0)
OPS_B = (1, 2, 3, 0, 4, 3)
PARTIAL = (3, 0, 1, None, None, None)
METRICS = {"valid": "91.2%", "clock": (1234, 12000), "best": 91.53, "loss": 0.01234}

needs_pillow = pytest.mark.skipif(
    importlib.util.find_spec("PIL") is None, reason="Pillow is not installed (pip install nb201-env[plot])"
)


def node_line(text: str, node: int) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(f"node {node} <-"))


# --- text ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ops", [OPS_A, OPS_B, (4,) * 6])
def test_ansi_names_every_edge_op_and_gives_the_arch_string(ops):
    text = render_ansi(ops)
    for (to, frm), op in zip(EDGES, ops):
        assert f"{frm}:{OPS[op]}" in node_line(text, to)
    arch = Arch.from_ops(ops)
    assert arch.to_str() in text.splitlines()
    assert str(arch.index) in text.splitlines()[0]
    assert "?" not in text


def test_ansi_marks_unset_edges_and_the_next_one():
    text = render_ansi(PARTIAL)
    assert "0:nor_conv_3x3" in node_line(text, 1)
    assert "1:skip_connect" in node_line(text, 2)
    line3 = node_line(text, 3)
    assert "0:? (next)" in line3 and "1:?" in line3 and "2:?" in line3
    assert line3.count("(next)") == 1
    assert "~0|" not in text  # no arch string until the cell is complete
    assert "3/6 edges set" in text and "next edge 3<-0" in text


def test_ansi_next_marker_is_the_first_unset_edge():
    text = render_ansi((None, 2, None, 3, None, 1))
    assert "0:? (next)" in node_line(text, 1)
    assert "(next)" not in node_line(text, 2) and "1:?" in node_line(text, 2)


def test_ansi_shows_metric_values_on_the_last_line():
    text = render_ansi(OPS_A, METRICS)
    last = text.splitlines()[-1]
    assert last == "valid 91.2%  clock 1234/12000  best 91.5  loss 0.0123"


def test_ansi_without_metrics_ends_with_the_arch_string():
    assert render_ansi(OPS_A).splitlines()[-1] == Arch.from_ops(OPS_A).to_str()
    assert render_ansi(OPS_A, {}) == render_ansi(OPS_A, None)


@pytest.mark.parametrize("ops", [(4,) * 6, (None,) * 6, OPS_A])
def test_ansi_stays_compact(ops):
    many = {f"metric_{i}": 1234.5 * i for i in range(40)}
    text = render_ansi(ops, many)
    lines = text.splitlines()
    assert len(lines) <= 10
    assert max(len(line) for line in lines) <= 100
    assert lines[-1].endswith("...")  # too many metrics: truncated visibly, not silently


def test_ansi_accepts_numpy_op_ids():
    assert render_ansi(np.asarray(OPS_A, dtype=np.int64)) == render_ansi(list(OPS_A))


# --- picture ------------------------------------------------------------------------------------------------


@needs_pillow
@pytest.mark.parametrize("size", [(480, 320), (640, 400), (240, 160)])
def test_rgb_shape_and_dtype(size):
    image = render_rgb(OPS_A, METRICS, size=size)
    assert image.dtype == np.uint8
    assert image.shape == (size[1], size[0], 3)


@needs_pillow
def test_rgb_is_deterministic():
    first = render_rgb(PARTIAL, METRICS)
    assert np.array_equal(first, render_rgb(PARTIAL, METRICS))
    assert np.array_equal(render_rgb(OPS_A), render_rgb(list(OPS_A)))


@needs_pillow
def test_rgb_differs_between_architectures_and_set_or_unset_edges():
    assert not np.array_equal(render_rgb(OPS_A), render_rgb(OPS_B))
    assert not np.array_equal(render_rgb(OPS_A), render_rgb((*OPS_A[:5], None)))
    assert not np.array_equal(render_rgb(OPS_A), render_rgb(OPS_A, METRICS))


def dominant_colour(image: np.ndarray, xy: tuple[int, int], half: int = 2) -> tuple[int, ...]:
    x, y = xy
    window = image[y - half : y + half + 1, x - half : x + half + 1].reshape(-1, 3)
    return Counter(map(tuple, window.tolist())).most_common(1)[0][0]


@needs_pillow
@pytest.mark.parametrize("shift", range(NUM_OPS))
def test_rgb_edge_midpoint_takes_the_op_colour(shift):
    # rotating the ops puts every op on every edge over the five cases
    ops = tuple((edge + shift) % NUM_OPS for edge in range(len(EDGES)))
    image = render_rgb(ops, METRICS)
    for edge, op in enumerate(ops):
        assert dominant_colour(image, edge_midpoints()[edge]) == OP_COLOURS[op], (edge, OPS[op])


@needs_pillow
def test_rgb_unset_edges_are_light_and_the_next_one_is_highlighted():
    size = (640, 400)
    image = render_rgb(PARTIAL, size=size)
    mids = edge_midpoints(size)
    assert dominant_colour(image, mids[3]) == NEXT_COLOUR
    assert dominant_colour(image, mids[4]) == UNSET_COLOUR
    assert dominant_colour(image, mids[5]) == UNSET_COLOUR
    assert dominant_colour(image, mids[0]) == OP_COLOURS[PARTIAL[0]]


def test_colour_table_covers_every_op_with_distinct_colours():
    assert len(OP_COLOURS) == NUM_OPS
    assert len({*OP_COLOURS, UNSET_COLOUR, NEXT_COLOUR}) == NUM_OPS + 2


def test_edge_midpoints_lie_inside_the_picture_and_apart():
    size = (480, 320)
    mids = edge_midpoints(size)
    assert len(set(mids)) == len(EDGES)
    assert all(0 <= x < size[0] and 0 <= y < size[1] for x, y in mids)


@needs_pillow
def test_rgb_without_pillow_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `import PIL...` raise ImportError
    with pytest.raises(ImportError, match=r"pip install nb201-env\[plot\]"):
        render_rgb(OPS_A)


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ops", "named"),
    [
        ((3, 0, 1, 4, 2), "got 5"),
        ((3, 0, 1, 4, 2, 0, 1), "got 7"),
        ((3, 0, 1, 4, 2, 5), "op 5"),
        ((-1, 0, 1, 4, 2, 0), "op -1"),
        ((3, 0, 1, 4, 2.0, 0), "op 2.0"),
        ((3, 0, True, 4, 2, 0), "op True"),
        ((3, 0, "nor_conv_1x1", 4, 2, 0), "op 'nor_conv_1x1'"),
        ("abcdef", "'abcdef'"),
        (7, "got 7"),
    ],
)
@pytest.mark.parametrize("render", [render_ansi, render_rgb])
def test_bad_ops_raise_value_error_naming_the_value_and_choices(render, ops, named):
    with pytest.raises(ValueError, match="op ids in 0..4|6 entries") as info:
        render(ops)
    message = str(info.value)
    assert named in message
    if "entries" not in message:
        assert "3=nor_conv_3x3" in message and "None" in message


@pytest.mark.parametrize("size", [(100, 100), (480,), (480.0, 320), "480x320", (True, 320)])
def test_bad_size_raises_value_error(size):
    with pytest.raises(ValueError, match="size must be"):
        render_rgb(OPS_A, size=size)
    with pytest.raises(ValueError, match="size must be"):
        edge_midpoints(size)


@pytest.mark.parametrize("render", [render_ansi, render_rgb])
def test_metrics_must_be_a_mapping(render):
    with pytest.raises(TypeError, match="metrics must be a mapping"):
        render(OPS_A, [("valid", 91.2)])

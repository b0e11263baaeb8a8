import csv
import itertools

import numpy as np
import pytest

from nb201_env.space import EDGES, NUM_ARCHS, OPS, Arch, all_ops, index_of, ops_to_index


def test_op_and_edge_order_are_official():
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


def test_index_order_matches_official_meta_archs(official_meta_archs):
    assert len(official_meta_archs) == NUM_ARCHS
    ours = [Arch(i).to_str() for i in range(NUM_ARCHS)]
    assert ours == official_meta_archs


def test_index_order_matches_every_shared_csv(shared_nb201):
    files = sorted(shared_nb201.glob("*.csv"))
    assert len(files) >= 5
    for path in files:
        with open(path) as fh:
            for row in csv.DictReader(fh):
                assert Arch(int(row["arch_index"])).to_str() == row["arch_str"], path.name


def test_index_zero_is_the_documented_first_arch():
    assert Arch(0).to_str() == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )


def test_every_op_tuple_appears_exactly_once():
    rows = {tuple(r) for r in all_ops().tolist()}
    assert rows == set(itertools.product(range(5), repeat=6))


@pytest.mark.parametrize("index", [0, 1, 11, 284, 6111, 15624])
def test_conversions_round_trip(index):
    arch = Arch(index)
    assert Arch.from_str(arch.to_str()) == arch
    assert Arch.from_ops(arch.ops) == arch
    assert Arch.from_onehot(arch.onehot()) == arch
    assert Arch.from_edge_matrix(arch.edge_matrix()) == arch
    assert index_of(arch.to_str()) == index_of(list(arch.ops)) == index_of(arch) == index


def test_string_parse_matches_edges():
    arch = Arch.from_str("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    assert arch.ops == (3, 0, 1, 4, 2, 0)
    matrix = arch.edge_matrix()
    assert matrix[1, 0] == 3 and matrix[3, 1] == 2 and matrix[0, 0] == -1 and matrix[0, 3] == -1


def test_vectorized_index_matches_scalar():
    rng = np.random.default_rng(0)
    idx = rng.integers(NUM_ARCHS, size=500)
    assert np.array_equal(ops_to_index(all_ops()[idx]), idx)


def test_arch_is_immutable_hashable_and_picklable():
    import pickle

    arch = Arch(42)
    with pytest.raises(AttributeError):
        arch.foo = 1
    assert {arch: 1}[Arch(42)] == 1
    assert pickle.loads(pickle.dumps(arch)) == arch


@pytest.mark.parametrize(
    ("bad", "exc", "needle"),
    [
        (15625, ValueError, "0..15624"),
        (-1, ValueError, "0..15624"),
        ("3", TypeError, "int"),
        (True, TypeError, "int"),
    ],
)
def test_bad_index_is_refused_with_the_valid_range(bad, exc, needle):
    with pytest.raises(exc, match=needle):
        Arch(bad)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~0|+|none~0|none~1|", "not an NB201 arch string"),
        ("", "not an NB201 arch string"),
    ],
)
def test_bad_string_names_the_problem(text, needle):
    with pytest.raises(ValueError, match=needle) as info:
        Arch.from_str(text)
    assert "none" in str(info.value)  # lists the valid ops


def test_bad_ops_and_encodings_are_refused():
    with pytest.raises(ValueError, match="op ids in 0..4"):
        Arch.from_ops([0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="op ids"):
        Arch.from_ops([0, 1])
    with pytest.raises(ValueError, match="one 1 per row"):
        Arch.from_onehot(np.zeros((6, 5)))
    bad = Arch(0).edge_matrix()
    bad[0, 1] = 2
    with pytest.raises(ValueError, match="-1 everywhere"):
        Arch.from_edge_matrix(bad)
    with pytest.raises(TypeError, match="cannot interpret"):
        index_of(3.5)

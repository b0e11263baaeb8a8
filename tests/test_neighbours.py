import numpy as np
import pytest

from nb201_env.neighbours import mutate, neighbour_table, neighbours, sample_arch, sample_indices
from nb201_env.space import NUM_ARCHS, Arch, all_ops


def test_neighbours_differ_in_exactly_one_edge():
    for index in (0, 77, 15624):
        around = neighbours(index)
        assert len(around) == 24 and len(set(around.tolist())) == 24
        diffs = (all_ops()[around] != all_ops()[index]).sum(axis=1)
        assert np.all(diffs == 1)


def test_neighbour_table_layout_is_edge_major_ops_ascending():
    table = neighbour_table()
    row = Arch(5).ops
    for k, other in enumerate(table[5]):
        edge = k // 4
        changed = Arch(int(other)).ops
        assert [i for i in range(6) if changed[i] != row[i]] == [edge]


def test_mutate_is_seeded_and_uniform_over_neighbours():
    rng = np.random.default_rng(1)
    draws = np.asarray([mutate(9, rng) for _ in range(4800)])
    assert set(draws.tolist()) == set(neighbours(9).tolist())
    counts = np.unique(draws, return_counts=True)[1]
    assert counts.min() > 120  # 24 outcomes, ~200 each
    assert mutate(9, np.random.default_rng(2)) == mutate(9, np.random.default_rng(2))
    batch = mutate(np.arange(100), np.random.default_rng(0))
    assert batch.shape == (100,)


def test_sampling_uses_only_the_passed_generator():
    a = sample_indices(np.random.default_rng(7), 1000)
    b = sample_indices(np.random.default_rng(7), 1000)
    assert np.array_equal(a, b) and a.min() >= 0 and a.max() < NUM_ARCHS
    assert isinstance(sample_indices(np.random.default_rng(0)), int)
    assert sample_arch(np.random.default_rng(7)) == sample_arch(np.random.default_rng(7))


def test_bad_indices_are_refused():
    with pytest.raises(ValueError, match="0..15624"):
        mutate(15625, np.random.default_rng(0))
    with pytest.raises(ValueError, match="0..15624"):
        neighbours(-1)


def test_nb201_mutation_scheme_picks_nodes_uniformly():
    rng = np.random.default_rng(4)
    start = 9
    draws = np.asarray(mutate(np.full(36000, start), rng, scheme="nb201"))
    changed_edge = np.argmax(all_ops()[draws] != all_ops()[start], axis=1)
    freq = np.bincount(changed_edge, minlength=6) / len(draws)
    assert np.allclose(freq, [1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9], atol=0.01)
    with pytest.raises(ValueError, match="unknown mutation scheme 'gaussian'"):
        mutate(0, rng, scheme="gaussian")


def test_scalar_and_batched_mutation_follow_the_same_distribution():
    rng = np.random.default_rng(5)
    start = 321
    scalar = np.array([mutate(start, rng, scheme="nb201") for _ in range(18000)])
    edge = np.argmax(all_ops()[scalar] != all_ops()[start], axis=1)
    assert np.allclose(
        np.bincount(edge, minlength=6) / len(scalar), [1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9], atol=0.015
    )
    assert isinstance(mutate(start, rng), int)
    with pytest.raises(ValueError, match="unknown mutation scheme"):
        mutate(start, rng, scheme="bad")

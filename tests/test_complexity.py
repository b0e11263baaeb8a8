import bz2

import numpy as np
import pytest

from nb201_env import complexity
from nb201_env.names import DATASETS
from nb201_env.space import NUM_ARCHS

from shared_data import shared_root


def _official_sample():
    folder = shared_root() / "nb201" / "nats-tss-sample" / "NATS-tss-v1_0-3ffb9-simple"
    if not folder.is_dir():
        pytest.skip(f"official NATS sample not found at {folder}")
    from nb201_env.importers.safe_unpickle import safe_loads

    for path in sorted(folder.glob("0*.pickle.pbz2")):
        yield int(path.name.split(".")[0]), safe_loads(bz2.decompress(path.read_bytes()))


def test_params_and_flops_equal_the_official_figures():
    checked = 0
    for index, record in _official_sample():
        for hp in ("12", "200"):
            for (dataset, _seed), result in record[hp]["all_results"].items():
                assert complexity.params_mb(index, dataset) == float(result["params"])
                assert complexity.flops_m(index, dataset) == pytest.approx(float(result["flop"]), rel=1e-12)
                checked += 1
    assert checked >= 3 * 2 * 5


def test_vectorized_counts_match_scalar_and_grow_with_convs():
    idx = np.arange(NUM_ARCHS)
    for dataset in DATASETS:
        params = complexity.params_mb(idx, dataset)
        flops = complexity.flops_m(idx, dataset)
        assert params.shape == flops.shape == (NUM_ARCHS,)
        assert params[123] == complexity.params_mb(123, dataset)
    # ImageNet16-120 has a quarter of the spatial positions of CIFAR
    assert complexity.flop_count(0, 120, 16) < complexity.flop_count(0, 120, 32) / 3.9


def test_network_without_parametric_ops_has_only_the_skeleton():
    from nb201_env.space import Arch

    empty = Arch.from_ops([0] * 6).index
    skeleton = (
        27 * 16
        + 32
        + (9 * 16 * 32 + 64 + 9 * 32 * 32 + 64 + 16 * 32)
        + (9 * 32 * 64 + 128 + 9 * 64 * 64 + 128 + 32 * 64)
        + 128
        + 650
    )
    assert int(complexity.param_count(empty)) == skeleton


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*cifar10"):
        complexity.params_mb(0, "mnist")

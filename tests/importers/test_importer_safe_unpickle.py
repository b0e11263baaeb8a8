"""The restricted unpickler loads the official files and refuses every other global."""

from __future__ import annotations

import bz2
import collections
import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from nb201_env.importers import UnsafePickleError, safe_load, safe_loads
from nb201_env.importers.pickle_splice import dumps_official


class Evil:
    """Pickles as a call of os.system."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("echo pwned",))


def test_loads_the_real_sample(real_sample: Path) -> None:
    obj = safe_loads(bz2.decompress((real_sample / "000011.pickle.pbz2").read_bytes()))
    assert isinstance(obj, collections.OrderedDict) and list(obj) == ["12", "200"]
    run = obj["200"]["all_results"][("cifar10", 777)]
    assert isinstance(run["params"], np.float64) and isinstance(run["train_times"], collections.OrderedDict)
    meta = safe_load(io.BytesIO(bz2.decompress((real_sample / "meta.pickle.pbz2").read_bytes())))
    assert len(meta["meta_archs"]) == 15625


@pytest.mark.parametrize("protocol", [2, 4])
def test_loads_numpy_scalars_in_both_spellings(protocol: int) -> None:
    value = {"params": np.float64(0.5), "latency": [np.float64(0.01)], "t": collections.OrderedDict({0: 1.5})}
    for data in (pickle.dumps(value, protocol), dumps_official(value, protocol)):
        assert safe_loads(data) == value
    assert b"numpy.core.multiarray" in dumps_official(value, protocol)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_refuses_os_system(protocol: int) -> None:
    data = pickle.dumps({"x": Evil()}, protocol)
    with pytest.raises(UnsafePickleError, match=r"refusing to load global posix\.system"):
        safe_loads(data)


@pytest.mark.parametrize(
    ("obj", "name"), [(eval, "__builtin__.eval"), ({1}, "__builtin__.set"), (Path("x"), "pathlib")]
)
def test_refuses_other_globals(obj: object, name: str) -> None:
    with pytest.raises(UnsafePickleError, match=name.replace(".", r"\.")):
        safe_loads(pickle.dumps(obj, 2))


def test_refuses_persistent_ids() -> None:
    class WithPid(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            return "storage-0" if isinstance(obj, bytes) else None

    buf = io.BytesIO()
    WithPid(buf, 2).dump([b"tensor"])
    with pytest.raises(pickle.UnpicklingError, match="persistent id 'storage-0'"):
        safe_loads(buf.getvalue())

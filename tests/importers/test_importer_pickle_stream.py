"""Arch2InfosStream: same objects as pickle, entry by entry, in bounded memory, with clear errors."""

from __future__ import annotations

import bz2
import io
import pickle
import struct
import tracemalloc
from typing import Any

import numpy as np
import pytest

from nb201_env.importers import CorruptSourceError, UnsafePickleError
from nb201_env.importers.pickle_splice import write_arch_pickle
from nb201_env.importers.pickle_stream import Arch2InfosStream
from nb201_env.testing import official_files as fixtures

HEADER = {"meta_archs": ["a", "b"], "total_archs": 2}


def _pickle(entries: Any, protocol: int, header: dict[str, Any] | None = None) -> bytes:
    buf = io.BytesIO()
    write_arch_pickle(buf, HEADER if header is None else header, entries, {"evaluated_indexes": [1]}, protocol=protocol)
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("chunk", [301, 4096, 1 << 20])
def test_same_objects_as_pickle(protocol: int, chunk: int) -> None:
    make = fixtures.nats_arch if protocol == 4 else fixtures.nb201_arch
    data = _pickle(((i, make(i, 5)) for i in (0, 9, 300, 15624)), protocol)
    expected = pickle.loads(data)
    stream = Arch2InfosStream(io.BytesIO(data + b"NEXT"), chunk_size=chunk)
    got = list(stream)
    assert [i for i, _ in got] == [0, 9, 300, 15624]
    assert dict(got) == expected["arch2infos"]
    assert stream.header == HEADER
    assert stream.top == {**expected, "arch2infos": {}}
    assert stream.leftover == b"NEXT"
    assert stream.kept_memo > 0  # shared attribute names are fetched across entries


def test_more_than_one_setitems_batch() -> None:
    data = _pickle(((i, {"v": [float(i)], "k": "x"}) for i in range(2500)), 4)
    got = list(Arch2InfosStream(io.BytesIO(data), window=1))
    assert [i for i, _ in got] == list(range(2500)) and got[2499][1] == {"v": [2499.0], "k": "x"}


def test_reads_through_bz2_in_chunks(tmp_path: Any) -> None:
    path = tmp_path / fixtures.NATS_FILE_NAME
    fixtures.write_nats_single_file(path, [3, 4], np.random.default_rng(0))
    with bz2.BZ2File(path) as fh:
        got = dict(Arch2InfosStream(fh, chunk_size=5000))
    with bz2.BZ2File(path) as fh:
        assert got == pickle.load(fh)["arch2infos"]


def _entry(i: int) -> dict[str, Any]:
    return {
        "arch_index": i,
        "curve": {e: float(e * i) for e in range(60)},
        "evals": {f"x-valid@{e}": float(e) for e in range(60)},
        "s": f"|arch{i}|" * 5,
    }


def test_memory_stays_bounded() -> None:
    n = 2000
    data = _pickle(((i, _entry(i)) for i in range(n)), 4)
    tracemalloc.start()
    full = pickle.loads(data)
    full_size = tracemalloc.get_traced_memory()[0]
    del full
    tracemalloc.stop()
    tracemalloc.start()
    count = 0
    for i, value in Arch2InfosStream(io.BytesIO(data), chunk_size=1 << 16):
        count += value["arch_index"] == i
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == n
    assert peak < full_size / 20, (peak, full_size)


def test_refused_global_in_stream() -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, ("echo pwned",))

    data = _pickle([(0, {"x": Evil()})], 4)
    with pytest.raises(UnsafePickleError, match=r"posix\.system"):
        list(Arch2InfosStream(io.BytesIO(data)))


@pytest.mark.parametrize("cut", [1, 100, 5000])
def test_truncated(cut: int) -> None:
    data = _pickle(((i, _entry(i)) for i in range(3)), 2)
    with pytest.raises(CorruptSourceError, match="truncated"):
        list(Arch2InfosStream(io.BytesIO(data[:-cut]), chunk_size=1000))


def test_unsupported_opcode_and_bad_lengths() -> None:
    with pytest.raises(CorruptSourceError, match=r"unsupported opcode b'I' \(0x49\)"):
        list(Arch2InfosStream(io.BytesIO(b"\x80\x02I1\n.")))
    long_string = b"\x80\x02X" + struct.pack("<I", 1 << 30) + b"abc"
    with pytest.raises(CorruptSourceError, match=r"implausible string of 1073741829 bytes"):
        list(Arch2InfosStream(io.BytesIO(long_string)))
    with pytest.raises(CorruptSourceError, match="memo entry 7 is fetched before it is stored"):
        list(Arch2InfosStream(io.BytesIO(b"\x80\x02h\x07.")))
    with pytest.raises(CorruptSourceError, match="pickle protocol 9"):
        list(Arch2InfosStream(io.BytesIO(b"\x80\x09.")))
    with pytest.raises(ValueError, match="window must be >= 1"):
        Arch2InfosStream(io.BytesIO(b""), window=0)


def test_reference_beyond_the_window_is_an_error() -> None:
    shared = ["made in entry 0"]
    entries = [(0, {"a": shared}), (1, {"b": 1.0}), (2, {"c": 2.0}), (3, {"d": shared})]
    data = _pickle(entries, 4)
    assert dict(Arch2InfosStream(io.BytesIO(data), window=4)) == pickle.loads(data)["arch2infos"]
    with pytest.raises(CorruptSourceError, match=r"memo entry \d+ belongs to an arch entry more than 2 entries back"):
        list(Arch2InfosStream(io.BytesIO(data), window=2))

"""Crafted official-looking files: pickle bodies an attacker would write, placed where each importer reads.

A *body* is the opcodes of one value (no PROTO, no STOP). :func:`place` writes a source in which the
body takes the place of one official pickle: the NB201 ``.pth`` magic, sys_info, main object (arch 0's
value) or storage keys; the NATS ``meta`` file, a per-arch file of the directory or the ``.tar``, or
arch 0's value in the single-file layout. Used by ``benchmarks/probes/probe_hardening.py`` and the tests.
"""

from __future__ import annotations

import bz2
import io
import pickle
import struct
import tarfile
from functools import cache
from pathlib import Path

from nb201_env.importers import pickle_splice
from nb201_env.space import NUM_ARCHS
from nb201_env.testing import official_files as fixtures

PLACES = ("pth-magic", "pth-sysinfo", "pth-main", "pth-keys", "nats-meta", "nats-dir", "nats-tar", "nats-single")
"""Where a body can be placed; the first part names the converter (``nb201`` or ``nats``)."""


def _str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _bytes(data: bytes) -> bytes:
    return b"C" + bytes([len(data)]) + data if len(data) < 256 else b"B" + struct.pack("<I", len(data)) + data


def _int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def _dtype(spec: str, flags: int = 0, order: str = "<", elsize: int = -1, fields: bytes = b"NN") -> bytes:
    state = b"(K\x03" + _str(order) + b"N" + fields + _int(elsize) + _int(-1) + _int(flags) + b"tb"
    return b"cnumpy\ndtype\n" + _str(spec) + b"K\x00K\x01\x87R" + state


def _scalar(dtype: bytes, data: bytes) -> bytes:
    return b"cnumpy.core.multiarray\nscalar\n" + dtype + _bytes(data) + b"\x86R"


def _nested_lists(depth: int) -> bytes:
    """[[[...]]] ``depth`` deep, built through the memo (each level: get parent, new list, put, append, pop)."""
    out = [b"]r" + struct.pack("<I", 0)]
    for i in range(depth):
        out.append(b"j" + struct.pack("<I", i) + b"]r" + struct.pack("<I", i + 1) + b"a0")
    return b"".join(out)


def bodies() -> dict[str, bytes]:
    """Return the crafted bodies by name (each pushes one value)."""
    deep = 1_000_000
    structured = b"\x8c\x01a\x85}\x8c\x01a" + b"cnumpy\ndtype\n" + _str("O8") + b"K\x00K\x01\x87RK\x00\x86s"
    return {
        "scalar-object-dtype": _scalar(_dtype("O8", flags=63, order="|"), b"A" * 8),
        "scalar-f8-pointer-flag": _scalar(_dtype("f8", flags=4), b"A" * 8),
        "scalar-f8-refcount-flags": _scalar(_dtype("f8", flags=63), b"A" * 8),
        "scalar-structured-object-field": _scalar(
            _dtype("V8", flags=27, order="|", elsize=8, fields=structured), b"A" * 8
        ),
        "scalar-f8-elsize-1000": _scalar(_dtype("f8", elsize=1000), b"A" * 8),
        "scalar-f8-1-byte": _scalar(_dtype("f8"), b"A"),
        "scalar-f8-1000-bytes": _scalar(_dtype("f8"), b"A" * 1000),
        "scalar-unicode-1000": _scalar(_dtype("U1000", order="<"), b"ab"),
        "scalar-datetime": _scalar(_dtype("M8[s]"), b"\x00" * 8),
        "scalar-of-a-dict": b"cnumpy.core.multiarray\nscalar\n}" + _bytes(b"A" * 8) + b"\x86R",
        "nested-tuple-key": b"}K\x01" + b"\x85" * deep + b"K\x02s",
        "nested-tuple-value": b"}K\x01K\x01" + b"\x85" * deep + b"s",
        "nested-mark-tuples": b"(" * deep + b"t" * deep,
        "nested-frozensets": b"(" * 200_000 + b"\x91" * 200_000,
        "nested-lists": _nested_lists(200_000),
        "huge-memo-index": b"Nr\xf0\xff\xff\xff",
        "global-os-system": b"cos\nsystem\n" + _str("echo pwned") + b"\x85R",
        "codecs-encode-rot13": b"c_codecs\nencode\n" + _str("abc") + _str("rot13") + b"\x86R",
    }


def as_pickle(body: bytes, protocol: int = 2) -> bytes:
    """Return a complete pickle whose value is ``body``."""
    return bytes([0x80, protocol]) + body + b"."


@cache
def _meta_blob() -> bytes:
    return bz2.compress(pickle_splice.dumps_official(fixtures._meta(), 4), 1)


@cache
def _arch_blob() -> bytes:
    return bz2.compress(pickle_splice.dumps_official(fixtures.nats_arch(0, 7), 4), 1)


@cache
def _header(protocol: int) -> bytes:
    """PROTO, the top-level dict's header items and ``'arch2infos': {`` up to arch 0's value."""
    header = {"meta_archs": fixtures._meta()["meta_archs"], "total_archs": NUM_ARCHS}
    buf = io.BytesIO()
    pickle_splice.write_arch_pickle(buf, header, [], {}, protocol=protocol)
    data = buf.getvalue()
    assert data.endswith(b"}u.")  # the empty arch2infos, then the top dict's end
    return data[:-2] + b"(K\x00"  # reopen arch2infos with arch 0 as the next key


def _arch_file(body: bytes, protocol: int) -> bytes:
    return _header(protocol) + body + b"uu."


def _pth(
    magic: bytes | None = None, sys_info: bytes | None = None, main: bytes | None = None, keys: bytes | None = None
) -> bytes:
    info = {"protocol_version": fixtures.TORCH_PROTOCOL, "little_endian": True, "type_sizes": {"short": 2}}
    parts = [
        magic or pickle_splice.dumps_official(fixtures.TORCH_MAGIC, 2),
        pickle_splice.dumps_official(fixtures.TORCH_PROTOCOL, 2),
        sys_info or pickle_splice.dumps_official(info, 2),
        main or _arch_file(pickle.dumps(fixtures.nb201_arch(0, 7), 2)[2:-1], 2),
        keys or pickle_splice.dumps_official([], 2),
    ]
    return b"".join(parts)


def place(body: bytes | None, where: str, folder: Path, blob: bytes | None = None) -> tuple[str, Path, str]:
    """Write a source holding ``body`` (or the raw compressed ``blob``) at ``where``; return (kind, path, file name)."""
    folder.mkdir(parents=True, exist_ok=True)
    if where.startswith("pth-"):
        path = folder / "NAS-Bench-201-v1_1-096897.pth"
        pick = as_pickle(body or b"N")
        slot = {"pth-magic": "magic", "pth-sysinfo": "sys_info", "pth-main": "main", "pth-keys": "keys"}[where]
        if slot == "main":
            pick = _arch_file(body or b"N", 2)
        path.write_bytes(_pth(**{slot: pick}))
        return "nb201", path, path.name
    if where == "nats-single":
        path = folder / fixtures.NATS_FILE_NAME
        path.write_bytes(blob if blob is not None else bz2.compress(_arch_file(body or b"N", 4), 1))
        return "nats", path, path.name
    crafted = blob if blob is not None else bz2.compress(as_pickle(body or b"N", 4), 1)
    meta, arch = (crafted, _arch_blob()) if where == "nats-meta" else (_meta_blob(), crafted)
    name = "meta.pickle.pbz2" if where == "nats-meta" else "000000.pickle.pbz2"
    if where == "nats-tar":
        path = folder / f"{fixtures.NATS_DIR_NAME}.tar"
        with tarfile.open(path, "w") as tar:
            for member, data in (("meta.pickle.pbz2", meta), ("000000.pickle.pbz2", arch)):
                info = tarfile.TarInfo(f"{fixtures.NATS_DIR_NAME}/{member}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return "nats", path, name
    path = folder / fixtures.NATS_DIR_NAME
    path.mkdir(exist_ok=True)
    (path / "meta.pickle.pbz2").write_bytes(meta)
    (path / "000000.pickle.pbz2").write_bytes(arch)
    return "nats", path, name


def bombs() -> dict[str, tuple[str, bytes]]:
    """Return decompression bombs by name: (place, bz2 blob) expanding far beyond the official sizes."""
    zeros = bz2.compress(b"\x00" * (20 << 20), 9)  # 20 MiB from 49 bytes; the per-file limit is 16 MiB
    string = b"X" + struct.pack("<I", 1 << 20) + b"a" * (1 << 20) + b"0"  # push a 1 MiB string, pop it
    padding = bz2.compress(b"\x80\x04" + string * 20 + b"N.", 9)  # 20 MiB of valid opcodes before any entry
    return {
        "bomb-per-arch-file": ("nats-dir", zeros),
        "bomb-tar-member": ("nats-tar", zeros),
        "bomb-meta-file": ("nats-meta", zeros),
        "bomb-single-file": ("nats-single", padding),
    }

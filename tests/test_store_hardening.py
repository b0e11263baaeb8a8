"""An edited store is refused, never answered from the wrong bytes; every store we ship opens and verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nb201_env
from benchmarks.probes.crafted_stores import EDITS
from nb201_env.store import CorruptStoreError, Store, StoreError
from nb201_env.store.errors import OldFormatError
from nb201_env.store.schema import MANIFEST

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = """
import hashlib, json, shutil, sys
from pathlib import Path
from benchmarks.probes import crafted_stores
from nb201_env.store import StoreError

root = Path(sys.argv[1])
base = crafted_stores.base_store(root / "base.store")
digest = lambda p: hashlib.sha256(json.dumps(crafted_stores.answers(p), sort_keys=True).encode()).hexdigest()
want = digest(base)
out = []
for i, (name, edit) in enumerate(crafted_stores.EDITS.items()):
    copy = root / str(i) / "s.store"
    shutil.copytree(base, copy)
    edit(copy)
    try:
        got = digest(copy)
        out.append([name, "same answers" if got == want else "WRONG ANSWERS", ""])
    except StoreError as exc:  # refused: the error names the store and what is wrong
        out.append([name, "refused", str(exc)])
    except Exception as exc:
        out.append([name, "unclear " + type(exc).__name__, str(exc)])
print(json.dumps(out))
"""


def test_every_edit_of_a_store_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=900
    )
    assert proc.returncode == 0, f"the reading process died (status {proc.returncode}): {proc.stderr[-2000:]}"
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [name for name, *_ in results] == list(EDITS)
    wrong = [(name, outcome, message) for name, outcome, message in results if outcome != "refused"]
    assert wrong == [], wrong
    messages = {name: message for name, _, message in results}
    assert "has been edited after it was written" in messages["seed labels swapped"]
    assert "has been edited after it was written" in messages["two records' arrays swapped"]
    assert "appears twice" in messages["resealed: record duplicated"]
    assert "plain names inside the store directory" in messages["resealed: ../ file path"]
    assert "plain names inside the store directory" in messages["resealed: absolute file path"]
    assert "its axes need <f8(15625, 2, 3)" in messages["resealed: epochs [5, 11] -> [5, 7, 11]"]
    assert "not a regular file" in messages["array file replaced by a link outside"]
    assert "fails its checksum" in messages["flipped byte in the middle of an array"]
    assert "not UTF-8 text" in messages["manifest of binary garbage"]
    assert "nests JSON too deeply" in messages["manifest of deeply nested JSON"]
    assert "nb201 upgrade-store" in messages["format_version 1"]


def test_a_flipped_byte_is_caught_by_every_mode_that_reads_checksums(tmp_path: Path) -> None:
    from benchmarks.probes.crafted_stores import ACC, base_store

    path = base_store(tmp_path / "s.store")
    victim = path / Store(path).record_info(ACC).array.file
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x10
    victim.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError, match="fails its checksum"):
        Store(path, verify="full")
    with pytest.raises(CorruptStoreError, match="fails its checksum"):
        Store(path).record(ACC)  # lazy, the default: before any value of the array is used
    assert Store(path, verify="size").record(ACC).shape == (15625, 2, 2)  # documented: size mode trusts the media


def test_a_format_1_store_is_refused_then_resealed_with_its_arrays_untouched(tmp_path: Path, capsys) -> None:
    from benchmarks.probes.crafted_stores import base_store
    from nb201_env.cli import main
    from nb201_env.store.checks import SEAL

    path = base_store(tmp_path / "s.store")
    arrays = {p.name: p.read_bytes() for p in path.glob("*.npy")}
    doc = json.loads((path / MANIFEST).read_text())
    doc["format_version"] = 1
    doc.pop(SEAL)
    (path / MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(OldFormatError, match="nb201 upgrade-store"):
        Store(path)
    assert main(["upgrade-store", "--store", str(path)]) == 0
    assert "re-sealed" in capsys.readouterr().out
    Store(path, verify="full")
    assert {p.name: p.read_bytes() for p in path.glob("*.npy")} == arrays
    assert "arrays unchanged" in Store(path).manifest.extra["resealed"]


def test_resealing_refuses_a_store_whose_files_do_not_match(tmp_path: Path) -> None:
    from benchmarks.probes.crafted_stores import base_store
    from nb201_env.store.reseal import reseal_store

    path = base_store(tmp_path / "s.store")
    victim = next(path.glob("*.npy"))
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    before = (path / MANIFEST).read_bytes()
    with pytest.raises(StoreError, match="fails its checksum"):
        reseal_store(path)
    assert (path / MANIFEST).read_bytes() == before


SHIPPED = sorted((Path(nb201_env.__file__).parent / "data").glob("*.store"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_store_opens_and_verifies(path: Path) -> None:
    store = Store(path, verify="full")  # seal, keys, names, sizes, headers and every checksum
    assert (store.records or store.stats) and store.manifest.name  # a zero-cost table holds stats only


def test_at_least_one_store_is_shipped() -> None:
    assert SHIPPED, "no store under nb201_env/data"


def test_info_says_which_verify_mode_is_in_use_and_what_it_catches(capsys) -> None:
    from nb201_env.cli import main

    store = str(SHIPPED[0])
    assert main(["info", "--store", store]) == 0
    text = capsys.readouterr().out
    assert "verify mode 'lazy' (the default)" in text and "a flipped byte inside an array is caught" in text
    assert main(["info", "--store", store, "--json"]) == 0
    verify = json.loads(capsys.readouterr().out)["verify"]
    assert verify["mode"] == verify["default"] == "lazy" and "SHA-256" in verify["catches"]

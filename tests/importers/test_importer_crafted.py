"""Crafted pickles in every place an importer reads one are refused with an error naming the file, never a crash.

Each place runs in a subprocess, so a segfault (the failure these tests guard against) fails the test
instead of killing the test run. The converters write into an in-memory stand-in: every crafted input must
be refused while it is read, before a value could be stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.probes.crafted_pickles import PLACES

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {helpers!r})
from importer_helpers import SparseWriter
from benchmarks.probes import crafted_pickles
from nb201_env.importers import nats, nb201_pth

class Writer(SparseWriter):
    def __init__(self, path, *args, **kwargs):
        super().__init__()
        self.extra = {{}}
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def add_source(self, *args):
        pass
    def commit(self):
        return Path("accepted")

nats.StoreWriter = nb201_pth.StoreWriter = Writer
family, root = sys.argv[1], Path(sys.argv[2])
if family == "bombs":
    cases = [(name, None, blob, where) for name, (where, blob) in crafted_pickles.bombs().items()]
else:
    places = [p for p in crafted_pickles.PLACES if p.startswith(family)]
    cases = [(name, body, None, where) for name, body in crafted_pickles.bodies().items() for where in places]
out = []
for name, body, blob, where in cases:
    kind, source, file_name = crafted_pickles.place(body, where, root / (name + "-" + where), blob=blob)
    convert = nats.convert_nats if kind == "nats" else nb201_pth.convert_nb201_pth
    try:
        convert(source, root / (name + "-" + where) / "out.store")
        out.append([name, where, file_name, "accepted", ""])
    except Exception as exc:
        out.append([name, where, file_name, type(exc).__name__, str(exc)])
print(json.dumps(out))
"""


def _run(family: str, tmp_path: Path) -> list[list[str]]:
    script = _SCRIPT.format(helpers=str(REPO / "tests" / "importers"))
    argv = [sys.executable, "-c", script, family, str(tmp_path)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, f"the importer process died (status {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


REFUSALS = {"UnsafePickleError", "CorruptSourceError", "SourceFormatError"}


@pytest.mark.parametrize("importer", ["pth", "nats"])
def test_crafted_pickles_are_refused_naming_the_file(importer: str, tmp_path: Path) -> None:
    results = _run(importer, tmp_path)
    places = {where for _, where, *_ in results}
    assert places == {p for p in PLACES if p.startswith(importer)} and len(results) == 18 * len(places)
    for name, where, file_name, error, message in results:
        assert error in REFUSALS, f"{name} @ {where}: {error}: {message}"
        assert file_name in message, f"{name} @ {where}: the error does not name {file_name}: {message}"
    for where in places:
        by_name = {name: message for name, at, _, _, message in results if at == where}
        assert "refusing numpy dtype 'O8'" in by_name["scalar-object-dtype"], where
        assert "refusing numpy dtype f8 with state" in by_name["scalar-f8-pointer-flag"], where
        assert "needs exactly 8" in by_name["scalar-f8-1-byte"], where
        assert "refusing to load global os.system" in by_name["global-os-system"], where
        nested = by_name["nested-tuple-key"]
        assert "containers" in nested or "nested more than 32 deep" in nested, where


def test_decompression_bombs_are_refused(tmp_path: Path) -> None:
    results = _run("bombs", tmp_path)
    assert {name for name, *_ in results} == {
        "bomb-per-arch-file",
        "bomb-tar-member",
        "bomb-meta-file",
        "bomb-single-file",
    }
    for name, _, file_name, error, message in results:
        assert error == "UnsafePickleError" and file_name in message, (name, error, message)
        assert "16,777,216 bytes" in message or "more than 16777216 bytes" in message, message

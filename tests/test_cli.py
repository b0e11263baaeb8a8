import importlib
import json
import re
import shutil
import subprocess
import sys

import pytest

import nb201_env
from nb201_env.cli import main
from nb201_env.space import Arch
from nb201_env.store.reseal import reseal_store


def test_convert_shared_writes_the_public_benchmark(shared_nb201, tmp_path, capsys):
    out = tmp_path / "s.store"
    assert main(["convert", "shared", str(shared_nb201), "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert main(["info", "--store", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "nb201-public" and info["sources"]["times"]["estimate"]
    assert main(["convert", "shared", str(shared_nb201), "-o", str(out)]) == 2
    assert "already exists; pass overwrite=True" in capsys.readouterr().err


def test_info_query_verify_on_the_bundled_benchmark(public_store, tmp_path, capsys):
    copy = tmp_path / "copy.store"
    shutil.copytree(public_store, copy)
    assert main(["info", "--store", str(copy), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert any(r["record"] == "cifar10-valid/x-valid/accuracy@12" for r in info["records"])
    assert main(["info", "--store", str(copy)]) == 0
    assert "[ESTIMATES]" in capsys.readouterr().out

    assert main(["query", Arch(6111).to_str(), "--store", str(copy), "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["index"] == 6111 and q["benchmark"] == "nb201-public"
    assert q["stats"]["params_mb/cifar10"] == pytest.approx(1.073466)
    assert main(["query", "6111", "--store", str(copy), "--dataset", "cifar100"]) == 0
    text = capsys.readouterr().out
    assert "cifar100/x-valid/accuracy@12" in text and "cifar10-valid" not in text

    assert main(["verify", "--store", str(copy)]) == 0
    assert "ok" in capsys.readouterr().out
    victim = max(copy.glob("*.npy"), key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    assert main(["verify", "--store", str(copy)]) == 2
    assert "checksum" in capsys.readouterr().err


def test_list_names_every_bundled_and_cached_benchmark(public_store, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = tmp_path / "nb201_env" / "mine.store"
    shutil.copytree(public_store, cached)
    manifest = cached / "manifest.json"  # a store of our own under another name: renamed, then re-sealed
    manifest.write_text(manifest.read_text().replace('"name": "nb201-public"', '"name": "my-benchmark"', 1))
    reseal_store(cached)
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("nb201-public (default)") and "bundled" in lines[0]
    assert any(line.startswith("nb201-proxy-cifar10") and "proxy" in line for line in lines)
    assert any(line.startswith("my-benchmark") and "cache" in line for line in lines)
    assert main(["info", "--store", "my-benchmark", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(cached)


def test_info_by_name_shows_licences_citations_and_estimates(capsys):
    assert main(["info", "--store", "nb201-public", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sources"]["hp12-final"]["license"].startswith("MIT")
    assert all(s["license"] for s in info["sources"].values())  # every source says what its licence is
    assert any("NAS-Bench-201" in c for c in info["citations"]) and any("NATS-Bench" in c for c in info["citations"])
    times = {r["record"]: r["estimated_archs"] for r in info["records"]}
    assert times["cifar10-valid/train/time@12"] == 15625 - 1000  # recorded for archs 0..999, fitted beyond
    assert times["cifar10-valid/x-valid/accuracy@12"] == 0
    assert main(["info", "--store", "nb201-public"]) == 0
    text = capsys.readouterr().out
    assert "lacks: learning curves" in text and "license: MIT" in text and "(14,625 archs estimated)" in text


def test_errors_are_one_clear_line(public_store, tmp_path, capsys):
    assert main(["query", "99999", "--store", str(public_store)]) == 2
    assert "0..15624" in capsys.readouterr().err
    assert main(["info", "--store", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "nb201-public" in err and "nb201 list" in err
    assert main(["info", "--store", "nb201-pubic"]) == 2  # a misspelt name lists the known ones
    assert "known benchmarks: nb201-public, nb201-proxy-cifar10" in capsys.readouterr().err
    assert main(["info", "--store", str(tmp_path)]) == 2  # a folder that is not a store
    assert "is not a store" in capsys.readouterr().err
    assert main(["convert", "shared", str(tmp_path), "-o", str(tmp_path / "x")]) == 2
    assert "lacks" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", "csv", "x"])  # argparse names the valid kinds
    assert "invalid choice: 'csv'" in capsys.readouterr().err


def _help(capsys, argv: list[str], main_fn=main) -> str:
    with pytest.raises(SystemExit) as done:
        main_fn([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


SUBCOMMANDS = ["convert", "download", "build-table", "list", "info", "query", "verify", "upgrade-store"]
MARKUP = re.compile(r"``|:(mod|func|class|meth|data|attr):`")


def test_help_is_plain_text_describes_every_subcommand_and_shows_defaults(capsys):
    top = _help(capsys, [])
    assert top.startswith("usage: nb201 ") and not MARKUP.search(top)
    for name in SUBCOMMANDS:
        assert re.search(rf"^    {name}\s+\S", top, re.M) or f"    {name}\n" in top, name  # listed with its summary
        text = _help(capsys, [name])
        assert text.startswith(f"usage: nb201 {name} ") and not MARKUP.search(text), name
        description = text.split("\n\n")[1]
        assert description[0].isupper() and description.rstrip().endswith("."), (name, description)
    build = " ".join(_help(capsys, ["build-table"]).split())
    assert "training processes, one thread each (default: 2)" in build and "(default: 777)" in build
    assert "(default: None)" not in build and "(default: False)" not in build


def test_version_and_the_usage_line_name_the_command_as_typed(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"nb201 {nb201_env.__version__}"
    typed = subprocess.run([sys.executable, "-m", "nb201_env.cli", "list", "--help"], capture_output=True, text=True)
    assert typed.returncode == 0 and typed.stdout.startswith("usage: python -m nb201_env.cli list")


@pytest.mark.parametrize("module", ["run", "report", "cluster"])
def test_the_harness_commands_help_in_plain_text_as_typed(capsys, module):
    command = importlib.import_module(f"benchmarks.harness.{module}")
    text = _help(capsys, [], command.main)
    assert text.startswith(f"usage: python -m benchmarks.harness.{module} ") and not MARKUP.search(text)
    assert "run.py" not in text.splitlines()[0]
    if module != "report":
        assert "(default: nb201)" in " ".join(text.split())


def test_list_marks_the_store_that_info_opens_as_the_default(public_store, monkeypatch, tmp_path, capsys):
    """After `nb201 convert shared` the cache holds a copy named nb201-public: that copy is what opens by default."""
    monkeypatch.delenv("NB201_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    converted = tmp_path / "nb201_env" / "nb201.store"
    shutil.copytree(public_store, converted)  # what `nb201 convert shared` writes: the same store, bit for bit
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    bundled = next(line for line in lines if " bundled " in line and line.startswith("nb201-public"))
    cached = next(line for line in lines if " cache " in line)
    assert "(default)" not in bundled and cached.startswith("nb201-public (default)")
    assert "shadowed" not in cached and f"this copy opens by path {converted}" in cached
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["path"] for k in listed if k["default"]] == [str(converted)]
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(converted)
    monkeypatch.setenv("NB201_DATA", "nb201-proxy-cifar10")  # the variable wins: the proxy is the default now
    assert main(["list", "--json"]) == 0
    assert [k["name"] for k in json.loads(capsys.readouterr().out) if k["default"]] == ["nb201-proxy-cifar10"]
    monkeypatch.setenv("NB201_DATA", str(tmp_path / "gone"))
    assert main(["list"]) == 0
    assert "no default: $NB201_DATA" in capsys.readouterr().out

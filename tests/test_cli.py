import json

import pytest

from nb201_env.cli import main
from nb201_env.space import Arch


def test_convert_info_query_verify(shared_nb201, tmp_path, capsys):
    out = tmp_path / "s.store"
    assert main(["convert", "shared", str(shared_nb201), "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out

    assert main(["info", "--store", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "nb201-public-figures" and info["sources"]["times"]["estimate"]
    assert any(r["record"] == "cifar10-valid/x-valid/accuracy@12" for r in info["records"])
    assert main(["info", "--store", str(out)]) == 0
    assert "[ESTIMATES]" in capsys.readouterr().out

    assert main(["query", Arch(6111).to_str(), "--store", str(out), "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["index"] == 6111 and q["values_at_last_epoch_seed_mean"]["cifar10/ori-test/accuracy@200"] == pytest.approx(
        94.373, abs=1e-3
    )
    assert q["stats"]["params_mb/cifar10"] == pytest.approx(1.073466)
    assert main(["query", "6111", "--store", str(out), "--dataset", "cifar100"]) == 0
    text = capsys.readouterr().out
    assert "cifar100/x-valid/accuracy@12" in text and "cifar10-valid" not in text

    assert main(["verify", "--store", str(out)]) == 0
    assert "ok" in capsys.readouterr().out
    victim = max(out.glob("*.npy"), key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    assert main(["verify", "--store", str(out)]) == 2
    assert "checksum" in capsys.readouterr().err


def test_errors_are_one_clear_line(shared_nb201, shared_store, tmp_path, capsys):
    assert main(["query", "99999", "--store", str(shared_store)]) == 2
    assert "0..15624" in capsys.readouterr().err
    assert main(["info", "--store", str(tmp_path / "missing")]) == 2
    assert "nb201 convert" in capsys.readouterr().err
    assert main(["convert", "shared", str(tmp_path), "-o", str(tmp_path / "x")]) == 2
    assert "lacks" in capsys.readouterr().err
    assert main(["convert", "shared", str(shared_nb201), "-o", str(shared_store)]) == 2
    assert "already exists; pass overwrite=True" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", "csv", "x"])  # argparse names the valid kinds
    assert "invalid choice: 'csv'" in capsys.readouterr().err

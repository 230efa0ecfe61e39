"""The command line (errors are one line, outputs valid) and the energy table rules."""

import json

import numpy as np
import pytest

from accel.arch.energy import DEFAULT_TABLE, EnergyTable
from accel.arch.errors import UserError
from accel.arch.layer import QuantizedLayer
from accel.cli import main


def test_sram_energy_grows_with_size_and_width():
    table = EnergyTable.load()
    assert table.sram_read(8 * 1024, 64) < table.sram_read(32 * 1024, 64) < table.sram_read(128 * 1024, 64)
    assert table.sram_read(128 * 1024, 32) < table.sram_read(128 * 1024, 64) < table.sram_read(128 * 1024, 128)
    assert table.int_mult(8) == pytest.approx(0.19375) and table.int_add(16) == pytest.approx(0.05)


def test_bad_energy_tables_are_refused(tmp_path):
    path = tmp_path / "table.json"
    data = json.loads(DEFAULT_TABLE.read_text())
    del data["actions"]["dram_32"]["source"]
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match='needs a "source"'):
        EnergyTable.load(path)
    path.write_text("{")
    with pytest.raises(UserError, match="not valid JSON"):
        EnergyTable.load(path)


def test_simulate_json_and_plot(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["simulate", "NT-LSTM", "--pes", "16", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    layer = printed["layers"][0]
    assert layer["layer"] == "NT-LSTM" and layer["cycles"] > 0 and "synthetic" in layer["notes"]["weights"]
    assert {e["label"] for e in layer["energy"]} == {"EIE (SRAM)", "compressed, weights in DRAM", "dense, weights in DRAM"}
    assert main(["plot", str(out), "--out", str(tmp_path / "e.png")]) == 0
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_simulate_a_layer_file_with_an_input(tmp_path, capsys):
    layer = QuantizedLayer(codes=np.eye(6, dtype=int) * 3, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], name="eye")
    layer.save(tmp_path / "eye.npz")
    np.save(tmp_path / "x.npy", np.arange(6.0))
    assert main(["simulate", str(tmp_path / "eye.npz"), "--input", str(tmp_path / "x.npy"), "--pes", "2"]) == 0
    assert "eye" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["simulate", "Alex-9"], "unknown benchmark layer"),
    (["simulate", "missing.npz"], "does not exist"),
    (["simulate", "Alex-8", "--pes", "0"], "--pes: must be a number of PEs from 1 to 4,096"),
    (["simulate", "Alex-8", "--act-density", "2"], "at least 0 and at most 1"),
    (["plot", "nowhere.json"], "does not exist"),
])
def test_errors_are_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_verilog_command_writes_design_and_memory_files(tmp_path):
    layer = QuantizedLayer(codes=np.eye(4, dtype=int) * 2, codebook=np.r_[0.0, np.linspace(-1, 1, 15)])
    layer.save(tmp_path / "l.npz")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"spmat_sram_bytes": 128, "ptr_sram_bytes": 64, "regfile_entries": 4}))
    assert main(["verilog", "--pes", "1", "--config", str(config), "--layer", str(tmp_path / "l.npz"), "--out", str(tmp_path / "v")]) == 0
    assert "module eie_array" in (tmp_path / "v" / "eie_array.v").read_text()
    assert (tmp_path / "v" / "batch0" / "spmat_pe0.hex").read_text().splitlines()[0] == "0000000032221202"  # entries 0x02, 0x12, 0x22, 0x32


def test_records_carry_their_provenance(tmp_path, capsys):
    from accel.cli.common import tool_version

    assert main(["simulate", "NT-We", "--pes", "4", "--seed", "3", "--out", str(tmp_path / "run.json")]) == 0
    record = json.loads((tmp_path / "run.json").read_text())["provenance"]
    assert record["version"] == tool_version() != ""
    assert record["command"] == f"accel simulate NT-We --pes 4 --seed 3 --out {tmp_path / 'run.json'}"
    assert record["seed"] == 3 and record["config"]["n_pes"] == 4
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"accel {tool_version()}"


@pytest.mark.parametrize("content", ['{"layers": []}', '{"layers": [{"layer": "a", "energy": []}]}', '[1, 2]'])
def test_plot_refuses_what_simulate_did_not_write(tmp_path, capsys, content):
    (tmp_path / "r.json").write_text(content)
    assert main(["plot", str(tmp_path / "r.json")]) == 2
    assert "is not a simulation result" in capsys.readouterr().err


def test_render_without_records_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--render"]) == 2
    assert "latency.json is missing" in capsys.readouterr().err

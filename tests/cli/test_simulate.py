"""``accel simulate``: tables, DRAM comparison, JSON, options and one-line errors."""

import json

import numpy as np
import pytest

from accel.arch.energy import DEFAULT_TABLE
from accel.arch.layer import QuantizedLayer
from accel.cli import main


@pytest.fixture
def layer_file(tmp_path):
    rng = np.random.default_rng(0)
    codes = (rng.random((40, 24)) < 0.3) * rng.integers(1, 16, (40, 24))
    path = tmp_path / "fc.npz"
    QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], name="fc").save(path)
    return path


def test_text_output_has_counts_energy_and_check(layer_file, capsys):
    assert main(["simulate", str(layer_file), "--pes", "4", "--fifo", "2", "--compare-dram"]) == 0
    out = capsys.readouterr().out
    assert "4 PEs, FIFO depth 2" in out and "stall cycles" in out and "module: sparse-matrix read" in out and "type: clock" in out
    assert "dense, weights in DRAM uJ" in out and "compressed, weights in DRAM uJ" in out
    assert "numpy fixed-point model bit-exact" in out


def test_without_compare_dram_only_eie_energy_is_printed(layer_file, capsys):
    assert main(["simulate", str(layer_file), "--pes", "4"]) == 0
    assert "dense, weights in DRAM" not in capsys.readouterr().out


def test_json_and_config_file(layer_file, tmp_path, capsys):
    config = tmp_path / "arch.json"
    config.write_text(json.dumps({"n_pes": 8, "regfile_entries": 2}))
    assert main(["simulate", str(layer_file), "--config", str(config), "--clock-mhz", "400", "--act-density", "0.5",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    layer = data["layers"][0]
    assert data["config"]["n_pes"] == 8 and data["config"]["clock_mhz"] == 400
    assert len(layer["batches"]) == 3 and layer["latency_us"] == pytest.approx(layer["cycles"] / 400)
    assert layer["check"]["numpy_model_bit_exact"] is True
    assert data["total"]["cycles"] == layer["cycles"]
    assert isinstance(layer["counters"]["spmat_line_reads"], int)


@pytest.mark.parametrize("extra, message", [
    (["--energy-table", "nowhere.json"], "does not exist"),
    (["--fifo", "0"], "--fifo: must be a FIFO depth from 1 to 4,096"),
    (["--input", "nowhere.npy"], "does not exist"),
])
def test_option_errors_are_one_line(layer_file, extra, message, capsys):
    assert main(["simulate", str(layer_file), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_bad_energy_table_and_input_length(layer_file, tmp_path, capsys):
    table = json.loads(DEFAULT_TABLE.read_text())
    table["actions"]["dram_32"]["unit"] = "nJ"
    (tmp_path / "t.json").write_text(json.dumps(table))
    assert main(["simulate", str(layer_file), "--energy-table", str(tmp_path / "t.json")]) == 2
    assert "convert the energy to pJ" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.ones(5))
    assert main(["simulate", str(layer_file), "--input", str(tmp_path / "x.npy")]) == 2
    assert "holds 5 values; the first layer takes 24" in capsys.readouterr().err


def test_saved_run_holds_activity_and_energies_apart_and_its_energy_can_be_recomputed(layer_file, tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["simulate", str(layer_file), "--pes", "4", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["energy_table"].startswith("predicted: ")
    layer = data["layers"][0]
    for energy in layer["energy"]:
        activity, terms = energy["activity"], energy["terms"]
        assert all(isinstance(count, int) for count in activity.values())
        assert all(set(term) == {"name", "activity", "pJ", "module", "type", "storage"} for term in terms)
        # Recompute from the file alone: every term's activity count times its energy per action.
        total = sum(activity[term["activity"]] * term["pJ"] for term in terms)
        assert total == pytest.approx(energy["total_pJ"]) and total > 0
        assert sum(energy["by_module_pJ"].values()) == pytest.approx(total) == pytest.approx(sum(energy["by_type_pJ"].values()))
    eie = layer["energy"][0]
    assert {name: eie["activity"][name] for name in layer["counters"]} == layer["counters"]
    assert eie["activity"]["pe_cycles"] == 4 * layer["cycles"]

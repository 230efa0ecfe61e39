"""`accel verilog --layer`: the generated folder's plain-Verilog testbench passes under Icarus, without Python."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from accel.arch.config import ArchConfig
from accel.cli import main
from accel.hdl.rtl.pe_array import EIEArray
from accel.hdl.rtl.verilog import array_verilog

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "reports" / "compression" / "lenet300" / "model.dc.npz"
SMALL = {"n_pes": 2, "spmat_sram_bytes": 4096, "ptr_sram_bytes": 1024, "regfile_entries": 8}
needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog (make system-deps)")


def run_icarus(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(folder / "run_icarus.sh")], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "small.json"
    path.write_text(json.dumps(SMALL))
    return path


@needs_icarus
def test_testbench_passes_and_catches_a_wrong_value(tmp_path, small_config):
    out = tmp_path / "fc"
    # 100 outputs in 2 PEs x 8 rows: seven batches, the last one partly filled.
    assert main(["verilog", "--config", str(small_config), "--layer", f"{MODEL}:classifier.5", "--out", str(out)]) == 0
    design = json.loads((out / "design.json").read_text())
    assert len(design["layer"]["batches"]) == 7 and (out / "batch6" / "load.hex").exists()
    assert (out / "README.md").read_text().count("| `load_") == 6
    passed = run_icarus(out)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "PASS: 100 outputs and 7 batch cycle count(s)" in passed.stdout

    outputs = (out / "expected_outputs.hex").read_text().splitlines()
    outputs[57] = f"{(int(outputs[57], 16) + 1) & 0xffff:04x}"
    (out / "expected_outputs.hex").write_text("\n".join(outputs) + "\n")
    failed = run_icarus(out)
    assert failed.returncode != 0
    assert "FAIL output row 57" in failed.stdout and "PASS" not in failed.stdout


@needs_icarus
def test_a_wrong_cycle_count_fails(tmp_path, small_config):
    out = tmp_path / "fc"
    assert main(["verilog", "--config", str(small_config), "--layer", f"{MODEL}:classifier.8", "--out", str(out)]) == 0
    cycles = int((out / "expected_cycles.hex").read_text(), 16)
    (out / "expected_cycles.hex").write_text(f"{cycles + 1:08x}\n")
    failed = run_icarus(out)
    assert failed.returncode != 0 and f"{cycles} cycles, the simulator says {cycles + 1}" in failed.stdout


@needs_icarus
def test_the_design_boots_holding_the_layer(tmp_path, small_config):
    out = tmp_path / "fc"
    assert main(["verilog", "--config", str(small_config), "--layer", f"{MODEL}:classifier.8", "--out", str(out)]) == 0
    assert "boots holding layer `classifier.8`" in (out / "README.md").read_text()
    passed = run_icarus(out)
    assert "boot: 0 mismatch(es)" in passed.stdout and passed.returncode == 0
    # The same testbench on the array with empty memories: the run without loads fails, the loaded one passes.
    empty = EIEArray(ArchConfig.load(out / "config.json"))
    (out / "eie_array.v").write_text(array_verilog(empty, for_simulation=True))
    failed = run_icarus(out)
    assert failed.returncode != 0 and "boot: 0 mismatch" not in failed.stdout and "FAIL output row" in failed.stdout


def test_sources_state_dicts_and_multi_layer_refusal(tmp_path, small_config, capsys):
    torch.manual_seed(0)
    state = {"hidden.weight": torch.randn(12, 6), "hidden.bias": torch.randn(12), "out.weight": torch.randn(4, 12)}
    torch.save(state, tmp_path / "w.pt")
    assert main(["verilog", "--config", str(small_config), "--layer", f"{tmp_path / 'w.pt'}:out", "--out", str(tmp_path / "v")]) == 0
    assert json.loads((tmp_path / "v" / "design.json").read_text())["layer"]["rows"] == 4
    capsys.readouterr()
    assert main(["verilog", "--layer", str(MODEL), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "classifier.2, classifier.5, classifier.8" in err and ":NAME" in err
    assert main(["verilog", "--layer", f"{MODEL}:fc9", "--out", str(tmp_path / "x")]) == 2
    assert "no layer 'fc9'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_later_run_without_a_layer_leaves_no_testbench_behind(tmp_path, small_config):
    out = tmp_path / "v"
    assert main(["verilog", "--config", str(small_config), "--layer", f"{MODEL}:classifier.8", "--out", str(out)]) == 0
    assert (out / "tb_eie.v").exists() and (out / "batch0").is_dir()
    assert main(["verilog", "--config", str(small_config), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "design.json", "eie_array.v", "manifest.json"]

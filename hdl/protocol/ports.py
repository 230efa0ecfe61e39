"""Typed ports shared by the array, the PEs and their arithmetic units (Amaranth ``wiring`` signatures).

Each signature is written from the side that drives it (the array's control towards a PE): a
component that receives one declares it ``In(...)``. The array's own top-level ports stay flat, as
the design folder's README documents them for users of other simulators and tools, and are named once,
in ``ArrayPort``.
"""

from __future__ import annotations

from enum import StrEnum

from amaranth import signed
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.arch.counters import RTL_ARRAY, RTL_PER_PE
from accel.hdl.protocol.sizes import RTLSizes


class ArrayPort(StrEnum):
    """The array's top-level ports by name, besides the clock, the reset and the activity counters (whose
    names come from ``accel.arch.counters``): the RTL declares them and every host drives them by these."""

    LOAD_EN = "load_en"
    LOAD_BROADCAST = "load_broadcast"
    LOAD_PE = "load_pe"
    LOAD_TARGET = "load_target"
    LOAD_ADDR = "load_addr"
    LOAD_DATA = "load_data"
    ACT_CLEAR = "act_clear"
    ACT_EN = "act_en"
    ACT_INDEX = "act_index"
    ACT_VALUE = "act_value"
    RELU = "relu"
    ROWS = "rows"
    START = "start"
    BUSY = "busy"
    DONE = "done"
    CYCLES = "cycles"
    OUT_PE = "out_pe"
    OUT_ADDR = "out_addr"
    OUT_DATA = "out_data"


PULSES = (ArrayPort.LOAD_EN, ArrayPort.ACT_EN, ArrayPort.ACT_CLEAR, ArrayPort.START)
"""The inputs a host raises for single cycles (low when nothing happens)."""


class LoadTarget(enum.Enum, shape=3):
    """What a load-port write goes to (``addr`` indexes it)."""

    SPMAT = 0
    """A sparse-matrix line."""
    PTR_EVEN = 1
    """An even-bank pointer ``p_(2i)``."""
    PTR_ODD = 2
    """An odd-bank pointer ``p_(2i+1)``."""
    ACC = 3
    """An accumulator's initial value (the row's bias)."""
    CODEBOOK = 4
    """A codebook value (written to every PE at once)."""


class LoadSignature(wiring.Signature):
    """One load-port write per cycle: ``data`` into ``target`` at ``addr`` while ``en`` is high."""

    def __init__(self, config: ArchConfig) -> None:
        sizes = RTLSizes(config)
        super().__init__({"en": Out(1), "target": Out(LoadTarget), "addr": Out(sizes.address_bits),
                          "data": Out(sizes.load_bits)})


class WritebackSignature(wiring.Signature):
    """While ``read`` is high, accumulator ``addr`` goes (ReLU when ``relu``, then saturated) to output
    row ``addr`` two cycles later (three at a PE's port, which registers these first)."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__({"read": Out(1), "addr": Out(RTLSizes(config).row_bits), "relu": Out(1)})


class ReadoutSignature(wiring.Signature):
    """Output row ``addr``'s value appears on ``data`` one cycle later."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__({"addr": Out(RTLSizes(config).row_bits), "data": In(signed(config.act_bits))})


class ArrayLoadSignature(wiring.Signature):
    """The array's load port: ``LoadSignature`` for the PE ``pe``, or for every PE with ``broadcast``."""

    def __init__(self, config: ArchConfig) -> None:
        sizes = RTLSizes(config)
        super().__init__({"en": Out(1), "broadcast": Out(1), "pe": Out(sizes.pe_bits), "target": Out(LoadTarget),
                          "addr": Out(sizes.address_bits), "data": Out(sizes.load_bits)})


class InputSignature(wiring.Signature):
    """The input vector, one column per cycle while ``en`` is high (``clear`` first empties the queue)."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__({"clear": Out(1), "en": Out(1), "index": Out(RTLSizes(config).col_bits),
                          "value": Out(signed(config.act_bits))})


class ArrayReadoutSignature(wiring.Signature):
    """Output row ``addr`` of PE ``pe`` appears on ``data`` (``READOUT_LATENCY`` cycles later, in the array)."""

    def __init__(self, config: ArchConfig) -> None:
        sizes = RTLSizes(config)
        super().__init__({"pe": Out(sizes.pe_bits), "addr": Out(sizes.row_bits), "data": In(signed(config.act_bits))})


class CounterSignature(wiring.Signature):
    """The activity counters the RTL keeps (``accel.arch.counters``): PE ``out.pe``'s, then the array's."""

    def __init__(self) -> None:
        super().__init__({counter.value: Out(32) for counter in (*RTL_PER_PE, *RTL_ARRAY)})

"""The array's top-level ports as a host's link: the port protocol written once for every simulator of the RTL.

``PortLink`` carries the steps of a batch (``accel.hdl.host.array_host``) over the ports as the design
folder's README describes them: load-port writes, the input vector, ``start`` and ``done``, the read-out of
outputs and counters. It only sets, reads and clocks ports through a back end: ``AmaranthBackend`` (a
testbench context of Amaranth's simulator) or ``CocotbBackend`` (the generated Verilog under cocotb, Icarus
or Verilator).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from accel.arch.counters import RTL_ARRAY, RTL_PER_PE, Timing
from accel.hdl.protocol.loading import LoadWrite
from accel.hdl.protocol.ports import ArrayPort as P
from accel.hdl.rtl.pe_array import READOUT_LATENCY


class Backend(Protocol):
    """Ports by name: set an input, read an output (signed ports as signed integers), clock once."""

    def set(self, name: str, value: int) -> None: ...

    def get(self, name: str) -> int: ...

    async def tick(self) -> None: ...

    async def wait_done(self, limit: int) -> bool:
        """Clock until ``done`` is high (at most ``limit`` cycles); whether it rose."""
        ...


class PortLink:
    """The steps of a batch on the ports of an ``EIEArray`` of ``n_pes`` PEs, through ``backend``; ``counters``:
    the array was built with its counter ports."""

    def __init__(self, backend: Backend, n_pes: int, counters: bool = True) -> None:
        self.backend = backend
        self.n_pes = n_pes
        self.counters = counters

    async def connect(self) -> None:
        """Ports need no handshake."""

    async def load(self, writes: Sequence[LoadWrite]) -> None:
        """The load-port writes, one per cycle."""
        port = self.backend
        port.set(P.LOAD_EN, 1)
        for write in writes:
            port.set(P.LOAD_BROADCAST, int(write.pe is None))
            port.set(P.LOAD_PE, write.pe or 0)
            port.set(P.LOAD_TARGET, write.target.value)
            port.set(P.LOAD_ADDR, write.addr)
            port.set(P.LOAD_DATA, write.data)
            await port.tick()
        port.set(P.LOAD_EN, 0)

    async def write_inputs(self, inputs: Sequence[int]) -> None:
        port = self.backend
        port.set(P.ACT_CLEAR, 1)
        await port.tick()
        port.set(P.ACT_CLEAR, 0)
        port.set(P.ACT_EN, 1)
        for index, value in enumerate(inputs):
            port.set(P.ACT_INDEX, index)
            port.set(P.ACT_VALUE, value)
            await port.tick()
        port.set(P.ACT_EN, 0)

    async def compute(self, rows: int, relu: bool, limit: int) -> int:
        """Pulse ``start``; the batch's cycle count once ``done`` rises."""
        port = self.backend
        port.set(P.RELU, int(relu))
        port.set(P.ROWS, rows)
        port.set(P.START, 1)
        await port.tick()
        port.set(P.START, 0)
        if not await port.wait_done(limit):
            raise AssertionError(f"done did not rise within {limit} cycles")
        return port.get(P.CYCLES)

    async def read_out(self, pe_rows: Sequence[int]) -> tuple[list[int], dict[str, Any]]:
        """Every PE's outputs (in the layer's row order) and, with counters, the activity counters. One
        output is asked for per cycle; each answer comes ``READOUT_LATENCY`` cycles after its question."""
        port = self.backend
        counters: dict[str, Any] = {}
        if self.counters:
            counters = {counter.value: port.get(counter.port) for counter in RTL_ARRAY}
            counters |= {counter.value: [] if counter is Timing.BUSY else 0 for counter in RTL_PER_PE}
            for pe in range(len(pe_rows)):
                port.set(P.OUT_PE, pe)
                await port.tick()
                for counter in RTL_PER_PE:
                    if counter is Timing.BUSY:
                        counters[counter.value].append(port.get(counter.port))
                    else:
                        counters[counter.value] += port.get(counter.port)
        asked = [(pe, row) for pe, rows in enumerate(pe_rows) for row in range(rows)]
        outputs = [0] * len(asked)
        for step in range(len(asked) + READOUT_LATENCY):
            if step >= READOUT_LATENCY:
                pe, row = asked[step - READOUT_LATENCY]
                outputs[row * self.n_pes + pe] = port.get(P.OUT_DATA)
            if step < len(asked):
                port.set(P.OUT_PE, asked[step][0])
                port.set(P.OUT_ADDR, asked[step][1])
            await port.tick()
        return outputs, counters


class AmaranthBackend:
    """Ports of an Amaranth component in a testbench of Amaranth's simulator (``add_testbench``)."""

    def __init__(self, ctx: Any, dut: Any) -> None:
        self.ctx, self.dut = ctx, dut

    def set(self, name: str, value: int) -> None:
        self.ctx.set(getattr(self.dut, name), value)

    def get(self, name: str) -> int:
        return int(self.ctx.get(getattr(self.dut, name)))

    async def tick(self) -> None:
        await self.ctx.tick()

    async def wait_done(self, limit: int) -> bool:
        for _ in range(limit):
            if self.get(P.DONE):
                return True
            await self.tick()
        return bool(self.get(P.DONE))


class CocotbBackend:
    """Ports of the generated Verilog under cocotb: driven and sampled on falling clock edges, so
    every rising edge sees settled inputs; waiting for ``done`` runs the simulator alone."""

    def __init__(self, dut: Any, clock_ns: int) -> None:
        self.dut, self.clock_ns = dut, clock_ns

    def set(self, name: str, value: int) -> None:
        signal = getattr(self.dut, name)
        signal.value = value & ((1 << len(signal)) - 1)

    def get(self, name: str) -> int:
        value = getattr(self.dut, name).value
        return value.to_signed() if name == P.OUT_DATA else int(value)

    async def tick(self) -> None:
        from cocotb.triggers import FallingEdge

        await FallingEdge(self.dut.clk)

    async def wait_done(self, limit: int) -> bool:
        from cocotb.triggers import RisingEdge, SimTimeoutError, with_timeout

        if not int(self.dut.done.value):
            try:
                await with_timeout(RisingEdge(self.dut.done), limit * self.clock_ns, "ns")
            except SimTimeoutError:
                return False
        await self.tick()
        return True

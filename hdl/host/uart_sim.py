"""The UART line in Amaranth's simulator: a host transport that sends and samples bits on the bridge's pins."""

from __future__ import annotations

from typing import Awaitable, Callable, TypeVar

from amaranth.sim import Simulator

from accel.arch.config import ArchConfig
from accel.hdl.host.array_host import ArrayHost
from accel.hdl.host.uart_link import UartLink
from accel.hdl.rtl.uart_bridge import UARTBridge

T = TypeVar("T")


class SimulatedLine:
    """A ``Transport`` that drives ``bridge.rx`` and samples ``bridge.tx``, ``divisor`` clocks per bit."""

    def __init__(self, ctx, bridge: UARTBridge, max_wait_bits: int = 200) -> None:
        self.ctx = ctx
        self.bridge = bridge
        self.divisor = bridge.divisor
        self.max_wait = max_wait_bits * bridge.divisor

    async def write(self, data: bytes) -> None:
        for byte in data:
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                self.ctx.set(self.bridge.rx, bit)
                await self.ctx.tick().repeat(self.divisor)

    async def read(self, count: int) -> bytes:
        received = bytearray()
        for _ in range(count):
            for _ in range(self.max_wait):
                if not self.ctx.get(self.bridge.tx):
                    break
                await self.ctx.tick()
            else:
                raise RuntimeError(f"the bridge sent no start bit in {self.max_wait} clocks")
            await self.ctx.tick().repeat(self.divisor // 2)  # the middle of the start bit
            byte = 0
            for bit in range(8):
                await self.ctx.tick().repeat(self.divisor)
                byte |= self.ctx.get(self.bridge.tx) << bit
            await self.ctx.tick().repeat(self.divisor)
            if not self.ctx.get(self.bridge.tx):
                raise RuntimeError("the bridge's stop bit is 0 (framing error)")
            received.append(byte)
        return bytes(received)


def run_over_uart(config: ArchConfig, session: Callable[[ArrayHost], Awaitable[T]], divisor: int = 4) -> T:
    """Run ``session`` (e.g. ``ArrayHost.run_layers``) as the host of a bridge and array in Amaranth's simulator:
    host -> UART bits -> bridge -> array -> UART bits -> host."""
    bridge = UARTBridge(config, divisor)
    result = []

    async def host(ctx) -> None:
        await ctx.tick().repeat(4)
        result.append(await session(ArrayHost(UartLink(SimulatedLine(ctx, bridge), config))))

    simulator = Simulator(bridge)
    simulator.add_clock(1e-6)
    simulator.add_testbench(host)
    simulator.run()
    return result[0]

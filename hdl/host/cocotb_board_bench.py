"""cocotb bench of a board netlist: the host of a real board (``ArrayHost`` over a ``UartLink``) on its UART pins.

The oscillator pin runs at the board's clock (the netlist's PLL model makes the core clock); a
``PinLine`` sends and samples bits at the build's baud rate. The layers (``$EIE_GATE_CASE``) run
chained through ``ArrayHost.run_layers`` (the first batch not loaded when the design boots holding it);
what they gave goes to ``$EIE_GATE_RESULTS``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time

from accel.arch.config import ArchConfig
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.array_host import ArrayHost
from accel.hdl.host.uart_link import UartLink

OSCILLATOR = "clk25_0__io"
RX, TX = "uart_0__rx__io", "uart_0__tx__io"
PLL_LOCK_NS = 2_000
"""Time for the PLL model to lock and the reset synchroniser to release the core."""
PROGRESS_BYTES = 1_000
"""A progress line in the simulator's log every this many bytes sent to the board."""
MAX_POLLS = 1_000
"""Status polls before a batch counts as hung: each poll takes 20 bit times, far more than a batch's cycles."""


class PinLine:
    """A ``Transport`` on the netlist's UART pins: ``bit_ns`` per bit, eight data bits, one stop bit."""

    def __init__(self, dut, bit_ns: float, max_wait_bits: int = 10_000) -> None:
        self.rx, self.tx = getattr(dut, RX), getattr(dut, TX)
        self.bit_ns = bit_ns
        self.max_wait_ns = max_wait_bits * bit_ns
        self.log = dut._log
        self.sent = 0

    async def write(self, data: bytes) -> None:
        for byte in data:
            self.sent += 1
            if self.sent % PROGRESS_BYTES == 0:
                self.log.info(f"{self.sent:,} bytes sent")
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                self.rx.value = bit
                await Timer(self.bit_ns, "ns")

    async def read(self, count: int) -> bytes:
        received = bytearray()
        for _ in range(count):
            if int(self.tx.value):
                try:
                    await with_timeout(FallingEdge(self.tx), self.max_wait_ns, "ns")
                except SimTimeoutError:
                    raise RuntimeError(f"the board sent no start bit in {self.max_wait_ns / 1000:.0f} us") from None
            await Timer(self.bit_ns / 2, "ns")  # the middle of the start bit
            byte = 0
            for bit in range(8):
                await Timer(self.bit_ns, "ns")
                byte |= int(self.tx.value) << bit
            await Timer(self.bit_ns, "ns")
            if not int(self.tx.value):
                raise RuntimeError("the board's stop bit is 0 (framing error)")
            received.append(byte)
        return bytes(received)


@cocotb.test()
async def board_netlist_matches_the_simulator(dut) -> None:
    case = json.loads(Path(os.environ["EIE_GATE_CASE"]).read_text())
    getattr(dut, RX).value = 1
    cocotb.start_soon(Clock(getattr(dut, OSCILLATOR), case["oscillator_ns"], unit="ns").start())
    await Timer(PLL_LOCK_NS, "ns")
    config = ArchConfig.from_dict(case["config"])
    layers = [QuantizedLayer.load(path) for path in case["layers"]]
    line = PinLine(dut, case["divisor"] * case["core_ns"])
    host = ArrayHost(UartLink(line, config, max_polls=MAX_POLLS))
    checks = await host.run_layers(layers, np.asarray(case["inputs"], dtype=np.int64), config, case["boots_with"])
    report = {"layers": [{"name": check.name, "outputs": int(check.outputs.size), "cycles": check.cycles,
                          "expected_cycles": check.expected_cycles, "problems": check.problems, "booted": check.booted}
                         for check in checks],
              "clock_cycles": int(get_sim_time(unit="ns") / case["core_ns"])}
    Path(os.environ["EIE_GATE_RESULTS"]).write_text(json.dumps(report, indent=1))
    assert all(not check.problems for check in checks), [check.problems for check in checks]

"""A UART (8 data bits, no parity, one stop bit, least significant bit first) at ``divisor`` clocks per bit."""

from __future__ import annotations

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def _check(divisor: int) -> None:
    if divisor < 4:
        raise ValueError(f"a UART needs at least 4 clocks per bit, got {divisor}")


class UARTReceiver(wiring.Component):
    """Samples ``rx`` (synchronised) in the middle of each bit; a frame whose stop bit is 1 yields one byte.

    ``data`` has no back-pressure: its consumer must take a byte in the cycle it is valid.
    """

    def __init__(self, divisor: int) -> None:
        _check(divisor)
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "data": Out(stream.Signature(8, always_ready=True))})

    def elaborate(self, platform) -> Module:
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(self.divisor))
        bits = Signal(range(9))
        shift = Signal(8)
        m.d.sync += self.data.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):  # the middle of the start bit: still low, or it was a glitch
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(line):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), bits.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), shift.eq(Cat(shift[1:], line)), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [self.data.payload.eq(shift), self.data.valid.eq(line)]
                    m.next = "IDLE"
        return m


class UARTTransmitter(wiring.Component):
    """Sends each byte offered on ``data`` as one frame; ``tx`` comes straight from a register."""

    def __init__(self, divisor: int) -> None:
        _check(divisor)
        self.divisor = divisor
        super().__init__({"tx": Out(1, init=1), "data": In(stream.Signature(8))})

    def elaborate(self, platform) -> Module:
        m = Module()
        frame = Signal(10, init=(1 << 10) - 1)  # stop, data, start: shifted out from bit 0
        remaining = Signal(range(11))
        timer = Signal(range(self.divisor))
        m.d.comb += [self.tx.eq(frame[0]), self.data.ready.eq(remaining == 0)]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [frame.eq(Cat(Const(0, 1), self.data.payload, Const(1, 1))), remaining.eq(10),
                         timer.eq(self.divisor - 1)]
        with m.Elif(remaining != 0):
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [frame.eq(Cat(frame[1:], Const(1, 1))), remaining.eq(remaining - 1),
                             timer.eq(self.divisor - 1)]
        return m

"""A PE's activation queue: a FIFO whose storage is written by every arrival.

An arrival is written at the free slot after the queued entries whether or not it stays: when the
column control takes it at once, the write pointer does not advance and the slot stays free. The
storage's write enable then comes from the arrival alone, not from the decision to take it, which
on an FPGA is a slow path into every LUT RAM cell of the queue. ``take`` removes the head. The
credit rule (accel/arch/TIMING.md, Broadcast) keeps arrivals from a full queue. ``nonempty`` is a
register of its own (set from the next level), so the decision to take, which depends on it, starts
at flip-flops.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


class ActivationQueue(wiring.Component):
    """``depth`` entries of ``width`` bits, first in first out, the head read without a clock."""

    def __init__(self, width: int, depth: int) -> None:
        self.width, self.depth = width, depth
        super().__init__({
            # ``arrive`` writes ``data``; it stays in the queue with ``keep``.
            "arrive": In(1), "keep": In(1), "data": In(width),
            # ``take`` removes ``head`` (valid with ``nonempty``).
            "take": In(1), "head": Out(width), "nonempty": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.storage = storage = Memory(shape=self.width, depth=self.depth, init=[])
        write, read = storage.write_port(), storage.read_port(domain="comb")
        produce, consume = Signal(range(self.depth)), Signal(range(self.depth))
        level, next_level = Signal(range(self.depth + 1)), Signal(range(self.depth + 1))
        room = level != self.depth
        stays, leaves = self.arrive & self.keep & room, self.take & self.nonempty
        # A full queue is never written (the credit rule keeps arrivals from it): the head stays.
        m.d.comb += [write.en.eq(self.arrive & room), write.addr.eq(produce), write.data.eq(self.data),
                     read.addr.eq(consume), self.head.eq(read.data), next_level.eq(level + stays - leaves)]
        with m.If(stays):
            m.d.sync += produce.eq(self._following(produce))
        with m.If(leaves):
            m.d.sync += consume.eq(self._following(consume))
        m.d.sync += [level.eq(next_level), self.nonempty.eq(next_level != 0)]
        return m

    def _following(self, pointer):
        """The slot after ``pointer``, wrapping at ``depth``."""
        return Mux(pointer == self.depth - 1, 0, pointer + 1)

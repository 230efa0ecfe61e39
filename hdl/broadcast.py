"""The broadcast unit: non-zero input activations, compacted into a queue, broadcast in column order.

While the input vector is written (I/O mode), every non-zero value is appended to the queue with
its column index: this is the leading non-zero detection, done at load time. In compute mode the
queue is sent out as a stream, one ``(col, act)`` per cycle; the array ties ``ready`` to "every
PE's FIFO holds fewer than ``fifo_depth`` entries" (accel/arch/TIMING.md, Broadcast).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from hdl.sizes import RTLSizes


def broadcast_layout(config: ArchConfig) -> data.StructLayout:
    """One broadcast: input column index and its (non-zero) activation."""
    return data.StructLayout({"col": unsigned(RTLSizes(config).col_bits), "act": signed(config.act_bits)})


class BroadcastUnit(wiring.Component):
    """Queue of non-zero activations (written in I/O mode) and their broadcast (compute mode)."""

    def __init__(self, config: ArchConfig) -> None:
        self.config = config
        sizes = RTLSizes(config)
        super().__init__({
            # I/O mode: ``clear`` empties the queue; ``write`` offers input ``index`` = ``value``.
            "clear": In(1), "write": In(1), "index": In(sizes.col_bits), "value": In(signed(config.act_bits)),
            "nonzeros": Out(range(sizes.max_cols + 1)),
            # Compute mode: ``restart`` rewinds to the first queued activation, ``run`` enables sending.
            "restart": In(1), "run": In(1), "pending": Out(1),
            "broadcast": Out(stream.Signature(broadcast_layout(config))),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.queue = queue = Memory(shape=broadcast_layout(self.config), depth=RTLSizes(self.config).max_cols,
                                            init=[])
        queue_w, queue_r = queue.write_port(), queue.read_port()

        m.d.comb += [queue_w.addr.eq(self.nonzeros), queue_w.data.col.eq(self.index), queue_w.data.act.eq(self.value),
                     queue_w.en.eq(self.write & (self.value != 0))]
        with m.If(self.clear):
            m.d.sync += self.nonzeros.eq(0)
        with m.Elif(queue_w.en):
            m.d.sync += self.nonzeros.eq(self.nonzeros + 1)

        # The head of the queue sits in the read port's register: read the next one on every transfer.
        sent = Signal.like(self.nonzeros)
        sent_next = Mux(self.restart, 0, sent + (self.broadcast.valid & self.broadcast.ready))
        m.d.sync += sent.eq(sent_next)
        m.d.comb += [queue_r.addr.eq(sent_next), queue_r.en.eq(1),
                     self.pending.eq(sent != self.nonzeros),
                     self.broadcast.valid.eq(self.run & self.pending), self.broadcast.payload.eq(queue_r.data)]
        return m

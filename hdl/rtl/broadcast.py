"""The broadcast unit: non-zero input activations, compacted into a queue, broadcast in column order.

While the input vector is written (I/O mode), every non-zero value is appended to the queue with
its column index: this is the leading non-zero detection, done at load time. In compute mode the
queue is sent out as a stream, one ``(col, act)`` per cycle, through ``broadcast_latency`` register
stages to the PEs (a tree of copies, ``fan_out``); ``ready`` is the credit rule of
accel/arch/TIMING.md, Broadcast (``CreditGate``), fed by the PEs' fill levels through as many
register levels: an OR tree (``or_tree``), its last register level in the gate.
"""

from __future__ import annotations

import math
import operator
from functools import reduce

from amaranth import C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.hdl.protocol.sizes import RTLSizes


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

        # The head of the queue (entry ``sent``) sits in a register of its own, and the block RAM's read
        # port holds the entry after it (``after`` = ``sent + 1``): a transfer moves that one into the head
        # and reads the next. The block RAM's slow output so feeds one register, beside it, and the head
        # register drives the broadcast. The first entry is kept from its write, for every restart.
        # ``sent``, ``after`` and ``pending`` are registers, each next value computed for both outcomes
        # from registers alone: a transfer only chooses between them.
        sent, after = Signal.like(self.nonzeros), Signal.like(self.nonzeros)
        head, first = Signal.like(queue_r.data), Signal.like(queue_r.data)
        transfer = self.broadcast.valid & self.broadcast.ready
        after_next = Signal.like(self.nonzeros)
        m.d.comb += after_next.eq(Mux(self.restart, 1, Mux(transfer, after + 1, after)))
        m.d.sync += [sent.eq(Mux(self.restart, 0, Mux(transfer, after, sent))), after.eq(after_next),
                     head.eq(Mux(self.restart, first, Mux(transfer, queue_r.data, head))),
                     self.pending.eq(Mux(self.restart, self.nonzeros != 0,
                                         Mux(transfer, after != self.nonzeros, sent != self.nonzeros)))]
        with m.If(queue_w.en & (self.nonzeros == 0)):
            m.d.sync += first.eq(queue_w.data)
        m.d.comb += [queue_r.addr.eq(after_next), queue_r.en.eq(1),
                     self.broadcast.valid.eq(self.run & self.pending), self.broadcast.payload.eq(head)]
        return m


class CreditGate(wiring.Component):
    """The credit rule (accel/arch/TIMING.md, Broadcast) as the central unit applies it.

    ``full_seen[w]`` says that some PE held ``fifo_depth - w`` or more activations ``L =
    broadcast_latency`` cycles ago (the PEs' fill flags, ``L`` register levels away); ``sent``
    counts the broadcasts of the last ``2 L`` cycles, which that view cannot include yet. The
    next activation may go (``ready``) unless ``full_seen[sent]``: no queue can overflow.

    The gate takes the flags one register level early (``full_seen_early``; for ``L = 0`` the
    flags themselves) and makes the last level itself: a register for each outcome of the current
    cycle's broadcast, so that ``ready`` is one choice between two registers.
    """

    def __init__(self, config: ArchConfig) -> None:
        self.latency = config.broadcast_latency
        super().__init__({"full_seen_early": In(2 * self.latency + 1), "sent": In(1), "ready": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        early = self.full_seen_early
        if not self.latency:
            m.d.comb += self.ready.eq(~early[0])
            return m
        history = Signal(2 * self.latency)  # broadcasts of the last 2 L cycles, newest first
        m.d.sync += history.eq(Cat(self.sent, history[:-1]))
        # Next cycle's count is this cycle's broadcast plus the older ones still in the window.
        older = sum(history[i] for i in range(len(history) - 1))
        if_sent, if_idle = Signal(), Signal()
        m.d.sync += [if_sent.eq(~early.bit_select(older + 1, 1)), if_idle.eq(~early.bit_select(older, 1))]
        m.d.comb += self.ready.eq(Mux(history[0], if_sent, if_idle))
        return m


def fill_flags(queued, config: ArchConfig):
    """A PE's fill flags for the credit rule: bit ``w`` = ``queued >= fifo_depth - w``."""
    return Cat(queued >= config.fifo_depth - w if config.fifo_depth > w else C(1, 1)
               for w in range(2 * config.broadcast_latency + 1))


def delay_stages(m: Module, value, stages: int, name: str) -> list:
    """``value`` and then each of ``stages`` registers in a row it passes through."""
    chain = [value]
    for stage in range(stages):
        register = Signal.like(chain[-1], name=f"{name}{stage}")
        m.d.sync += register.eq(chain[-1])
        chain.append(register)
    return chain


def or_tree(m: Module, vectors: list, levels: int, name: str):
    """Bitwise OR of equal-width ``vectors`` through an OR tree of ``levels`` levels (one for ``levels``
    0), each but the last ending in registers: the caller registers the last level's output."""
    group = 1
    while group ** max(levels, 1) < len(vectors):
        group += 1
    for level in range(levels - 1):
        ors = []
        for first in range(0, len(vectors), group):
            register = Signal(len(vectors[0]), name=f"{name}{level}_{first // group}")
            m.d.sync += register.eq(reduce(operator.or_, vectors[first:first + group]))
            ors.append(register)
        vectors = ors
    return reduce(operator.or_, vectors)


def _tree(count: int, levels: int, root: bool) -> list[int]:
    """Copies at each of ``levels`` register levels of a fan-out tree to ``count`` consumers (``fan_out``)."""
    spread = levels - int(root and levels >= 2)
    powers = [(level - levels + spread) / (spread + 1) for level in range(1, levels + 1)]
    return [1 if power <= 0 else min(count, math.ceil(count ** power - 1e-9)) for power in powers]


def fan_out(m: Module, value, count: int, levels: int, name: str, root: bool = False) -> list:
    """``value`` for each of ``count`` consumers after ``levels`` register levels arranged as a tree, so
    that no register drives every consumer across the chip: level ``k`` holds about
    ``count ** (k / (levels + 1))`` copies (a square root of ``count`` for one level), each feeding a
    run of consecutive consumers (floorplanned side by side). With ``root`` and two levels or more the
    first level is one register, beside a slow source (a block RAM's output) that should drive one
    register only. Each copy is a ``Repeater`` module of its own."""
    sources = [value]
    for level, copies in enumerate(_tree(count, levels, root), start=1):
        outputs = []
        for index in range(copies):
            m.submodules[f"{name}{level}_{index}"] = repeater = Repeater(len(value))
            m.d.comb += repeater.i.eq(sources[index * len(sources) // copies])
            outputs.append(repeater.o)
        sources = outputs
    return [sources[index * len(sources) // count] for index in range(count)]


def fan_out_interface(m: Module, source: wiring.PureInterface, sinks: list, levels: int, name: str) -> None:
    """``source`` (an interface whose members all flow out) to every interface of ``sinks`` through the
    register tree of ``fan_out``, each copy an ``InterfaceRepeater``, every hop joined with ``connect``."""
    sources = [source]
    for level, copies in enumerate(_tree(len(sinks), levels, False), start=1):
        repeaters = [InterfaceRepeater(source.signature) for _ in range(copies)]
        for index, repeater in enumerate(repeaters):
            m.submodules[f"{name}{level}_{index}"] = repeater
        for index, driver in enumerate(sources):
            driven = [r.i for position, r in enumerate(repeaters) if position * len(sources) // copies == index]
            wiring.connect(m, driver, *driven)
        sources = [repeater.o for repeater in repeaters]
    for index, driver in enumerate(sources):
        wiring.connect(m, driver, *[sink for position, sink in enumerate(sinks)
                                    if position * len(sources) // len(sinks) == index])


class Repeater(wiring.Component):
    """One register stage of a fan-out tree (``fan_out``). Each copy is a module of its own, so synthesis
    keeps the copies apart (one register driving every PE spans the chip)."""

    def __init__(self, width: int) -> None:
        super().__init__({"i": In(width), "o": Out(width)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.sync += self.o.eq(self.i)
        return m


class InterfaceRepeater(wiring.Component):
    """A ``Repeater`` of a whole interface: every member of ``signature`` (all flowing out) registered once."""

    def __init__(self, signature: wiring.Signature) -> None:
        super().__init__({"i": In(signature), "o": Out(signature)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.sync += [out.eq(into) for (_, _, out), (_, _, into) in zip(self.o.signature.flatten(self.o),
                                                                      self.i.signature.flatten(self.i))]
        return m

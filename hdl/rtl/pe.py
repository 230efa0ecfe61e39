"""One EIE processing element, cycle-exact to accel/arch/TIMING.md.

Pointer stage: an activation pushed in cycle ``t`` reads ``p_j`` and ``p_(j+1)`` from the even/odd
pointer banks in ``t`` (one memory, the odd bank above the even one, read through two ports: one
true dual-port block RAM on an FPGA); the block RAMs' outputs are registered in ``t+1``; in ``t+2`` their difference
gives the column's length, which enters the queue (a FIFO of start, length and flags) with the
activation, or may be popped at once. With ``length_register`` (or ``empty_column_cycles = 0``) the
stage registers the length once more (popped from ``t+3``); with ``empty_column_cycles = 0`` it drops
empty columns in ``t+3``. Column control: a pop in cycle ``t`` loads the column's start
and length into registers; the column occupies cycles ``t+1 .. t+cost``, issuing one entry per
cycle, and the next pop may happen on its last cycle. ``last`` is a register, so a pop depends
on registers only.

Pipeline of an entry issued in cycle ``s`` (stage S0):

* S0 (s):   the sparse-matrix line holding the entry is read, unless it is the line read last
  (the line buffer is the memory's read register, which keeps its word while not enabled).
* S1 (s+1): the line (the memory's slow output) is registered, with nothing in between.
* S2 (s+2): the entry is picked out of the registered line and registered.
* S3 (s+3) .. S6 (s+6): the arithmetic unit (``accel.hdl.rtl.arithmetic``): codebook lookup into a register,
  multiplier, and the accumulator write at the end of ``s+6``; the write-back reads it two cycles
  ahead of its output write, so ``pipeline_latency`` >= 8 (``MIN_PIPELINE_LATENCY``). From
  ``pipeline_latency`` 9 on, a product register moves the write to the end of ``s+7``, and from
  10 on a register before the write moves it to the end of ``s+8``.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.arch.counters import RTL_PER_PE
from accel.hdl.protocol.contents import PEContents
from accel.hdl.protocol.ports import LoadSignature, LoadTarget, ReadoutSignature, WritebackSignature
from accel.hdl.protocol.sizes import RTLSizes
from accel.hdl.rtl.arithmetic import MIN_PIPELINE_LATENCY, NO_COLLISIONS, ArithmeticUnit
from accel.hdl.rtl.broadcast import broadcast_layout, delay_stages, fill_flags
from accel.hdl.rtl.queue import ActivationQueue

__all__ = ["MIN_PIPELINE_LATENCY", "ProcessingElement", "queue_entry_layout"]


def queue_entry_layout(config: ArchConfig) -> data.StructLayout:
    """A queued column: its activation, first entry address, length - 1 (entries after the first) and
    two flags of the length (at most one entry; none)."""
    return data.StructLayout({"act": signed(config.act_bits), "start": unsigned(config.ptr_bits),
                              "last_index": unsigned(config.ptr_bits), "single": 1, "empty": 1})


class ProcessingElement(wiring.Component):
    """A PE: activation FIFO, pointer banks, column control, sparse-matrix SRAM and arithmetic unit."""

    def __init__(self, config: ArchConfig, dsp: str | None = None, contents: PEContents | None = None,
                 input_stage: bool = False, counters: bool = True) -> None:
        self.config = config
        self.dsp = dsp
        self.counters = counters
        """The activity counters are built (without them their ports stay 0)."""
        self.input_stage = input_stage
        """The broadcast's last register stage is in the PE (each PE its own copy)."""
        self.contents = contents
        """What the memories hold at configuration (None: zeros; the host loads them)."""
        self.sizes = RTLSizes(config)
        super().__init__({
            # Broadcast from the central unit: always taken (the credit rule keeps every queue from overflowing).
            "push": In(stream.Signature(broadcast_layout(config), always_ready=True)),
            "fill": Out(2 * config.broadcast_latency + 1), "drained": Out(1),
            # Control: ``start`` begins a batch (clears the line buffer and counters); it comes with the
            # broadcast (through the input stage too), so before any activation of its batch.
            "start": In(1),
            # Load (I/O mode), write-back and read-out of outputs (``accel.hdl.protocol.ports``), and activity counters.
            "load": In(LoadSignature(config)), "writeback": In(WritebackSignature(config)),
            "readout": In(ReadoutSignature(config)),
            **{counter.value: Out(32) for counter in RTL_PER_PE},
        })

    def elaborate(self, platform) -> Module:
        config, sizes = self.config, self.sizes
        m = Module()
        per_line = config.entries_per_line

        layout = queue_entry_layout(config)
        m.submodules.fifo = fifo = ActivationQueue(layout.size, config.fifo_depth)
        contents = self.contents
        # Loads happen in I/O mode and reads in compute mode, so no read meets a write to its word.
        # Both pointer banks in one memory (the odd bank above the even one) with two read ports, one per
        # bank; loads write through the even bank's port (a true dual-port block RAM).
        bank = sizes.ptr_bank_depth
        ptr_init = [*contents.ptr_even, *[0] * (bank - len(contents.ptr_even)), *contents.ptr_odd] if contents else []
        m.submodules.pointers = pointers = Memory(shape=unsigned(config.ptr_bits), depth=2 * bank, init=ptr_init,
                                                  attrs=NO_COLLISIONS)
        m.submodules.spmat = spmat = Memory(shape=unsigned(config.line_bits), depth=sizes.spmat_lines,
                                            init=contents.spmat if contents else [], attrs=NO_COLLISIONS)
        m.submodules.arithmetic = arithmetic = ArithmeticUnit(config, self.dsp, contents.acc if contents else (),
                                                              contents.codebook if contents else ())

        ptr_w, even_r, odd_r = pointers.write_port(), pointers.read_port(), pointers.read_port()
        spmat_w, spmat_r = spmat.write_port(), spmat.read_port()

        # Load mode.
        # The load port and the read-out address pass a register here (I/O mode: late is harmless), so
        # the array's copies reach each PE through a register and the memories' inputs start at flip-flops.
        load = LoadSignature(config).create()
        m.d.sync += [getattr(load, name).eq(getattr(self.load, name)) for name in ("en", "target", "addr", "data")]
        m.d.sync += arithmetic.readout.addr.eq(self.readout.addr)
        m.d.comb += self.readout.data.eq(arithmetic.readout.data)
        loads_odd = load.target == LoadTarget.PTR_ODD
        m.d.comb += [spmat_w.addr.eq(load.addr), spmat_w.data.eq(load.data),
                     spmat_w.en.eq(load.en & (load.target == LoadTarget.SPMAT)),
                     ptr_w.addr.eq(even_r.addr), ptr_w.data.eq(load.data),
                     ptr_w.en.eq(load.en & ((load.target == LoadTarget.PTR_EVEN) | loads_odd))]
        wiring.connect(m, load, arithmetic.load)

        # Pointer stage: the pointers are read as the activation is pushed.
        read_valid, read_odd = Signal(), Signal()
        read_act = Signal(signed(config.act_bits))
        push, push_col, push_act, start = self.push.valid, self.push.payload.col, self.push.payload.act, self.start
        if self.input_stage:
            push, push_col, push_act, start = (delay_stages(m, value, 1, f"{name}_in")[-1] for value, name in
                                               ((push, "push"), (push_col, "push_col"), (push_act, "push_act"), (start, "start")))
        m.d.comb += [even_r.addr.eq(Mux(load.en, Mux(loads_odd, bank + load.addr, load.addr), (push_col + 1) >> 1)),
                     odd_r.addr.eq(bank + (push_col >> 1)), even_r.en.eq(push), odd_r.en.eq(push)]
        m.d.sync += [read_valid.eq(push), read_odd.eq(push_col[0]), read_act.eq(push_act)]
        # The block RAMs' slow outputs go straight into registers (which bank holds the start is only
        # chosen after them); the length is computed from the registers, for both orders at once.
        ptr_valid, ptr_odd_col = Signal(), Signal()
        even_q, odd_q = Signal(config.ptr_bits), Signal(config.ptr_bits)
        ptr_act = Signal(signed(config.act_bits))
        m.d.sync += [ptr_valid.eq(read_valid), ptr_act.eq(read_act), ptr_odd_col.eq(read_odd),
                     even_q.eq(even_r.data), odd_q.eq(odd_r.data)]
        read = Signal(layout)
        # length - 1 = stop + ~start, in one carry chain per order; the choice comes after the chains.
        even_last, odd_last = Signal(config.ptr_bits), Signal(config.ptr_bits)
        empty = even_q == odd_q
        m.d.comb += [even_last.eq(odd_q + ~even_q), odd_last.eq(even_q + ~odd_q),
                     read.act.eq(ptr_act), read.start.eq(Mux(ptr_odd_col, odd_q, even_q)),
                     read.last_index.eq(Mux(ptr_odd_col, odd_last, even_last)), read.empty.eq(empty),
                     read.single.eq(empty | Mux(ptr_odd_col, odd_last == 0, even_last == 0))]
        # The entry that may be popped straight from the stage, or else enters the FIFO.
        staged_valid, staged = Signal(), Signal(layout)
        drop = Signal()
        if not config.length_registered:
            m.d.comb += [staged_valid.eq(ptr_valid), staged.eq(read)]
        else:
            m.d.sync += [staged_valid.eq(ptr_valid), staged.eq(read)]
            if not config.empty_column_cycles:
                m.d.comb += drop.eq(staged_valid & staged.empty)

        # Column control: every register of the current column is loaded at the pop.
        occupied, issue, last, first = Signal(), Signal(), Signal(init=1), Signal()
        address, left = Signal(config.ptr_bits), Signal(config.ptr_bits)
        column_act = Signal(signed(config.act_bits))
        head = layout(fifo.head)
        pop = Signal()
        from_stage = ~fifo.nonempty
        popped = Signal(layout)
        m.d.comb += [pop.eq(last & (fifo.nonempty | (staged_valid & ~drop))), fifo.take.eq(pop),
                     popped.eq(Mux(from_stage, staged, head)),
                     fifo.arrive.eq(staged_valid & ~drop), fifo.keep.eq(~(pop & from_stage)), fifo.data.eq(staged)]
        with m.If(pop):
            m.d.sync += [occupied.eq(1), issue.eq(~popped.empty), last.eq(popped.single), first.eq(1),
                         address.eq(popped.start), left.eq(popped.last_index), column_act.eq(popped.act)]
        with m.Elif(occupied & ~last):
            m.d.sync += [issue.eq(1), last.eq(left == 1), first.eq(0), address.eq(address + 1), left.eq(left - 1)]
        with m.Else():
            m.d.sync += [occupied.eq(0), issue.eq(0), last.eq(1), first.eq(0)]

        # Queue occupancy (pointer stage and FIFO): the broadcast's flow control.
        queued = Signal(range(config.fifo_depth + 1))
        m.d.sync += queued.eq(queued + push - pop - drop)
        m.d.comb += [self.fill.eq(fill_flags(queued, config)), self.drained.eq(~occupied & (queued == 0))]
        issue_address = address

        # Line buffer: read only when the line changes.
        line = issue_address // per_line
        line_valid = Signal()
        line_held = Signal(config.ptr_bits)
        read_line = Signal()
        m.d.comb += [read_line.eq(issue & (~line_valid | (line_held != line))), spmat_r.addr.eq(line), spmat_r.en.eq(read_line)]
        with m.If(read_line):
            m.d.sync += [line_valid.eq(1), line_held.eq(line), self.spmat_line_reads.eq(self.spmat_line_reads + 1)]

        # S1: the line is registered. S2: the issued entry is picked out of it and registered. S3: it
        # enters the arithmetic unit (codebook lookup into the weight register).
        s1_valid, s1_first, s1_slot = Signal(), Signal(), Signal(range(per_line))
        s1_act = Signal(signed(config.act_bits))
        s2_valid, s2_first, s2_slot = Signal(), Signal(), Signal(range(per_line))
        s2_act, s2_line = Signal(signed(config.act_bits)), Signal(config.line_bits)
        m.d.sync += [s1_valid.eq(issue), s1_first.eq(first), s1_slot.eq(issue_address % per_line), s1_act.eq(column_act),
                     s2_valid.eq(s1_valid), s2_first.eq(s1_first), s2_slot.eq(s1_slot), s2_act.eq(s1_act),
                     s2_line.eq(spmat_r.data),
                     arithmetic.valid.eq(s2_valid), arithmetic.first.eq(s2_first), arithmetic.act.eq(s2_act),
                     arithmetic.entry.eq(s2_line.word_select(s2_slot, config.entry_bits))]
        # The write-back controls come from the central control unit, two cycles ahead: each PE
        # registers its own copy.
        m.d.sync += [arithmetic.writeback.read.eq(self.writeback.read), arithmetic.writeback.addr.eq(self.writeback.addr),
                     arithmetic.writeback.relu.eq(self.writeback.relu)]
        m.d.comb += arithmetic.clear.eq(start)
        if self.counters:  # otherwise the arithmetic unit's counter, a module of its own, is not kept
            m.d.comb += self.bypasses.eq(arithmetic.bypasses)

        with m.If(occupied):
            m.d.sync += self.busy.eq(self.busy + 1)
        m.d.sync += [self.fifo_pops.eq(self.fifo_pops + pop + drop), self.ptr_reads.eq(self.ptr_reads + push)]
        with m.If(start):
            m.d.sync += [line_valid.eq(0), occupied.eq(0), issue.eq(0), last.eq(1), first.eq(0),
                         self.spmat_line_reads.eq(0), self.busy.eq(0), self.fifo_pops.eq(0), self.ptr_reads.eq(0)]
        return m

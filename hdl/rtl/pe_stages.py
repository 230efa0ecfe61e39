"""The stages of a PE before its arithmetic unit, as accel/arch/TIMING.md writes them (``accel.hdl.rtl.pe``).

* ``pointer_stage``: an activation pushed in cycle ``t`` reads ``p_j`` and ``p_(j+1)`` in ``t``, the block
  RAM's outputs are registered in ``t+1`` and the column's start and length computed in ``t+2`` (registered
  once more with ``length_registered``); the column leaves as an always-ready stream.
* ``column_control``: the activation queue and the current column; a pop loads every column register, and
  the column issues one entry address per cycle, an always-ready stream.
* ``entry_fetch``: S0 reads the sparse-matrix line unless it is the line read last (the line buffer), S1
  registers it, S2 picks the entry out of it: the arithmetic unit's input, from registers.

Each stage is built into the PE's own module, not a module of its own: under synthesis that keeps the
hierarchy (yosys ``-noflatten``), a module boundary between stages keeps logic on its two sides from
sharing LUTs (split into modules, an 8-PE ECP5 array took 17 LUT4s, 11 PFUMXs and 6 L6MUX21s more per PE).
Each stage returns its outputs; ``start`` (a batch begins) clears its state and its activity counter.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory

from accel.arch.config import ArchConfig
from accel.hdl.protocol.contents import PEContents
from accel.hdl.protocol.ports import LoadTarget
from accel.hdl.protocol.sizes import RTLSizes
from accel.hdl.rtl.arithmetic import NO_COLLISIONS
from accel.hdl.rtl.broadcast import fill_flags
from accel.hdl.rtl.queue import ActivationQueue


def queue_entry_layout(config: ArchConfig) -> data.StructLayout:
    """A queued column: its activation, first entry address, length - 1 (entries after the first) and
    two flags of the length (at most one entry; none)."""
    return data.StructLayout({"act": signed(config.act_bits), "start": unsigned(config.ptr_bits),
                              "last_index": unsigned(config.ptr_bits), "single": 1, "empty": 1})


def issue_layout(config: ArchConfig) -> data.StructLayout:
    """An issued entry: its sparse-matrix address, whether it is its column's first, the column's activation."""
    return data.StructLayout({"address": unsigned(config.ptr_bits), "first": 1, "act": signed(config.act_bits)})


@dataclass
class Columns:
    """What the pointer stage gives the column control."""

    column: wiring.PureInterface
    """Columns that enter the queue (always ready: the credit rule keeps the queue from overflowing)."""
    drop: Value
    """An empty column dropped (``empty_column_cycles`` 0)."""
    reads: Signal
    """Pointer reads of the batch (a push reads both banks)."""


@dataclass
class Issue:
    """What the column control gives the entry fetch and the broadcast."""

    issue: wiring.PureInterface
    """One entry per cycle of the current column (always ready)."""
    fill: Value
    """Fill flags for the credit rule (``accel.hdl.rtl.broadcast.fill_flags``)."""
    drained: Value
    """No column current or queued."""
    busy: Signal
    """Cycles a column occupied the PE in the batch."""
    pops: Signal
    """Columns popped or dropped in the batch."""


@dataclass
class Entries:
    """What the entry fetch gives the arithmetic unit, every field a register."""

    valid: Signal
    first: Signal
    act: Signal
    entry: Value
    line_reads: Signal
    """Sparse-matrix line reads of the batch."""


def pointer_stage(m: Module, config: ArchConfig, contents: PEContents | None, push, col, act, load,
                  start) -> Columns:
    """Both pointer banks in one memory (the odd bank above the even one) read through two ports, one per
    bank (a true dual-port block RAM); loads write through the even bank's port."""
    bank = RTLSizes(config).ptr_bank_depth
    ptr_init = [*contents.ptr_even, *[0] * (bank - len(contents.ptr_even)), *contents.ptr_odd] if contents else []
    m.submodules.pointers = pointers = Memory(shape=unsigned(config.ptr_bits), depth=2 * bank, init=ptr_init,
                                              attrs=NO_COLLISIONS)
    ptr_w, even_r, odd_r = pointers.write_port(), pointers.read_port(), pointers.read_port()
    # Loads happen in I/O mode and reads in compute mode, so no read meets a write to its word.
    loads_odd = load.target == LoadTarget.PTR_ODD
    m.d.comb += [ptr_w.addr.eq(even_r.addr), ptr_w.data.eq(load.data),
                 ptr_w.en.eq(load.en & ((load.target == LoadTarget.PTR_EVEN) | loads_odd))]

    # The pointers are read as the activation is pushed.
    read_valid, read_odd = Signal(), Signal()
    read_act = Signal(signed(config.act_bits))
    m.d.comb += [even_r.addr.eq(Mux(load.en, Mux(loads_odd, bank + load.addr, load.addr), (col + 1) >> 1)),
                 odd_r.addr.eq(bank + (col >> 1)), even_r.en.eq(push), odd_r.en.eq(push)]
    m.d.sync += [read_valid.eq(push), read_odd.eq(col[0]), read_act.eq(act)]
    # The block RAMs' slow outputs go straight into registers (which bank holds the start is only
    # chosen after them); the length is computed from the registers, for both orders at once.
    ptr_valid, ptr_odd_col = Signal(), Signal()
    even_q, odd_q = Signal(config.ptr_bits), Signal(config.ptr_bits)
    ptr_act = Signal(signed(config.act_bits))
    m.d.sync += [ptr_valid.eq(read_valid), ptr_act.eq(read_act), ptr_odd_col.eq(read_odd),
                 even_q.eq(even_r.data), odd_q.eq(odd_r.data)]
    layout = queue_entry_layout(config)
    read = Signal(layout)
    # length - 1 = stop + ~start, in one carry chain per order; the choice comes after the chains.
    even_last, odd_last = Signal(config.ptr_bits), Signal(config.ptr_bits)
    empty = even_q == odd_q
    m.d.comb += [even_last.eq(odd_q + ~even_q), odd_last.eq(even_q + ~odd_q),
                 read.act.eq(ptr_act), read.start.eq(Mux(ptr_odd_col, odd_q, even_q)),
                 read.last_index.eq(Mux(ptr_odd_col, odd_last, even_last)), read.empty.eq(empty),
                 read.single.eq(empty | Mux(ptr_odd_col, odd_last == 0, even_last == 0))]
    # The column leaves straight from the length's logic, or from one more register.
    staged_valid, staged = Signal(), Signal(layout)
    drop = Signal()
    if not config.length_registered:
        m.d.comb += [staged_valid.eq(ptr_valid), staged.eq(read)]
    else:
        m.d.sync += [staged_valid.eq(ptr_valid), staged.eq(read)]
        if not config.empty_column_cycles:
            m.d.comb += drop.eq(staged_valid & staged.empty)
    column = stream.Signature(layout, always_ready=True).create(path=("column",))
    m.d.comb += [column.valid.eq(staged_valid & ~drop), column.payload.eq(staged)]

    reads = Signal(32, name="ptr_reads")
    m.d.sync += reads.eq(Mux(start, 0, reads + push))
    return Columns(column, drop, reads)


def column_control(m: Module, config: ArchConfig, columns: Columns, push, start) -> Issue:
    """The activation queue and the current column: every register of a column is loaded at its pop, and
    the column issues one entry per cycle; the next pop may come on its last cycle. ``last`` is a
    register, so a pop depends on registers only."""
    layout = queue_entry_layout(config)
    column, drop = columns.column, columns.drop
    m.submodules.fifo = fifo = ActivationQueue(layout.size, config.fifo_depth)
    occupied, issuing, last, first = Signal(name="occupied"), Signal(name="issue"), Signal(init=1), Signal()
    address, left = Signal(config.ptr_bits), Signal(config.ptr_bits)
    column_act = Signal(signed(config.act_bits))
    head = layout(fifo.head)
    pop = Signal()
    from_stage = ~fifo.nonempty
    popped = Signal(layout)
    m.d.comb += [pop.eq(last & (fifo.nonempty | column.valid)), fifo.take.eq(pop),
                 popped.eq(Mux(from_stage, column.payload, head)),
                 fifo.arrive.eq(column.valid), fifo.keep.eq(~(pop & from_stage)), fifo.data.eq(column.payload)]
    with m.If(pop):
        m.d.sync += [occupied.eq(1), issuing.eq(~popped.empty), last.eq(popped.single), first.eq(1),
                     address.eq(popped.start), left.eq(popped.last_index), column_act.eq(popped.act)]
    with m.Elif(occupied & ~last):
        m.d.sync += [issuing.eq(1), last.eq(left == 1), first.eq(0), address.eq(address + 1), left.eq(left - 1)]
    with m.Else():
        m.d.sync += [occupied.eq(0), issuing.eq(0), last.eq(1), first.eq(0)]
    issue = stream.Signature(issue_layout(config), always_ready=True).create(path=("issued",))
    m.d.comb += [issue.valid.eq(issuing), issue.payload.address.eq(address), issue.payload.first.eq(first),
                 issue.payload.act.eq(column_act)]

    # Queue occupancy (pointer stage and FIFO): the broadcast's flow control.
    queued = Signal(range(config.fifo_depth + 1))
    m.d.sync += queued.eq(queued + push - pop - drop)
    busy, pops = Signal(32, name="busy"), Signal(32, name="fifo_pops")
    with m.If(occupied):
        m.d.sync += busy.eq(busy + 1)
    m.d.sync += pops.eq(pops + pop + drop)
    with m.If(start):
        m.d.sync += [occupied.eq(0), issuing.eq(0), last.eq(1), first.eq(0), busy.eq(0), pops.eq(0)]
    return Issue(issue, fill_flags(queued, config), ~occupied & (queued == 0), busy, pops)


def entry_fetch(m: Module, config: ArchConfig, contents: PEContents | None, issue, load, start) -> Entries:
    """The sparse-matrix SRAM and its line buffer: S0 reads the line holding an issued entry unless it is
    the line read last (the memory's read register keeps its word while not enabled), S1 registers the
    line (the memory's slow output, with nothing in between), S2 picks the entry out and registers it
    with its activation and first flag."""
    per_line = config.entries_per_line
    m.submodules.spmat = spmat = Memory(shape=unsigned(config.line_bits), depth=RTLSizes(config).spmat_lines,
                                        init=contents.spmat if contents else [], attrs=NO_COLLISIONS)
    spmat_w, spmat_r = spmat.write_port(), spmat.read_port()
    m.d.comb += [spmat_w.addr.eq(load.addr), spmat_w.data.eq(load.data),
                 spmat_w.en.eq(load.en & (load.target == LoadTarget.SPMAT))]

    address = issue.payload.address
    line = address // per_line
    line_valid = Signal()
    line_held = Signal(config.ptr_bits)
    read_line = Signal()
    line_reads = Signal(32, name="spmat_line_reads")
    m.d.comb += [read_line.eq(issue.valid & (~line_valid | (line_held != line))), spmat_r.addr.eq(line),
                 spmat_r.en.eq(read_line)]
    with m.If(read_line):
        m.d.sync += [line_valid.eq(1), line_held.eq(line), line_reads.eq(line_reads + 1)]

    s1_valid, s1_first, s1_slot = Signal(), Signal(), Signal(range(per_line))
    s1_act = Signal(signed(config.act_bits))
    s2_valid, s2_first, s2_slot = Signal(), Signal(), Signal(range(per_line))
    s2_act, s2_line = Signal(signed(config.act_bits)), Signal(config.line_bits)
    entries = Entries(Signal(name="entry_valid"), Signal(name="entry_first"), Signal(signed(config.act_bits), name="entry_act"),
                      Signal(config.entry_bits, name="entry_code"), line_reads)
    m.d.sync += [s1_valid.eq(issue.valid), s1_first.eq(issue.payload.first), s1_slot.eq(address % per_line),
                 s1_act.eq(issue.payload.act),
                 s2_valid.eq(s1_valid), s2_first.eq(s1_first), s2_slot.eq(s1_slot), s2_act.eq(s1_act),
                 s2_line.eq(spmat_r.data),
                 entries.valid.eq(s2_valid), entries.first.eq(s2_first), entries.act.eq(s2_act),
                 entries.entry.eq(s2_line.word_select(s2_slot, config.entry_bits))]
    with m.If(start):
        m.d.sync += [line_valid.eq(0), line_reads.eq(0)]
    return entries

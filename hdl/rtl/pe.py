"""One EIE processing element, cycle-exact to accel/arch/TIMING.md, in the stages it writes down.

Pointer stage -> column control -> entry fetch -> arithmetic unit (``accel.hdl.rtl.pe_stages`` and
``accel.hdl.rtl.arithmetic``). Pointer stage: an activation pushed in cycle ``t`` reads ``p_j`` and
``p_(j+1)`` from the even/odd pointer banks in ``t`` (one memory, the odd bank above the even one, read
through two ports: one true dual-port block RAM on an FPGA); the block RAMs' outputs are registered in
``t+1``; in ``t+2`` their difference gives the column's length, which enters the queue (a FIFO of start,
length and flags) with the activation, or may be popped at once. With ``length_register`` (or
``empty_column_cycles = 0``) the stage registers the length once more (popped from ``t+3``); with
``empty_column_cycles = 0`` it drops empty columns in ``t+3``. Column control: a pop in cycle ``t`` loads
the column's start and length into registers; the column occupies cycles ``t+1 .. t+cost``, issuing one
entry per cycle, and the next pop may happen on its last cycle. ``last`` is a register, so a pop depends
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

from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.arch.counters import RTL_PER_PE
from accel.hdl.protocol.contents import PEContents
from accel.hdl.protocol.ports import LoadSignature, ReadoutSignature, WritebackSignature
from accel.hdl.rtl.arithmetic import MIN_PIPELINE_LATENCY, ArithmeticUnit
from accel.hdl.rtl.broadcast import broadcast_layout, delay_stages
from accel.hdl.rtl.pe_stages import column_control, entry_fetch, pointer_stage

__all__ = ["MIN_PIPELINE_LATENCY", "ProcessingElement"]


class ProcessingElement(wiring.Component):
    """A PE: pointer stage, column control (with the activation queue), entry fetch and arithmetic unit."""

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
        config, contents = self.config, self.contents
        m = Module()
        # The load port and the read-out address pass a register here (I/O mode: late is harmless), so
        # the array's copies reach each PE through a register and the memories' inputs start at flip-flops.
        load = LoadSignature(config).create()
        m.d.sync += [getattr(load, name).eq(getattr(self.load, name)) for name in ("en", "target", "addr", "data")]
        # With two or more broadcast stages the broadcast's last register is here.
        push, col, act, start = self.push.valid, self.push.payload.col, self.push.payload.act, self.start
        if self.input_stage:
            push, col, act, start = (delay_stages(m, value, 1, f"{name}_in")[-1] for value, name in
                                     ((push, "push"), (col, "push_col"), (act, "push_act"), (start, "start")))

        columns = pointer_stage(m, config, contents, push, col, act, load, start)
        issue = column_control(m, config, columns, push, start)
        entries = entry_fetch(m, config, contents, issue.issue, load, start)
        m.submodules.arithmetic = arithmetic = ArithmeticUnit(config, self.dsp, contents.acc if contents else (),
                                                              contents.codebook if contents else ())
        wiring.connect(m, load, arithmetic.load)
        m.d.comb += [self.fill.eq(issue.fill), self.drained.eq(issue.drained), arithmetic.clear.eq(start),
                     arithmetic.valid.eq(entries.valid), arithmetic.first.eq(entries.first),
                     arithmetic.act.eq(entries.act), arithmetic.entry.eq(entries.entry)]
        m.d.sync += arithmetic.readout.addr.eq(self.readout.addr)
        m.d.comb += self.readout.data.eq(arithmetic.readout.data)
        # The write-back controls come from the central control unit, two cycles ahead: each PE
        # registers its own copy.
        m.d.sync += [arithmetic.writeback.read.eq(self.writeback.read), arithmetic.writeback.addr.eq(self.writeback.addr),
                     arithmetic.writeback.relu.eq(self.writeback.relu)]
        if self.counters:  # otherwise the counters are not kept (the arithmetic unit's is a module of its own)
            m.d.comb += [self.ptr_reads.eq(columns.reads), self.fifo_pops.eq(issue.pops), self.busy.eq(issue.busy),
                         self.spmat_line_reads.eq(entries.line_reads), self.bypasses.eq(arithmetic.bypasses)]
        return m

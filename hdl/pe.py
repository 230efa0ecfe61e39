"""One EIE processing element, cycle-exact to accel/arch/TIMING.md.

Column control: a pop in cycle ``t`` reads ``p_j`` and ``p_(j+1)`` from the even/odd pointer
banks; the column then occupies cycles ``t+1 .. t+max(n, 1)``, issuing one entry per cycle, and the
next pop may happen on its last cycle.

Pipeline of an entry issued in cycle ``s`` (stage S0):

* S0 (s):   the sparse-matrix line holding the entry is read, unless it is the line read last
  (the line buffer is the memory's read register, which keeps its word while not enabled).
* S1 (s+1) .. S3 (s+3): the arithmetic unit (``hdl.arithmetic``), which writes the accumulator
  at the end of ``s+3``; it can be read back from ``s+4`` on, so ``pipeline_latency`` >= 4.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from hdl.arithmetic import ArithmeticUnit
from hdl.sizes import RTLSizes

LOAD_SPMAT, LOAD_PTR_EVEN, LOAD_PTR_ODD, LOAD_ACC, LOAD_CODEBOOK = range(5)
MIN_PIPELINE_LATENCY = 4
"""Issue (S0) to accumulator write (end of S3) plus one cycle before it can be read back."""


class ProcessingElement(wiring.Component):
    """A PE: activation FIFO, pointer banks, column control, sparse-matrix SRAM and arithmetic unit."""

    def __init__(self, config: ArchConfig) -> None:
        self.config = config
        self.sizes = sizes = RTLSizes(config)
        super().__init__({
            # Broadcast from the central unit.
            "push": In(1), "push_col": In(sizes.col_bits), "push_act": In(signed(config.act_bits)),
            "fifo_ready": Out(1), "fifo_empty": Out(1),
            # Control: ``start`` begins a batch (clears the line buffer and counters).
            "start": In(1), "occupied": Out(1),
            # Load interface (I/O mode).
            "load_en": In(1), "load_target": In(3), "load_addr": In(sizes.address_bits), "load_data": In(sizes.load_bits),
            # Write-back: read accumulator ``wb_read_addr``; write output ``wb_write_addr``.
            "wb_read": In(1), "wb_read_addr": In(sizes.row_bits),
            "wb_write": In(1), "wb_write_addr": In(sizes.row_bits), "relu": In(1),
            # Read-out of outputs and activity counters.
            "out_addr": In(sizes.row_bits), "out_data": Out(signed(config.act_bits)),
            "line_reads": Out(32), "bypasses": Out(32), "busy_cycles": Out(32),
        })

    def elaborate(self, platform) -> Module:
        config, sizes = self.config, self.sizes
        m = Module()
        per_line = config.entries_per_line

        m.submodules.fifo = fifo = SyncFIFO(width=sizes.col_bits + config.act_bits, depth=config.fifo_depth)
        m.submodules.ptr_even = ptr_even = Memory(shape=unsigned(config.ptr_bits), depth=sizes.ptr_bank_depth, init=[])
        m.submodules.ptr_odd = ptr_odd = Memory(shape=unsigned(config.ptr_bits), depth=sizes.ptr_bank_depth, init=[])
        m.submodules.spmat = spmat = Memory(shape=unsigned(config.line_bits), depth=sizes.spmat_lines, init=[])
        m.submodules.arithmetic = arithmetic = ArithmeticUnit(config)

        even_w, odd_w, spmat_w = ptr_even.write_port(), ptr_odd.write_port(), spmat.write_port()
        even_r, odd_r, spmat_r = ptr_even.read_port(), ptr_odd.read_port(), spmat.read_port()

        # Load mode.
        for port, target in ((spmat_w, LOAD_SPMAT), (even_w, LOAD_PTR_EVEN), (odd_w, LOAD_PTR_ODD)):
            m.d.comb += [port.addr.eq(self.load_addr), port.data.eq(self.load_data),
                         port.en.eq(self.load_en & (self.load_target == target))]
        m.d.comb += [arithmetic.codebook_en.eq(self.load_en & (self.load_target == LOAD_CODEBOOK)),
                     arithmetic.acc_en.eq(self.load_en & (self.load_target == LOAD_ACC)),
                     arithmetic.load_addr.eq(self.load_addr), arithmetic.load_data.eq(self.load_data)]
        # Activation FIFO.
        head_col = fifo.r_data[:sizes.col_bits]
        head_act = fifo.r_data[sizes.col_bits:].as_signed()
        m.d.comb += [fifo.w_en.eq(self.push), fifo.w_data.eq(Cat(self.push_col, self.push_act)),
                     self.fifo_ready.eq(fifo.w_rdy), self.fifo_empty.eq(~fifo.r_rdy)]

        # Column control (slot stage S0).
        first_slot = Signal()          # a pop happened in the previous cycle
        continuing = Signal()          # the current column still has entries to issue
        address = Signal(config.ptr_bits)
        end = Signal(config.ptr_bits)
        column_odd = Signal()
        column_act = Signal(signed(config.act_bits))
        span_start = Signal(config.ptr_bits)
        span_stop = Signal(config.ptr_bits)
        m.d.comb += [span_start.eq(Mux(column_odd, odd_r.data, even_r.data)), span_stop.eq(Mux(column_odd, even_r.data, odd_r.data))]

        issue = Signal()
        issue_address = Signal(config.ptr_bits)
        last = Signal()
        with m.If(first_slot):
            m.d.comb += [issue.eq(span_stop != span_start), issue_address.eq(span_start), last.eq(span_stop - span_start <= 1)]
        with m.Elif(continuing):
            m.d.comb += [issue.eq(1), issue_address.eq(address), last.eq(address + 1 == end)]
        with m.Else():
            m.d.comb += last.eq(1)
        pop = Signal()
        m.d.comb += [pop.eq(last & fifo.r_rdy), fifo.r_en.eq(pop), self.occupied.eq(first_slot | continuing),
                     even_r.addr.eq((head_col + 1) >> 1), odd_r.addr.eq(head_col >> 1),
                     even_r.en.eq(pop), odd_r.en.eq(pop)]
        m.d.sync += [first_slot.eq(pop), continuing.eq(issue & ~last), address.eq(issue_address + 1)]
        with m.If(first_slot):
            m.d.sync += end.eq(span_stop)
        with m.If(pop):
            m.d.sync += [column_odd.eq(head_col[0]), column_act.eq(head_act)]

        # Line buffer: read only when the line changes.
        line = issue_address // per_line
        line_valid = Signal()
        line_held = Signal(config.ptr_bits)
        read_line = Signal()
        m.d.comb += [read_line.eq(issue & (~line_valid | (line_held != line))), spmat_r.addr.eq(line), spmat_r.en.eq(read_line)]
        with m.If(read_line):
            m.d.sync += [line_valid.eq(1), line_held.eq(line), self.line_reads.eq(self.line_reads + 1)]

        # S1: the issued entry, taken from the line buffer, enters the arithmetic unit.
        s1_slot = Signal(range(per_line))
        m.d.sync += [arithmetic.valid.eq(issue), arithmetic.first.eq(first_slot), s1_slot.eq(issue_address % per_line),
                     arithmetic.act.eq(column_act)]
        m.d.comb += [arithmetic.entry.eq(spmat_r.data.word_select(s1_slot, config.entry_bits)),
                     arithmetic.wb_read.eq(self.wb_read), arithmetic.wb_read_addr.eq(self.wb_read_addr),
                     arithmetic.wb_write.eq(self.wb_write), arithmetic.wb_write_addr.eq(self.wb_write_addr),
                     arithmetic.relu.eq(self.relu), arithmetic.out_addr.eq(self.out_addr),
                     self.out_data.eq(arithmetic.out_data), self.bypasses.eq(arithmetic.bypasses),
                     arithmetic.clear.eq(self.start)]

        with m.If(first_slot | continuing):
            m.d.sync += self.busy_cycles.eq(self.busy_cycles + 1)
        with m.If(self.start):
            m.d.sync += [line_valid.eq(0), first_slot.eq(0), continuing.eq(0),
                         self.line_reads.eq(0), self.busy_cycles.eq(0)]
        return m

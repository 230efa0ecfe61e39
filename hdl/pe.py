"""One EIE processing element, cycle-exact to accel/TIMING.md.

Pipeline of an entry issued in cycle ``s`` (slot stage S0):

* S0 (s):   the entry's sparse-matrix line is read if it differs from the line read last.
* S1 (s+1): the entry is taken from the line; codebook lookup and row-address accumulation.
* S2 (s+2): accumulator read and multiply.
* S3 (s+3): rounding shift, saturating add (bypassing the previous entry's sum when it hit the
  same row in the cycle before) and accumulator write. The write lands at the end of ``s+3``,
  so ``pipeline_latency`` = 4 cycles from issue until the accumulator can be read back.

Column control: a pop in cycle ``t`` reads ``p_j`` and ``p_(j+1)`` from the even/odd banks; the
column then occupies cycles ``t+1 .. t+max(n, 1)`` and the next pop may happen on its last cycle.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.config import ArchConfig
from hdl.sizes import RTLSizes

LOAD_SPMAT, LOAD_PTR_EVEN, LOAD_PTR_ODD, LOAD_ACC, LOAD_CODEBOOK = range(5)
MIN_PIPELINE_LATENCY = 4
"""Issue (S0) to accumulator write (end of S3) plus one cycle before it can be read back."""


def saturate(value, bits: int):
    """Clamp a signed value to the range of a ``bits``-wide signed integer."""
    high, low = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    return Mux(value > high, high, Mux(value < low, low, value))


class ProcessingElement(wiring.Component):
    """A PE: activation FIFO, pointer banks, sparse-matrix SRAM, codebook, arithmetic, accumulators."""

    def __init__(self, config: ArchConfig) -> None:
        self.config = config
        self.sizes = sizes = RTLSizes(config)
        super().__init__({
            # Broadcast from the central unit.
            "push": In(1), "push_col": In(sizes.col_bits), "push_act": In(signed(config.act_bits)),
            "fifo_ready": Out(1), "fifo_empty": Out(1),
            # Control.
            "start": In(1), "occupied": Out(1),
            # Load interface (I/O mode).
            "load_en": In(1), "load_target": In(3), "load_addr": In(sizes.address_bits), "load_data": In(config.line_bits),
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
        m.submodules.acc = acc = Memory(shape=signed(config.acc_bits), depth=config.regfile_entries, init=[])
        m.submodules.out = out = Memory(shape=signed(config.act_bits), depth=config.regfile_entries, init=[])
        codebook = [Signal(signed(config.weight_bits), name=f"codebook{i}") for i in range(config.codebook_size)]

        even_w, odd_w, spmat_w = ptr_even.write_port(), ptr_odd.write_port(), spmat.write_port()
        acc_w, out_w = acc.write_port(), out.write_port()
        even_r, odd_r, spmat_r = ptr_even.read_port(), ptr_odd.read_port(), spmat.read_port()
        acc_r, out_r = acc.read_port(), out.read_port()

        # Load mode.
        for port, target in ((spmat_w, LOAD_SPMAT), (even_w, LOAD_PTR_EVEN), (odd_w, LOAD_PTR_ODD)):
            m.d.comb += [port.addr.eq(self.load_addr), port.data.eq(self.load_data),
                         port.en.eq(self.load_en & (self.load_target == target))]
        with m.If(self.load_en & (self.load_target == LOAD_CODEBOOK)):
            with m.Switch(self.load_addr):
                for index, entry in enumerate(codebook):
                    with m.Case(index):
                        m.d.sync += entry.eq(self.load_data[:config.weight_bits].as_signed())

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
        start = Signal(config.ptr_bits)
        stop = Signal(config.ptr_bits)
        m.d.comb += [start.eq(Mux(column_odd, odd_r.data, even_r.data)), stop.eq(Mux(column_odd, even_r.data, odd_r.data))]

        issue = Signal()
        issue_address = Signal(config.ptr_bits)
        last = Signal()
        with m.If(first_slot):
            m.d.comb += [issue.eq(stop != start), issue_address.eq(start), last.eq(stop - start <= 1)]
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
            m.d.sync += end.eq(stop)
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

        # S1: take the entry, look up the codebook, accumulate the row address.
        s1_valid, s1_first = Signal(), Signal()
        s1_slot = Signal(range(per_line))
        s1_act = Signal(signed(config.act_bits))
        m.d.sync += [s1_valid.eq(issue), s1_first.eq(first_slot), s1_slot.eq(issue_address % per_line), s1_act.eq(column_act)]
        entry = spmat_r.data.word_select(s1_slot, config.entry_bits)
        code, relative = entry[:config.code_bits], entry[config.code_bits:]
        row = Signal(range(2 * config.regfile_entries + (1 << config.index_bits) + 1))
        next_row = Signal.like(row)
        m.d.comb += next_row.eq(Mux(s1_first, 0, row + 1) + relative)
        weight = Signal(signed(config.weight_bits))
        with m.Switch(code):
            for index, value in enumerate(codebook):
                with m.Case(index):
                    m.d.comb += weight.eq(value)
        with m.If(s1_valid):
            m.d.sync += row.eq(next_row)

        # S2: accumulator read and multiply.
        s2_valid = Signal()
        s2_row = Signal(sizes.row_bits)
        s2_act = Signal(signed(config.act_bits))
        s2_weight = Signal(signed(config.weight_bits))
        m.d.sync += [s2_valid.eq(s1_valid), s2_row.eq(next_row), s2_act.eq(s1_act), s2_weight.eq(weight)]
        s3_product = Signal(signed(config.act_bits + config.weight_bits))
        s3_valid = Signal()
        s3_row = Signal(sizes.row_bits)
        m.d.sync += [s3_valid.eq(s2_valid), s3_row.eq(s2_row), s3_product.eq(s2_act * s2_weight)]
        m.d.comb += [acc_r.addr.eq(Mux(self.wb_read, self.wb_read_addr, s2_row)), acc_r.en.eq(1)]

        # S3: rounding shift, bypass, saturating add, accumulator write.
        previous_valid = Signal()
        previous_row = Signal(sizes.row_bits)
        previous_sum = Signal(signed(config.acc_bits))
        bypass = Signal()
        m.d.comb += bypass.eq(s3_valid & previous_valid & (previous_row == s3_row))
        operand = Mux(bypass, previous_sum, acc_r.data)
        rounding = (1 << (config.weight_frac - 1)) if config.weight_frac else 0
        scaled = (s3_product + rounding) >> config.weight_frac
        total = Signal(signed(config.acc_bits))
        m.d.comb += total.eq(saturate(operand + scaled, config.acc_bits))
        m.d.sync += [previous_valid.eq(s3_valid), previous_row.eq(s3_row), previous_sum.eq(total)]
        with m.If(bypass):
            m.d.sync += self.bypasses.eq(self.bypasses + 1)
        loading_acc = self.load_en & (self.load_target == LOAD_ACC)
        m.d.comb += [acc_w.en.eq(s3_valid | loading_acc),
                     acc_w.addr.eq(Mux(loading_acc, self.load_addr, s3_row)),
                     acc_w.data.eq(Mux(loading_acc, self.load_data[:config.acc_bits].as_signed(), total))]

        # Write-back: ReLU and saturation into the output register file.
        activated = Mux(self.relu & acc_r.data[-1], 0, acc_r.data)
        m.d.comb += [out_w.en.eq(self.wb_write), out_w.addr.eq(self.wb_write_addr),
                     out_w.data.eq(saturate(activated, config.act_bits)),
                     out_r.addr.eq(self.out_addr), out_r.en.eq(1), self.out_data.eq(out_r.data)]

        with m.If(first_slot | continuing):
            m.d.sync += self.busy_cycles.eq(self.busy_cycles + 1)
        with m.If(self.start):
            m.d.sync += [line_valid.eq(0), first_slot.eq(0), continuing.eq(0), previous_valid.eq(0),
                         self.line_reads.eq(0), self.bypasses.eq(0), self.busy_cycles.eq(0)]
        return m

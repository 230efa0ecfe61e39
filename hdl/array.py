"""The EIE array: central control, non-zero activation queue and broadcast, and the PEs.

I/O mode: the host writes PE memories through the load port (``load_pe`` chooses the PE,
``load_broadcast`` writes every PE, e.g. the codebook), and writes the input vector through the
activation port; non-zero activations are compacted into the broadcast queue as they arrive
(leading non-zero detection at load time). ``start`` runs one batch in compute mode: cycle 0 is
the cycle after ``start``; ``done`` rises when the batch's ``cycles`` (accel/TIMING.md) are over.
Outputs and per-PE activity counters (optional: ``counters=False`` drops their ports, e.g. for
synthesis on small packages) are then read through ``out_pe`` / ``out_addr``.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.config import ArchConfig
from accel.errors import UserError
from hdl.pe import MIN_PIPELINE_LATENCY, ProcessingElement
from hdl.sizes import RTLSizes


class EIEArray(wiring.Component):
    """``n_pes`` processing elements behind one broadcast unit and one control unit."""

    def __init__(self, config: ArchConfig, counters: bool = True) -> None:
        if config.pipeline_latency < MIN_PIPELINE_LATENCY:
            raise UserError(f"the RTL writes an accumulator {MIN_PIPELINE_LATENCY} cycles after issue; "
                            f"set pipeline_latency to {MIN_PIPELINE_LATENCY} or more (got {config.pipeline_latency})")
        self.config = config
        self.counters = counters
        self.sizes = sizes = RTLSizes(config)
        stats = {"stat_line_reads": Out(32), "stat_bypasses": Out(32), "stat_busy": Out(32)} if counters else {}
        super().__init__({
            "load_en": In(1), "load_broadcast": In(1), "load_pe": In(sizes.pe_bits), "load_target": In(3),
            "load_addr": In(sizes.address_bits), "load_data": In(config.line_bits),
            "act_clear": In(1), "act_en": In(1), "act_index": In(sizes.col_bits), "act_value": In(signed(config.act_bits)),
            "relu": In(1), "rows": In(sizes.row_bits + 1), "start": In(1),
            "busy": Out(1), "done": Out(1), "cycles": Out(32), "nonzeros": Out(sizes.col_bits + 1),
            "out_pe": In(sizes.pe_bits), "out_addr": In(sizes.row_bits), "out_data": Out(signed(config.act_bits)),
            **stats,
        })

    def elaborate(self, platform) -> Module:
        config, sizes = self.config, self.sizes
        m = Module()
        pes = [ProcessingElement(config) for _ in range(config.n_pes)]
        for index, pe in enumerate(pes):
            m.submodules[f"pe{index}"] = pe

        # Non-zero activation queue, filled in I/O mode.
        entry_width = sizes.col_bits + config.act_bits
        m.submodules.queue = queue = Memory(shape=unsigned(entry_width), depth=sizes.max_cols, init=[])
        queue_w, queue_r = queue.write_port(), queue.read_port()
        count = self.nonzeros
        m.d.comb += [queue_w.addr.eq(count), queue_w.data.eq(Cat(self.act_index, self.act_value)),
                     queue_w.en.eq(self.act_en & (self.act_value != 0))]
        with m.If(self.act_clear):
            m.d.sync += count.eq(0)
        with m.Elif(queue_w.en):
            m.d.sync += count.eq(count + 1)

        # Broadcast: one queued activation per cycle while every FIFO has room.
        sent = Signal.like(count)
        broadcast = Signal()
        computing = Signal()
        all_ready = Signal()
        m.d.comb += all_ready.eq(1)
        for pe in pes:
            all_ready_next = Signal()
            m.d.comb += all_ready_next.eq(all_ready & pe.fifo_ready)
            all_ready = all_ready_next
        m.d.comb += [broadcast.eq(computing & (sent != count) & all_ready),
                     queue_r.addr.eq(Mux(computing, sent + broadcast, 0)), queue_r.en.eq(1)]
        with m.If(broadcast):
            m.d.sync += sent.eq(sent + 1)

        # Control: compute until every PE is idle, drain the pipeline, write back, done.
        idle = Signal()
        quiet = [~pe.occupied & pe.fifo_empty for pe in pes]
        m.d.comb += idle.eq((sent == count) & _all(m, quiet))
        wait = Signal(range(config.pipeline_latency + 1))
        row = Signal(sizes.row_bits + 1)
        wb_read, wb_write = Signal(), Signal()
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [sent.eq(0), self.cycles.eq(0), self.done.eq(0)]
                    m.next = "COMPUTE"
            with m.State("COMPUTE"):
                m.d.comb += [computing.eq(1), self.busy.eq(1)]
                m.d.sync += self.cycles.eq(self.cycles + 1)
                with m.If(idle):  # this cycle is T_issue, the first of the drain
                    m.d.sync += wait.eq(1)
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += [self.cycles.eq(self.cycles + 1), wait.eq(wait + 1)]
                with m.If(wait == config.pipeline_latency - 1):
                    m.d.comb += wb_read.eq(1)  # read row 0 one cycle ahead
                    m.d.sync += row.eq(0)
                    m.next = "WRITEBACK"
            with m.State("WRITEBACK"):
                m.d.comb += [self.busy.eq(1), wb_read.eq(1), wb_write.eq(1)]
                m.d.sync += [self.cycles.eq(self.cycles + 1), row.eq(row + 1)]
                with m.If(row + 1 == self.rows):
                    m.d.sync += self.done.eq(1)
                    m.next = "IDLE"

        read_addr = Signal(sizes.row_bits)
        with m.If(wb_write):
            m.d.comb += read_addr.eq(row + 1)
        for index, pe in enumerate(pes):
            m.d.comb += [
                pe.push.eq(broadcast), pe.push_col.eq(queue_r.data[:sizes.col_bits]),
                pe.push_act.eq(queue_r.data[sizes.col_bits:].as_signed()), pe.start.eq(self.start),
                pe.load_en.eq(self.load_en & (self.load_broadcast | (self.load_pe == index))),
                pe.load_target.eq(self.load_target), pe.load_addr.eq(self.load_addr), pe.load_data.eq(self.load_data),
                pe.wb_read.eq(wb_read), pe.wb_read_addr.eq(read_addr), pe.wb_write.eq(wb_write),
                pe.wb_write_addr.eq(row), pe.relu.eq(self.relu), pe.out_addr.eq(self.out_addr),
            ]

        # Read-out: the chosen PE's output word (one cycle after out_addr) and its counters.
        selected = Signal.like(self.out_pe)
        m.d.sync += selected.eq(self.out_pe)
        with m.Switch(selected):
            for index, pe in enumerate(pes):
                with m.Case(index):
                    m.d.comb += self.out_data.eq(pe.out_data)
        if not self.counters:
            return m
        with m.Switch(self.out_pe):
            for index, pe in enumerate(pes):
                with m.Case(index):
                    m.d.comb += [self.stat_line_reads.eq(pe.line_reads), self.stat_bypasses.eq(pe.bypasses),
                                 self.stat_busy.eq(pe.busy_cycles)]
        return m


def _all(m: Module, terms: list) -> Signal:
    result = Signal()
    m.d.comb += result.eq(1)
    for term in terms:
        chained = Signal()
        m.d.comb += chained.eq(result & term)
        result = chained
    return result

"""Central control of compute mode: issue, pipeline drain, write-back, and the batch's cycle counter.

``start`` (in I/O mode) begins a batch; cycle 0 is the next cycle. The array reports ``idle``
``idle_delay`` cycles after the first cycle in which no activation is waiting to be broadcast and no
PE has a column or a queued activation: that cycle is ``T_issue`` (seen through one more register
here). Then the pipeline drains for ``pipeline_latency`` cycles, and ``rows`` write-back cycles
follow, one local row per cycle; each row's accumulator is read two cycles before its output is
written (``accel.hdl.rtl.arithmetic``), and the controls for that read leave this unit ``lead - 1`` cycles
earlier still (through the array's copies and each PE's own register). ``cycles`` counts exactly
these ``T_issue + pipeline_latency + rows`` cycles (accel/arch/TIMING.md, End of a batch); ``done``
rises with the count final. The write-back controls leave as a ``WritebackSignature`` (``relu`` passed
through from the array's port).
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.arch.config import ArchConfig
from accel.hdl.protocol.ports import WritebackSignature


class ControlUnit(wiring.Component):
    """Sequences one batch of compute mode and counts its cycles."""

    def __init__(self, config: ArchConfig, lead: int = 2, idle_delay: int = 0) -> None:
        ahead = 2  # the write-back reads an accumulator two cycles before writing its output
        if 2 + idle_delay + lead > config.pipeline_latency - ahead:
            raise ValueError(f"write-back controls {lead} cycles ahead and idle seen {idle_delay} cycles late do not "
                             f"fit a drain of {config.pipeline_latency} cycles")
        self.config = config
        self.lead = lead
        """Cycles from a write-back control decided here to the PE's arithmetic unit acting on it."""
        self.idle_delay = idle_delay
        """Cycles ``idle`` comes late (the register levels of the array's reduction)."""
        super().__init__({
            "start": In(1), "idle": In(1), "rows": In(range(config.regfile_entries + 1)), "relu": In(1),
            "computing": Out(1), "busy": Out(1), "done": Out(1), "cycles": Out(32), "t_issue": Out(32),
            # Write-back: accumulator row read two cycles ahead of its output write.
            "writeback": Out(WritebackSignature(config)),
        })

    def elaborate(self, platform) -> Module:
        latency, lead, late = self.config.pipeline_latency, self.lead, self.idle_delay
        ahead = 2  # the write-back reads an accumulator two cycles before writing its output
        m = Module()
        step = Signal(range(latency + self.config.regfile_entries + 2))  # cycles since T_issue
        next_row = step + lead - (latency - ahead)
        idle_seen = Signal()  # ``idle`` a cycle later still: the reduction over every PE ends in this register
        m.d.sync += idle_seen.eq(self.idle)
        writeback = self.writeback
        m.d.comb += writeback.relu.eq(self.relu)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [self.cycles.eq(0), self.done.eq(0)]
                    m.next = "COMPUTE"
            with m.State("COMPUTE"):
                m.d.comb += [self.computing.eq(1), self.busy.eq(1)]
                m.d.sync += [self.cycles.eq(self.cycles + 1), writeback.read.eq(0)]
                # T_issue was 1 + late cycles ago; before cycle 1 + late the flag is from before the batch.
                with m.If(idle_seen & (self.cycles > late)):
                    m.d.sync += [step.eq(2 + late), self.t_issue.eq(self.cycles - 1 - late)]
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += self.busy.eq(1)
                # Write-back controls, decided ``lead`` cycles ahead for the cycle ``step + lead``.
                m.d.sync += [self.cycles.eq(self.cycles + 1), step.eq(step + 1), writeback.addr.eq(next_row),
                             writeback.read.eq((step + lead >= latency - ahead) & (next_row < self.rows))]
                with m.If(step + 1 == latency + self.rows):
                    m.d.sync += self.done.eq(1)
                    m.next = "IDLE"
        return m

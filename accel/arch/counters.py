"""One vocabulary of counters, from the simulator to the RTL's ports, the host and the reports.

The simulator counts every ``Counter`` (``accel.sim.results``) and measures every ``Timing`` quantity; the RTL
builds a port for the ones in ``RTL_PER_PE`` and ``RTL_ARRAY`` (``port``); the host reads them under the
same names and the co-simulation compares them with the simulator's (``expected_<name>``); the energy
table prices the ``Counter`` activities and the reports print them."""

from __future__ import annotations

from enum import StrEnum


class Counter(StrEnum):
    """An activity counter of accel/arch/TIMING.md, in its table's order."""

    BROADCASTS = "broadcasts"
    LNZD_READS = "lnzd_reads"
    FIFO_PUSHES = "fifo_pushes"
    FIFO_POPS = "fifo_pops"
    PTR_READS = "ptr_reads"
    SPMAT_LINE_READS = "spmat_line_reads"
    CODEBOOK_READS = "codebook_reads"
    MULTIPLIES = "multiplies"
    ADDS = "adds"
    ACC_READS = "acc_reads"
    ACC_WRITES = "acc_writes"
    BYPASSES = "bypasses"
    WRITEBACKS = "writebacks"
    ACT_SRAM_READS = "act_sram_reads"
    ACT_SRAM_WRITES = "act_sram_writes"

    @property
    def port(self) -> str:
        """The array's output port that reads this counter (for those the RTL builds)."""
        return f"stat_{self.value}"


class Timing(StrEnum):
    """What the timing rules measure of a batch besides its activities."""

    CYCLES = "cycles"
    """Cycles from start to done."""
    T_ISSUE = "t_issue"
    """Cycles until the last column was issued and done (TIMING.md)."""
    STALL = "stall"
    """Cycles the broadcast held a pending activation back for want of FIFO credit."""
    BUSY = "busy"
    """Cycles each PE was occupied by a column (one value per PE)."""

    @property
    def port(self) -> str:
        """The array's output port that reads it (``cycles`` is a port of its own, read in every mode)."""
        return self.value if self is Timing.CYCLES else f"stat_{self.value}"


RTL_PER_PE = (Counter.SPMAT_LINE_READS, Counter.BYPASSES, Timing.BUSY, Counter.FIFO_POPS, Counter.PTR_READS)
"""Counted in every PE; the array's port reads PE ``out_pe``'s."""
RTL_ARRAY = (Counter.BROADCASTS, Timing.STALL, Timing.T_ISSUE)
"""Counted once for the array."""
COMPARED = (Timing.CYCLES, Timing.T_ISSUE, Timing.STALL, Counter.BROADCASTS, Counter.SPMAT_LINE_READS,
            Counter.BYPASSES, Timing.BUSY, Counter.FIFO_POPS, Counter.PTR_READS)
"""What the co-simulation compares with the simulator, in this order (the first that differs is reported)."""

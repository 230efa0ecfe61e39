"""The array's top-level ports as a user of the Verilog sees them: name, direction, width, meaning."""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib.wiring import In

from accel.arch.counters import Counter, Timing
from accel.hdl.protocol.ports import ArrayPort as P
from accel.hdl.rtl.pe_array import READOUT_LATENCY, EIEArray

CLOCK_PORTS: list[tuple[str, str, int | str, str]] = [("clk", "in", 1, "clock; everything happens on its rising edge"),
               ("rst", "in", 1, "synchronous reset, active high")]

PORT_MEANINGS = {
    P.LOAD_EN: "write `load_data` into a PE memory (I/O mode, no batch running; it lands two cycles later)",
    P.LOAD_BROADCAST: "1: write every PE (the codebook); `load_pe` is ignored",
    P.LOAD_PE: "the PE written when `load_broadcast` is 0",
    P.LOAD_TARGET: "the memory written (load-target table below)",
    P.LOAD_ADDR: "word address in that memory",
    P.LOAD_DATA: "the word; narrower memories take its low bits",
    P.ACT_CLEAR: "empty the activation queue; pulse it before writing a new input vector",
    P.ACT_EN: "offer input `act_index` = `act_value`; non-zero values are queued (leading non-zero detection)",
    P.ACT_INDEX: "input column; write the columns in increasing order",
    P.ACT_VALUE: "signed fixed-point activation (`act_frac` fractional bits)",
    P.RELU: "apply ReLU at write-back; hold it from `start` until `done`",
    P.ROWS: "write-back rows of the batch (local rows of the fullest PE); hold it from `start` until `done`",
    P.START: "one-cycle pulse: run one batch; cycle 0 is the next cycle (at least two cycles after the last `load_en`)",
    P.BUSY: "high while a batch runs",
    P.DONE: "rises in the cycle after the batch's last cycle and stays high until the next `start`",
    P.CYCLES: "cycles of the running or last batch (accel/arch/TIMING.md); final once `done` is high",
    P.OUT_PE: "PE to read out, with `out_addr` (one question per cycle)",
    P.OUT_ADDR: "local row of that PE to read",
    P.OUT_DATA: f"output activation of (`out_pe`, `out_addr`), {READOUT_LATENCY} cycles after they were set",
    Counter.SPMAT_LINE_READS.port: "sparse-matrix line reads of PE `out_pe` in the last batch (same cycle as `out_pe`)",
    Counter.BYPASSES.port: "accumulator bypasses of PE `out_pe` in the last batch",
    Timing.BUSY.port: "cycles PE `out_pe` was occupied by a column in the last batch",
    Counter.FIFO_POPS.port: "activation FIFO pops of PE `out_pe` in the last batch",
    Counter.PTR_READS.port: "pointer-bank reads of PE `out_pe` in the last batch",
    Counter.BROADCASTS.port: "non-zero activations broadcast in the last batch (whole array)",
    Timing.STALL.port: "cycles the broadcast waited for a full FIFO in the last batch (whole array)",
    Timing.T_ISSUE.port: "T_issue of the last batch: cycles until the last column was done (accel/arch/TIMING.md)",
}


def port_table(array: EIEArray) -> list[tuple[str, str, int | str, str]]:
    """(name, direction, width, meaning) of every top-level port of ``array``, clock and reset first."""
    rows = list(CLOCK_PORTS)
    for name, member in array.signature.members.items():
        shape = Shape.cast(member.shape)
        width = f"{shape.width} (signed)" if shape.signed else shape.width
        rows.append((name, "in" if member.flow == In else "out", width,
                     PORT_MEANINGS.get(name, "activity counter (hdl/rtl/pe_array.py)")))
    return rows

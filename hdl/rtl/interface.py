"""The array's top-level ports as a user of the Verilog sees them: name, direction, width, meaning."""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib.wiring import In

from accel.hdl.rtl.pe_array import READOUT_LATENCY, EIEArray

CLOCK_PORTS: list[tuple[str, str, int | str, str]] = [("clk", "in", 1, "clock; everything happens on its rising edge"),
               ("rst", "in", 1, "synchronous reset, active high")]

PORT_MEANINGS = {
    "load_en": "write `load_data` into a PE memory (I/O mode, no batch running; it lands two cycles later)",
    "load_broadcast": "1: write every PE (the codebook); `load_pe` is ignored",
    "load_pe": "the PE written when `load_broadcast` is 0",
    "load_target": "the memory written (load-target table below)",
    "load_addr": "word address in that memory",
    "load_data": "the word; narrower memories take its low bits",
    "act_clear": "empty the activation queue; pulse it before writing a new input vector",
    "act_en": "offer input `act_index` = `act_value`; non-zero values are queued (leading non-zero detection)",
    "act_index": "input column; write the columns in increasing order",
    "act_value": "signed fixed-point activation (`act_frac` fractional bits)",
    "relu": "apply ReLU at write-back; hold it from `start` until `done`",
    "rows": "write-back rows of the batch (local rows of the fullest PE); hold it from `start` until `done`",
    "start": "one-cycle pulse: run one batch; cycle 0 is the next cycle (at least two cycles after the last `load_en`)",
    "busy": "high while a batch runs",
    "done": "rises in the cycle after the batch's last cycle and stays high until the next `start`",
    "cycles": "cycles of the running or last batch (accel/arch/TIMING.md); final once `done` is high",
    "out_pe": "PE to read out, with `out_addr` (one question per cycle)",
    "out_addr": "local row of that PE to read",
    "out_data": f"output activation of (`out_pe`, `out_addr`), {READOUT_LATENCY} cycles after they were set",
    "stat_spmat_line_reads": "sparse-matrix line reads of PE `out_pe` in the last batch (same cycle as `out_pe`)",
    "stat_bypasses": "accumulator bypasses of PE `out_pe` in the last batch",
    "stat_busy": "cycles PE `out_pe` was occupied by a column in the last batch",
    "stat_fifo_pops": "activation FIFO pops of PE `out_pe` in the last batch",
    "stat_ptr_reads": "pointer-bank reads of PE `out_pe` in the last batch",
    "stat_broadcasts": "non-zero activations broadcast in the last batch (whole array)",
    "stat_stall": "cycles the broadcast waited for a full FIFO in the last batch (whole array)",
    "stat_t_issue": "T_issue of the last batch: cycles until the last column was done (accel/arch/TIMING.md)",
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

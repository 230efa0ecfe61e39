"""Verilog of the EIE array for a config, and ``$readmemh`` files for a compressed layer."""

from __future__ import annotations

import json
import re
from pathlib import Path

from amaranth.back import verilog

from accel.arch.config import ArchConfig
from accel.arch.files import write_text_atomic
from accel.arch.images import LayerImage
from hdl.loading import memory_files
from hdl.pe_array import EIEArray
from hdl.sizes import RTLSizes

TOP = "eie_array"


def generate_verilog(config: ArchConfig, name: str = TOP, for_simulation: bool = False, counters: bool = True,
                     dsp: str | None = None) -> str:
    """Synthesisable Verilog of an ``EIEArray`` built for ``config`` (multipliers in ``dsp`` blocks,
    see ``hdl.multiplier``, or in portable logic).

    ``for_simulation`` adds, in every module, a delta-delayed toggle of the dummy signal that the
    Verilog back end puts in each ``always @*`` block: Icarus does not treat its declaration
    initialiser as an event, so combinational logic that depends only on registers would stay X
    until those registers first change.
    """
    text = verilog.convert(EIEArray(config, counters, dsp), name=name, emit_src=False)
    if for_simulation:
        text = _KICK.sub(lambda match: f"{match.group(0)}\n  initial #0 {match.group(1)} = 1'h1;", text)
    return text


_KICK = re.compile(r"reg (\\\$auto\$verilog_backend\S*\s) = 0;")


def write_design(config: ArchConfig, out: Path, image: LayerImage | None = None) -> list[Path]:
    """Write ``eie_array.v``, ``config.json`` and, for a layer, one folder of memory files per batch."""
    sizes = RTLSizes(config)
    written = [write_text_atomic(out / f"{TOP}.v", generate_verilog(config)),
               write_text_atomic(out / "config.json", json.dumps({
                   **config.to_dict(), "rtl": {"spmat_lines": sizes.spmat_lines, "ptr_bank_depth": sizes.ptr_bank_depth,
                                               "max_cols": sizes.max_cols, "col_bits": sizes.col_bits}}, indent=2) + "\n")]
    if image is not None:
        for index, batch in enumerate(image.batches):
            for name, text in memory_files(image, batch).items():
                written.append(write_text_atomic(out / f"batch{index}" / name, text))
    return written

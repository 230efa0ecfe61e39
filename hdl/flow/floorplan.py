"""A floorplan for the ECP5-85F: each PE's block RAMs side by side, its multiplier in the DSP row beside them.

Left to itself, nextpnr's placer scatters a PE's block RAMs along a row and puts its DSP block rows
away, and the PE's logic, pulled between them, spreads over a large part of the chip: the slowest
paths at 16 PEs were three short hops inside one PE with 11 ns of routing. Fixing the hard blocks
(nextpnr's ``BEL`` attribute on the synthesised cells) keeps every PE compact: the PEs are shared
out evenly over the chip's four block RAM rows and spaced evenly along each; PE ``i`` gets
consecutive block RAM sites in its row and the nearest free site in a DSP row (twelve rows away,
24 for the fourth block RAM row), and its logic settles in between. Cells outside the PEs (the
broadcast queue) are left to the placer.

The sites are the ECP5-85F's, as nextpnr-ecp5 names them (``X{x}/Y{y}/EBR{k}``,
``X{x}/Y{y}/MULT18_{k}``): thirteen blocks of nine columns in each row, with four block RAMs and
four 18x18 multipliers per block.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from accel.arch.files import write_text_atomic

ECP5_85F_BLOCKS = (4, 13, 22, 31, 40, 49, 58, 69, 78, 87, 96, 105, 114)
"""First column of each nine-column block (the chip's centre columns hold none)."""
ECP5_85F_BRAM_ROWS = {22: 10, 46: 34, 70: 58, 82: 58}
"""Block RAM rows, each with the DSP row its PEs use."""
BRAM_OFFSETS = ((0, "EBR0"), (2, "EBR1"), (4, "EBR2"), (6, "EBR3"))
DSP_OFFSETS = ((0, "MULT18_0"), (1, "MULT18_1"), (4, "MULT18_4"), (5, "MULT18_5"))
_PE_CELL = re.compile(r"(?:^|\.)pe(\d+)\.")
"""A cell of PE ``i``: its path holds ``pe{i}.`` (``bridge.array.pe3.spmat.0.0`` on a board)."""


def _sites(row: int, offsets: tuple[tuple[int, str], ...]) -> list[tuple[int, str]]:
    """(column, site name) of one row's sites, left to right."""
    return [(first + dx, f"X{first + dx}/Y{row}/{name}") for first in ECP5_85F_BLOCKS for dx, name in offsets]


def ecp5_85f_floorplan(cells: dict[str, dict]) -> dict[str, str]:
    """Site (``BEL``) of every PE block RAM and multiplier among yosys's netlist ``cells``, by cell name.
    Returns an empty plan where the PEs' block RAMs do not fit the rows this way."""
    brams, dsps = defaultdict(list), defaultdict(list)
    for name, cell in cells.items():
        match = _PE_CELL.search(name)
        if match and cell["type"] == "DP16KD":
            brams[int(match.group(1))].append(name)
        elif match and cell["type"] == "MULT18X18D":
            dsps[int(match.group(1))].append(name)
    if not brams:
        return {}
    per_pe = max(len(names) for names in brams.values())
    row_sites = len(ECP5_85F_BLOCKS) * len(BRAM_OFFSETS)
    pes_per_row_max = row_sites // per_pe
    rows = min(len(brams), len(ECP5_85F_BRAM_ROWS))
    pes_per_row = -(-len(brams) // rows)
    if pes_per_row > pes_per_row_max:
        return {}
    plan, taken = {}, set()
    for position, pe in enumerate(sorted(brams)):
        row_index, slot = divmod(position, pes_per_row)
        bram_row, dsp_row = list(ECP5_85F_BRAM_ROWS.items())[row_index]
        in_row = min(pes_per_row, len(brams) - row_index * pes_per_row)
        first = (row_sites * slot) // in_row + (row_sites // in_row - per_pe) // 2
        sites = _sites(bram_row, BRAM_OFFSETS)[first:first + per_pe]
        plan |= {name: site for name, (_, site) in zip(sorted(brams[pe]), sites)}
        column = sum(x for x, _ in sites) / len(sites)
        for name in sorted(dsps[pe]):
            x, site = min((s for s in _sites(dsp_row, DSP_OFFSETS) if s[1] not in taken), key=lambda s: abs(s[0] - column))
            taken.add(site)
            plan[name] = site
    return plan


def apply_floorplan(netlist: dict, top: str) -> int:
    """Put the ECP5-85F floorplan's ``BEL`` attributes on the cells of a yosys JSON netlist whose top
    module is ``top`` (flat, or with each module instantiated once as Amaranth writes them);
    returns how many cells it fixed."""
    cells = {}
    for module_name, module in netlist["modules"].items():
        if module_name == top or module_name.startswith(top + "."):
            path = module_name[len(top) + 1:]
            cells |= {f"{path}.{name}" if path else name: cell for name, cell in module["cells"].items()}
    plan = ecp5_85f_floorplan(cells)
    for name, site in plan.items():
        cells[name]["attributes"]["BEL"] = site
    return len(plan)


def floorplan(netlist: Path, top: str) -> int:
    """Fix the PEs' block RAMs and multipliers in a yosys JSON netlist file (rewritten in place when any
    are fixed); returns how many cells it fixed."""
    design = json.loads(netlist.read_text())
    fixed = apply_floorplan(design, top)
    if fixed:
        write_text_atomic(netlist, json.dumps(design))
    return fixed

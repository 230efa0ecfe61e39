"""``accel run``: run layers on the array behind its UART bridge (a board, or the simulated line) and check them."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from accel.arch.config import MAX_RTL_PES
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
from accel.report.tables import format_table
from hdl.board import BOARD_CONFIG, BOARD_LABEL

EXAMPLES = """\
examples:
  accel run runs/demo/model.dc.npz --port /dev/ttyUSB0        # every FC layer, chained, on the board
  accel run runs/demo/model.dc.npz:classifier.8 --port COM3 --input x.npy
  accel run layers/classifier.8.npz --simulated --config small.json   # no board: Amaranth's simulator

The board runs the bitstream of `accel synth --board NAME` (4 PEs x 16 rows unless built with --config;
give the same --config here: build/board/NAME/config.json). Each layer is loaded over the UART batch by
batch, its inputs sent, its outputs and cycle counter read back and compared with the simulator run on
the same inputs; a model's layers run one after the other on the array's own outputs. Exit status 1 if
any output or cycle count differs. --simulated runs the same host code against the bridge and array in
Amaranth's simulator (4 clocks per bit; slow: small layers only).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        description="Load compressed layers into the EIE array on a board (bitstream from `accel synth --board`), "
                    "send inputs, read outputs and the cycle counter, and compare with the cycle-level simulator. The "
                    "array is the board build's (see the architecture options) unless --config says otherwise.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help=SOURCE_HELP + "; a model runs all its layers, chained")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="DEVICE", help="serial port of the board, e.g. /dev/ttyUSB0 or COM3")
    where.add_argument("--simulated", action="store_true", help="run against the bridge in Amaranth's simulator")
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
    from accel.arch.fixed_point import quantize_activations
    from accel.arch.progress import stage
    from accel.cli.sources import layer_inputs, load_layers
    from hdl.uart_host import EIEHost, SerialLine, run_and_check

    config = architecture_from(args, MAX_RTL_PES, BOARD_CONFIG)
    layers, own = load_layers(args.source, args.seed, args.activations, args.max_weights, chain=True)
    inputs = quantize_activations(layer_inputs(layers[0], own, args.input, None, args.seed), config)
    started = time.perf_counter()
    stage(f"running {len(layers)} layer(s) over the UART of "
          + ("the bridge in Amaranth's simulator (slow: every bit of every byte is simulated)" if args.simulated
             else args.port))
    if args.simulated:
        from hdl.uart_sim import run_over_uart
        checks = run_over_uart(config, lambda host: run_and_check(host, layers, inputs))
    else:
        line = SerialLine(args.port, args.baud, args.timeout)
        try:
            checks = asyncio.run(run_and_check(EIEHost(line, config), layers, inputs))
        finally:
            line.close()
    wall = time.perf_counter() - started
    rows = [[check.name, check.run.outputs.size, sum(check.run.cycles), sum(b.cycles for b in check.expected.batches),
             "yes" if not check.problems else "NO"] for check in checks]
    if args.json:
        print_json({"link": "simulated UART" if args.simulated else args.port, "wall_s": wall, "layers": [
            {"layer": check.name, "outputs": int(check.run.outputs.size), "array_cycles": int(sum(check.run.cycles)),
             "simulator_cycles": int(sum(b.cycles for b in check.expected.batches)), "problems": check.problems}
            for check in checks]})
        return 0 if all(not check.problems for check in checks) else 1
    print(format_table(["layer", "outputs", "array cycles", "simulator cycles", "match"], rows))
    for check in checks:
        for problem in check.problems:
            print(f"{check.name}: {problem}")
    print(f"{'simulated UART' if args.simulated else args.port}: {len(checks)} layer(s) in {wall:.1f} s")
    return 0 if all(not check.problems for check in checks) else 1

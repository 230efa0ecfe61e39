"""``accel bench``: regenerate the simulator benchmarks in reports/sim/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.arch.files import write_csv_atomic, write_text_atomic
from accel.arch.progress import progress
from accel.cli.common import (
    add_architecture_options,
    add_energy_option,
    add_json_option,
    architecture_from,
    energy_table_from,
    positive_int,
    print_json,
    provenance,
    seed,
)
from accel.explore import sweeps
from accel.explore.sweep import ProcessExecutor
from accel.report import records
from accel.report.sim import write_sim_pages
from accel.report.tables import format_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        description="Simulate the nine benchmark layers of the EIE paper (synthetic weights with the paper's "
                    "shapes and densities) and write tables, CSV and plots to the output folder.",
        epilog="example:\n  accel bench                      # writes reports/sim/\n  accel bench --quick --out /tmp/b",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=records.folder("sim"), help="output folder (default reports/sim)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the synthetic layers (default 0)")
    parser.add_argument("--quick", action="store_true", help="fewer sweep points (FIFO 1/8/64, PEs 1/16/64)")
    parser.add_argument("--workers", type=positive_int, metavar="N", help="processes for the FIFO and PE sweeps (default: one per core)")
    startup = parser.add_argument_group("start-up cost (instead of the benchmarks)")
    startup.add_argument("--startup", action="store_true",
                         help="CPU seconds of whole processes: accel --version, --help, simulate Alex-7 -> OUT/startup.json")
    startup.add_argument("--against", type=Path, metavar="CHECKOUT",
                         help="with --startup: also measure another checkout of the project (e.g. a git worktree of an "
                              "earlier commit), run from its folder")
    startup.add_argument("--repeats", type=positive_int, default=7, help="with --startup: runs per command (median reported)")
    add_architecture_options(parser)
    add_energy_option(parser)
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.startup:
        return run_startup(args)
    config = architecture_from(args)
    table = energy_table_from(args)
    depths = (1, 8, 64) if args.quick else sweeps.FIFO_DEPTHS
    counts = (1, 16, 64) if args.quick else sweeps.PE_COUNTS
    out = args.out
    with progress(total=len(BENCHMARK_LAYERS), description="latency", unit="layer") as bar:
        latency = sweeps.latency_rows(config, table, args.seed, bar)
    executor = ProcessExecutor(args.workers)
    fifo = sweeps.fifo_sweep(config, args.seed, depths, executor)
    pes = sweeps.pe_sweep(config, args.seed, counts, executor)
    speed = sweeps.simulator_speed(config, seed=args.seed)

    write_csv_atomic(out / "latency.csv", latency)
    write_csv_atomic(out / "fifo_sweep.csv", fifo)
    write_csv_atomic(out / "pe_sweep.csv", pes)
    energy_rows = [{"layer": row["layer"], "placement": placement, "component": component, "pJ": value}
                   for row in latency for placement, key in (("EIE", "components_pJ"), ("dense DRAM", "dense_components_pJ"))
                   for component, value in row[key].items()]
    write_csv_atomic(out / "energy_breakdown.csv", energy_rows)
    write_text_atomic(out / "speed.json", json.dumps(speed, indent=2) + "\n")
    record = {"provenance": provenance(args, config), "config": config.to_dict(),
              "energy_table": table.label, "seed": args.seed, "fifo_depths": list(depths), "pe_counts": list(counts),
              "latency": latency, "fifo": fifo, "pes": pes, "speed": speed}
    write_text_atomic(out / "bench.json", json.dumps(record, indent=2, default=float) + "\n")

    write_sim_pages(out)
    if args.json:
        print_json(record)
        return 0
    print(format_table(["layer", "simulated us", "paper actual us", "difference %", "efficiency", "pJ/op"],
                       [[r["layer"], r["simulated_us"], r["paper_actual_us"], f"{r['difference_pct']:+.1f}%",
                         r["efficiency"], r["eie_pJ_per_op"]] for r in latency]))
    print(f"simulator: {speed['layer']} in {speed['simulate_s'] * 1e3:.0f} ms "
          f"(+{speed['image_build_s'] * 1e3:.0f} ms to build the image, "
          f"{(speed['image_build_s'] + speed['simulate_s']) * 1e3:.0f} ms end to end); torch CSR matvec {speed['torch_csr_matvec_us']:.0f} us, "
          f"{speed['torch_csr_matvec_1_thread_us']:.0f} us on one thread")
    print(f"wrote {out}/README.md and its tables and plots")
    return 0


def run_startup(args: argparse.Namespace) -> int:
    """Start-up CPU seconds of this checkout (and ``--against``'s), recorded and rendered as OUT/startup.md."""
    import subprocess

    from accel.explore.startup import REFERENCE, measure_startup
    from accel.report.startup import startup_table, write_startup_page

    def commit(folder: Path) -> str:
        found = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return found.stdout.strip() or "unknown"

    trees = [("this checkout", Path.cwd())] + ([("against", args.against)] if args.against else [])
    runs = [{"label": label, "commit": commit(folder), "rows": measure_startup(args.repeats, folder)}
            for label, folder in trees]
    record = {"provenance": provenance(args), "reference": REFERENCE, "runs": runs}
    write_text_atomic(args.out / "startup.json", json.dumps(record, indent=2) + "\n")
    write_startup_page(args.out)
    if args.json:
        print_json(record)
        return 0
    print(startup_table(record, markdown=False))
    return 0

"""``accel energy``: the energy model against the paper (Table II, Table V) and its design-space studies."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from tqdm import tqdm

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.arch.files import write_csv_atomic
from accel.cli.common import add_energy_option, energy_table_from, output_folder, provenance, seed, write_json
from accel.explore import energy_studies as studies
from accel.report.energy import write_energy_pages
from accel.report.tables import format_table

BASELINES = Path("reports/baselines/latency.csv")
CACTI_DEVICES = Path("reports/energy/cacti/devices.csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "energy", help="energy model vs the paper's Table II and Table V, SRAM width, PE and precision studies",
        description="Run Alex-7 (synthetic stand-in) at the chip's config under an energy table and compare like for "
                    "like with the paper's Table II (module and type shares, power per PE) and Table V (frames/s, "
                    "frames/J); sweep the sparse-matrix SRAM width (32-512 bits) and the number of PEs (padding, load "
                    "efficiency); and measure the accuracy of a compressed LeNet-300-100 at 32-bit float and "
                    "32/16/8-bit fixed point against multiplier energy. Writes CSV, JSON, plots and a README.",
        epilog="examples:\n  accel energy                     # writes reports/energy/ (a few minutes)\n"
               "  accel energy --quick --out /tmp/e --no-precision",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("reports/energy"), help="output folder (default reports/energy)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the synthetic layers (default 0)")
    parser.add_argument("--quick", action="store_true", help="sweeps on Alex-7 and NT-We only, PEs 1/16/64/256")
    parser.add_argument("--model", type=Path, default=Path("reports/compression/lenet300/model.dc.npz"),
                        help="compressed model for the precision study (default: the committed LeNet-300-100)")
    parser.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                        help="IDX data set folder for the precision study (default Fashion-MNIST)")
    parser.add_argument("--no-precision", action="store_true", help="skip the precision study")
    add_energy_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    table = energy_table_from(args)
    names = ["Alex-7", "NT-We"] if args.quick else [spec.name for spec in BENCHMARK_LAYERS]
    counts = (1, 16, 64, 256) if args.quick else studies.PE_COUNTS
    comparison = studies.alex7_comparison(table, args.seed)
    with tqdm(total=len(names) * (len(studies.SRAM_WIDTHS) + len(counts)), desc="sweeping", unit="run") as progress:
        widths = studies.sram_width_study(table, args.seed, names=names, progress=progress)
        pes = studies.pe_padding_study(args.seed, counts, names=names, progress=progress)
    precision = None
    if not args.no_precision:
        from accel.explore.precision import lenet_precision
        precision = lenet_precision(args.model, args.data_dir, table)
    shares, metrics = studies.share_rows(comparison), studies.metric_rows(comparison)
    table_v = studies.table_v_rows(comparison, measured_baselines())

    with output_folder(args, args.out) as out:
        write_csv_atomic(out / "shares.csv", shares)
        write_csv_atomic(out / "metrics.csv", metrics)
        write_csv_atomic(out / "sram_width.csv", widths)
        write_csv_atomic(out / "pe_padding.csv", pes)
        write_csv_atomic(out / "table_v.csv", table_v)
        if precision is not None:
            write_csv_atomic(out / "precision.csv", precision)
        record = {"provenance": provenance(args), "table": {"label": table.label, "kind": table.kind, "fit": table.fit},
                  "seed": args.seed, "layers": names, "pe_counts": list(counts), "model": str(args.model),
                  "data_dir": str(args.data_dir), "alex7": comparison, "sram_width": widths, "pe_padding": pes,
                  "table_v": table_v, "precision": precision, "cacti_devices": recorded_devices()}
        write_json(out / "energy.json", record)
        write_energy_pages(out)
    print(format_table(["metric", "paper", "with leakage", "dynamic only"],
                       [[r["metric"], r["paper"], r["with leakage"], r["dynamic only"]] for r in metrics]))
    print(f"wrote {args.out}/README.md and its tables and plots")
    return 0


def recorded_devices() -> list[dict]:
    """The CACTI device comparison recorded by ``reports/energy/cacti/devices.sh``, when present."""
    if not CACTI_DEVICES.exists():
        return []
    with CACTI_DEVICES.open() as handle:
        return list(csv.DictReader(handle))


def measured_baselines() -> list[dict]:
    """Alex-7 frames/s of the torch baselines measured by accel report (no power measured: frames/J left blank)."""
    if not BASELINES.exists():
        return []
    with BASELINES.open() as handle:
        row = next((r for r in csv.DictReader(handle) if r["layer"] == "Alex-7"), None)
    if row is None:
        return []
    return [{"platform": f"{row['device']}, torch {kind} (measured)", "frames_per_s": 1e6 / float(row[key]),
             "power_W": "", "frames_per_J": "", "source": str(BASELINES)}
            for kind, key in (("dense", "cpu_dense_us"), ("CSR", "cpu_sparse_us"))]

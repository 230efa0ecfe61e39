"""``accel energy``: the energy model against the paper (Table II, Table V) and its design-space studies."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.arch.errors import UserError
from accel.arch.files import write_csv_atomic
from accel.arch.progress import progress
from accel.cli.common import (
    add_energy_option,
    add_json_option,
    energy_table_from,
    output_folder,
    print_json,
    provenance,
    seed,
    write_json,
)
from accel.explore import energy_studies as studies
from accel.report import records
from accel.report.energy import write_energy_pages
from accel.report.tables import format_table

BASELINES = Path("reports/baselines/latency.csv")
CACTI = Path("reports/energy/cacti")
DEFAULT_PRECISION_MODEL = Path("reports/compression/lenet300/model.dc.npz")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "energy",
        description="Run Alex-7 (synthetic stand-in) at the chip's config under an energy table and compare like for "
                    "like with the paper's Table II (module and type shares, power per PE) and Table V (frames/s, "
                    "frames/J), beside the previous rules (each source at its own voltage, small storage at the "
                    "register-file energy); recompute it over the parameters' published ranges (supply 0.9-1.1 V, "
                    "every CACTI device pair that reads within the cycle, flip-flop or register-file pricing of small "
                    "storage) for an uncertainty band; check its structure (one factor per circuit type fitted to "
                    "Table II's type rows, compared with the module rows); sweep the sparse-matrix SRAM width "
                    "(32-512 bits, both line-read rules) and the number of PEs (padding, load efficiency); and measure "
                    "the accuracy of a compressed LeNet-300-100 at 32-bit float and 32/16/8-bit fixed point against "
                    "multiplier energy. Writes CSV, JSON, plots and a README. The band's device pairs are the CACTI "
                    f"runs recorded in {CACTI}/ (run from the repository root).",
        epilog="examples:\n  accel energy                     # writes reports/energy/ (a few minutes)\n"
               "  accel energy --quick --out /tmp/e --no-precision",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=records.folder("energy"), help="output folder (default reports/energy)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the synthetic layers (default 0)")
    parser.add_argument("--quick", action="store_true", help="sweeps on Alex-7 and NT-We only, PEs 1/16/64/256")
    parser.add_argument("--model", type=Path, default=DEFAULT_PRECISION_MODEL,
                        help="compressed model for the precision study (default: the committed LeNet-300-100)")
    parser.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                        help="IDX data set folder for the precision study (default Fashion-MNIST)")
    parser.add_argument("--no-precision", action="store_true", help="skip the precision study")
    parser.add_argument("--cacti", type=Path, default=CACTI, metavar="DIR",
                        help=f"the recorded CACTI runs of the band's device pairs (default {CACTI}, in a checkout)")
    add_energy_option(parser)
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    table = energy_table_from(args)
    precision_model = precision_model_of(args)
    if not args.cacti.is_dir():
        print(f"note: no CACTI runs in {args.cacti} (--cacti): the band covers the table's own SRAM device pair only",
              file=sys.stderr)
    names = ["Alex-7", "NT-We"] if args.quick else [spec.name for spec in BENCHMARK_LAYERS]
    counts = (1, 16, 64, 256) if args.quick else studies.PE_COUNTS
    alex7 = studies.simulate_alex7(args.seed)
    comparison = studies.alex7_comparison(table, alex7, args.seed)
    band = studies.uncertainty_band(table, alex7, studies.band_devices(table, recorded_devices(args.cacti), args.cacti))
    structure = {reading: studies.structure_check(model) for reading, model in comparison["models"].items()}
    with progress(total=len(names) * (len(studies.SRAM_WIDTHS) + len(counts)), description="sweeping", unit="run") as bar:
        widths = studies.sram_width_study(table, args.seed, names=names, progress=bar)
        pes = studies.pe_padding_study(args.seed, counts, names=names, progress=bar)
    precision = None
    if precision_model is not None:
        from accel.explore.precision import lenet_precision
        precision = lenet_precision(precision_model, args.data_dir, table)
    shares, metrics = studies.share_rows(comparison), studies.metric_rows(comparison)
    table_v = studies.table_v_rows(comparison, measured_baselines())

    with output_folder(args, args.out) as out:
        write_csv_atomic(out / "shares.csv", shares)
        write_csv_atomic(out / "metrics.csv", metrics)
        write_csv_atomic(out / "sram_width.csv", widths)
        write_csv_atomic(out / "pe_padding.csv", pes)
        write_csv_atomic(out / "table_v.csv", table_v)
        write_csv_atomic(out / "table_entries.csv", table.entry_rows())
        write_csv_atomic(out / "band.csv", band["summary"])
        write_csv_atomic(out / "band_points.csv", band["points"])
        write_csv_atomic(out / "structure.csv", [{"reading": reading, **row} for reading, check in structure.items()
                                                 for row in check["modules"]])
        write_csv_atomic(out / "sram_width_rules.csv", studies.width_rule_rows(widths))
        if precision is not None:
            write_csv_atomic(out / "precision.csv", precision)
        record = {"provenance": provenance(args),
                  "table": {"label": table.label, "kind": table.kind, "fit": table.fit, "supply_V": table.supply_voltage,
                            "rules": table.rules, "sram": table.sram.label, "entries": table.entry_rows()},
                  "seed": args.seed, "layers": names, "pe_counts": list(counts), "model": str(args.model),
                  "data_dir": str(args.data_dir), "alex7": comparison,
                  "band": band, "structure": structure, "sram_width": widths, "pe_padding": pes,
                  "table_v": table_v, "precision": precision, "cacti_devices": recorded_devices(args.cacti)}
        write_json(out / "energy.json", record)
        write_energy_pages(out)
    if args.json:
        print_json(record)
        return 0
    print(format_table(["metric", "paper", "dynamic only", "with leakage", "previous rules, dynamic only"],
                       [[r["metric"], r["paper"], r["dynamic only"], r["with leakage"], r["previous rules, dynamic only"]]
                        for r in metrics]))
    print(f"wrote {args.out}/README.md and its tables and plots")
    return 0


def recorded_devices(cacti: Path) -> list[dict]:
    """The CACTI device comparison recorded by ``reports/energy/cacti/devices.sh`` in ``cacti``, when present."""
    devices = cacti / "devices.csv"
    if not devices.exists():
        return []
    with devices.open() as handle:
        return list(csv.DictReader(handle))


def precision_model_of(args: argparse.Namespace) -> Path | None:
    """The model of the precision study: --model, checked before anything runs; the default may be absent (a note)."""
    if args.no_precision:
        return None
    if args.model.is_file():
        return args.model
    if args.model == DEFAULT_PRECISION_MODEL:
        print(f"note: no {DEFAULT_PRECISION_MODEL} here (run from the repository root, or give --model): the precision "
              "study is left out", file=sys.stderr)
        return None
    raise UserError(f"--model {args.model} does not exist; give a compressed LeNet-300-100 (accel compress) or "
                    "--no-precision")


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

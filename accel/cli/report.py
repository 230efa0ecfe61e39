"""``accel report``: measured torch baselines next to EIE, and the reports/README.md index."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.files import write_csv_atomic, write_text_atomic
from accel.cli.common import add_json_option, positive_int, print_json
from accel.explore.baselines import measure_baselines
from accel.report.index import write_index
from accel.report.readme import update_readme
from accel.report.records import PAGES, REPORTS
from accel.report.tables import format_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        description="Time batch-1 dense and CSR matrix-vector products of the nine EIE benchmark layers with torch "
                    "(CPU, and CUDA when present), put them beside the paper's numbers and the simulated EIE, and "
                    "rebuild the reports index. --all first reruns every benchmark (about 40 minutes on 2 cores).",
        epilog="examples:\n  accel report            # baselines + index\n  accel report --all      # everything in reports/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="rerun accel bench, the compression benchmarks and the RTL speed first")
    parser.add_argument("--repeats", type=positive_int, default=20, help="timed runs per product (median reported)")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: re-render every page and figure from the recorded JSON/CSV results")
    add_json_option(parser)
    parser.set_defaults(run=run)


ALL_COMMANDS = [
    ["bench"],
    ["energy"],
    ["sweep", "reports/sweep/nine_layers.toml", "--out", "reports/sweep"],
    ["sweep", "reports/sweep/throughput.toml", "--throughput", "--out", "reports/sweep"],
    ["compress", "--net", "lenet300", "--preset", "full", "--sensitivity", "--out", "reports/compression/lenet300"],
    ["compress", "--net", "lenet5", "--preset", "full", "--sensitivity", "--out", "reports/compression/lenet5"],
    ["synth", "--rtl-speed"],
]


def run(args: argparse.Namespace) -> int:
    if args.all:
        for command in ALL_COMMANDS:
            print(f"accel {' '.join(command)}")
            subprocess.run([sys.executable, "-m", "accel.cli", *command], check=True)
    if not args.render:
        rows = measure_baselines(args.repeats)
        write_csv_atomic(REPORTS / "baselines" / "latency.csv", rows)
        write_text_atomic(REPORTS / "baselines" / "latency.json", json.dumps(rows, indent=2) + "\n")
        if args.json:
            print_json(rows)
        else:
            print(format_table(list(rows[0]), [list(r.values()) for r in rows]))
    rendered = render_all(REPORTS, Path("README.md"))
    print(f"rendered {len(rendered)} pages and figures from the recorded results in {REPORTS}/",
          file=sys.stderr if args.json else sys.stdout)
    return 0


def render_all(reports: Path, readme: Path | None = None) -> list[Path]:
    """Every page and figure of ``reports/`` (and ``readme``'s measured section) from the recorded results."""
    if not (reports / "baselines" / "latency.json").exists():
        raise UserError(f"{reports}/baselines/latency.json is missing: run accel report from the repository root "
                        "(without --render, it measures the baselines first)")
    written = [path for page in PAGES if page.present(reports) for path in page.render(reports)]
    written.append(write_index(reports))
    if readme is not None and readme.exists():
        written.append(update_readme(readme, reports))
    return written

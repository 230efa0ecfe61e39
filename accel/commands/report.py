"""``accel report``: measured torch baselines next to EIE, and the reports/README.md index."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from accel import plots
from accel.files import write_csv_atomic, write_text_atomic
from accel.tables import format_table

REPORTS = Path("reports")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="measure torch CPU/GPU baselines and rebuild reports/README.md",
        description="Time batch-1 dense and CSR matrix-vector products of the nine EIE benchmark layers with torch "
                    "(CPU, and CUDA when present), put them beside the paper's numbers and the simulated EIE, and "
                    "rebuild the reports index. --all first reruns every benchmark (about 30 minutes on 2 cores).",
        epilog="examples:\n  accel report            # baselines + index\n  accel report --all      # everything in reports/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="rerun accel bench, the compression benchmarks and the RTL speed first")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per product (median reported)")
    parser.set_defaults(run=run)


ALL_COMMANDS = [
    ["bench"],
    ["compress", "--net", "lenet300", "--preset", "full", "--sensitivity", "--out", "reports/compression/lenet300"],
    ["compress", "--net", "lenet5", "--preset", "full", "--sensitivity", "--out", "reports/compression/lenet5"],
    ["synth", "--rtl-speed"],
]


def run(args: argparse.Namespace) -> int:
    if args.all:
        for command in ALL_COMMANDS:
            print(f"accel {' '.join(command)}")
            subprocess.run([sys.executable, "-m", "accel.cli", *command], check=True)
    rows = measure_baselines(args.repeats)
    write_csv_atomic(REPORTS / "baselines" / "latency.csv", rows)
    names = [row["layer"] for row in rows]
    series = {"CPU dense (torch, here)": [r["cpu_dense_us"] for r in rows],
              "CPU sparse CSR (torch, here)": [r["cpu_sparse_us"] for r in rows]}
    if rows and "cuda_dense_us" in rows[0]:
        series["GPU dense (torch, here)"] = [r["cuda_dense_us"] for r in rows]
        series["GPU sparse CSR (torch, here)"] = [r["cuda_sparse_us"] for r in rows]
    series.update({"paper: CPU sparse (i7, MKL)": [r["paper_cpu_sparse_us"] for r in rows],
                   "paper: GPU sparse (Titan X)": [r["paper_gpu_sparse_us"] for r in rows],
                   "EIE simulated (64 PEs, 800 MHz)": [r["eie_simulated_us"] for r in rows],
                   "paper: EIE actual": [r["paper_eie_actual_us"] for r in rows]})
    plots.grouped_bars(REPORTS / "baselines" / "latency.png", names, series, "latency, batch 1 (us, log scale)",
                       "Batch-1 latency: torch baselines measured here vs EIE", log=True,
                       note="synthetic weights with the paper's shapes and densities; torch times are medians on this machine")
    write_text_atomic(REPORTS / "README.md", index(rows))
    print(format_table(list(rows[0]), [list(r.values()) for r in rows]))
    print(f"wrote {REPORTS / 'README.md'} and {REPORTS / 'baselines'}")
    return 0


def measure_baselines(repeats: int) -> list[dict]:
    from accel.baselines import available_devices, time_matvec
    from accel.benchmarks import BENCHMARK_LAYERS, synthetic_input_values, synthetic_layer
    from accel.config import ArchConfig
    from accel.images import build_layer_image
    from accel.fixed_point import quantize_activations
    from sim import simulate_layer

    config = ArchConfig()
    rows = []
    for spec in tqdm(BENCHMARK_LAYERS, desc="timing torch", unit="layer"):
        layer = synthetic_layer(spec)
        values = synthetic_input_values(spec)
        row = {"layer": spec.name, "device": ""}
        for device in available_devices():
            timing = time_matvec(layer.dense_weights(), values, device, repeats)
            row[f"{device}_dense_us"], row[f"{device}_sparse_us"] = timing.dense_us, timing.sparse_us
            row["device"] = (row["device"] + "; " if row["device"] else "") + timing.device + f" ({timing.threads} threads)"
        result = simulate_layer(build_layer_image(layer, config), quantize_activations(values, config))
        row.update({"eie_simulated_us": result.latency_us, "paper_cpu_dense_us": spec.cpu_dense_us,
                    "paper_cpu_sparse_us": spec.cpu_sparse_us, "paper_gpu_dense_us": spec.gpu_dense_us,
                    "paper_gpu_sparse_us": spec.gpu_sparse_us, "paper_eie_actual_us": spec.eie_actual_us})
        rows.append(row)
    return rows


def _csv(path: Path) -> list[dict]:
    with path.open() as file:
        return list(csv.DictReader(file))


def index(baselines: list[dict]) -> str:
    lines = [
        "# Reports",
        "",
        "Every table and figure here is regenerated by the command named next to it; `accel report --all` reruns "
        "them all (FPGA synthesis excepted: see `reports/hdl`). Results on the nine EIE layers use **synthetic weights** "
        "with the paper's shapes and densities, since the paper's pruned models are not public.",
        "",
        "## Simulated EIE on the paper's nine layers", "",
        "`accel bench` -> [sim/README.md](sim/README.md): latency vs Table IV, load balance vs FIFO depth, speedup vs PEs, "
        "energy breakdown, simulator speed.", "",
        "![latency](sim/latency_vs_paper.png)", "", "![energy](sim/energy_breakdown.png)", "",
        "![fifo](sim/fifo_efficiency.png) ![pes](sim/pe_speedup.png)", "",
        "## Measured baselines: torch on this machine", "",
        "`accel report` -> `baselines/latency.csv`. Batch 1, float32, median of repeated runs; "
        f"device: {baselines[0]['device'] if baselines else '-'}; no GPU here unless a CUDA column is shown.", "",
        format_table(["layer", "CPU dense us", "CPU CSR us", "paper CPU dense", "paper CPU sparse", "paper GPU sparse",
                      "EIE simulated us", "paper EIE actual", "CPU CSR / EIE"],
                     [[r["layer"], r["cpu_dense_us"], r["cpu_sparse_us"], r["paper_cpu_dense_us"], r["paper_cpu_sparse_us"],
                       r["paper_gpu_sparse_us"], r["eie_simulated_us"], r["paper_eie_actual_us"],
                       f"{r['cpu_sparse_us'] / r['eie_simulated_us']:.0f}x"] for r in baselines], markdown=True),
        "", "![baselines](baselines/latency.png)", "",
    ]
    lines += compression_section()
    if (REPORTS / "hdl" / "README.md").exists():
        lines += ["## RTL", "", "`accel synth ... --record` and `accel synth --rtl-speed` -> [hdl/README.md](hdl/README.md).", ""]
    return "\n".join(lines)


COMPRESSION_TARGETS = {"lenet300": (12.0, 40.0), "lenet5": (None, 39.0)}
"""(pruning rate, P+Q+H rate) each network must reach within 0.5 points of its dense accuracy."""


def compression_section() -> list[str]:
    """Results of the compression benchmarks, read from each run's summary.json."""
    lines = []
    rows = []
    for net in COMPRESSION_TARGETS:
        path = REPORTS / "compression" / net / "summary.json"
        if path.exists():
            rows.append(compression_row(net, json.loads(path.read_text())))
    if not rows:
        return lines
    lines += ["## Deep Compression on Fashion-MNIST", "",
              "`accel compress --net NET --preset full --sensitivity --out reports/compression/NET` -> "
              "[compression/README.md](compression/README.md) (what the presets do, how sizes are counted). "
              "Top-1 accuracy on the 10,000 test images; pruning counts parameters, P+Q and P+Q+H count bytes.", "",
              format_table(["network", "dense", "pruned", "P+Q+H", "pruning", "P+Q", "P+Q+H", "compressed bytes",
                            "wall s (CPU s)", "targets"], rows, markdown=True), ""]
    for net in COMPRESSION_TARGETS:
        folder = REPORTS / "compression" / net
        if (folder / "sizes.md").exists():
            lines += [f"### {net}", "", (folder / "sizes.md").read_text().strip(), ""]
            if (folder / "sensitivity.png").exists():
                lines += [f"![{net} sensitivity](compression/{net}/sensitivity.png)", ""]
    return lines


def compression_row(net: str, summary: dict) -> list[str]:
    pruning_target, pqh_target = COMPRESSION_TARGETS[net]
    loss = summary["accuracy_dense"] - summary["accuracy_quantized"]
    checks = []
    if pruning_target is not None:
        pruned_loss = summary["accuracy_dense"] - summary["accuracy_pruned"]
        met = summary["rate_pruning_params"] >= pruning_target and pruned_loss <= 0.5
        checks.append(f"pruning >= {pruning_target:.0f}x: {'met' if met else 'missed'}")
    met = summary["rate_PQH"] >= pqh_target and loss <= 0.5
    checks.append(f"P+Q+H >= {pqh_target:.0f}x within 0.5 pt: {'met' if met else 'missed'}")
    return [net, f"{summary['accuracy_dense']:.2f} %", f"{summary['accuracy_pruned']:.2f} %",
            f"{summary['accuracy_quantized']:.2f} %", f"{summary['rate_pruning_params']:.1f}x",
            f"{summary['rate_PQ']:.1f}x", f"{summary['rate_PQH']:.1f}x", f"{summary['compressed_bytes']:,.0f}",
            f"{summary['wall_seconds']:.0f} ({summary['cpu_seconds']:.0f})", "; ".join(checks)]

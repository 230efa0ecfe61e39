"""The README's "Measured so far" section, rendered from the records in ``reports/``.

The section sits between two markers in README.md; ``accel report --render`` rewrites it, and a test
checks that the committed README holds exactly what the records give.
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.arch.energy import EnergyTable
from accel.arch.files import write_text_atomic
from accel.explore import energy_studies as studies
from accel.report.hdl import DESIGNS, SEEDS, booted, design, largest, largest_on_most_seeds, pes
from accel.report.sim import overhead_matches

BEGIN = "<!-- measured: begin (rendered by `accel report --render` from reports/; do not edit by hand) -->"
END = "<!-- measured: end -->"
NETWORK_NAMES = {"lenet300": "LeNet-300-100", "lenet5": "LeNet-5"}


def _load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def compression_bullet(reports: Path) -> list[str]:
    parts = []
    for net, name in NETWORK_NAMES.items():
        summary = _load(reports / "compression" / net / "summary.json")
        if summary:
            parts.append(f"{name} on {summary['data']} {summary['accuracy_dense']:.2f} % dense -> "
                         f"{summary['accuracy_pruned']:.2f} % pruned ({summary['rate_pruning_params']:.1f}x fewer parameters) "
                         f"-> {summary['accuracy_quantized']:.2f} % after P+Q+H ({summary['rate_PQH']:.1f}x smaller, "
                         f"{summary['compressed_bytes'] / 1000:.1f} kB; {summary['wall_seconds'] / 60:.0f} min wall time)")
    if not parts:
        return []
    return [f"- **Compression** (`accel compress --net NET --preset full`, one CPU thread): {'; '.join(parts)}."]


def bench_bullets(reports: Path) -> list[str]:
    record = _load(reports / "sim" / "bench.json")
    if not record:
        return []
    config, latency, fifo, pes, speed = record["config"], record["latency"], record["fifo"], record["pes"], record["speed"]
    within = [row for row in latency if abs(row["difference_pct"]) <= 15]
    outside = ", ".join(f"{row['layer']} {row['difference_pct']:+.0f} %" for row in latency if abs(row["difference_pct"]) > 15)
    overhead = sum(overhead_matches(row) for row in latency)
    matched = sum(abs(row["work_matched_difference_pct"]) <= 15 for row in latency)
    structured = sum(abs(row["structured_difference_pct"]) <= 15 for row in latency)
    first, middle = record["fifo_depths"][0], 8 if 8 in record["fifo_depths"] else record["fifo_depths"][-1]
    at = lambda depth: [row["efficiency"] for row in fifo if row["fifo_depth"] == depth]  # noqa: E731
    most = record["pe_counts"][-1]
    top = [row for row in pes if row["n_pes"] == most]
    slowest = min(top, key=lambda row: row["speedup"])
    alex7 = next(row for row in latency if row["layer"] == "Alex-7")
    return [
        f"- **Latency vs the paper** (`accel bench`): {len(within)} of {len(latency)} layers within 15 % of \"EIE actual\" "
        f"at {config['n_pes']} PEs, FIFO {config['fifo_depth']}, {config['clock_mhz']:g} MHz"
        + (f" (outside: {outside})" if outside else "") + f"; the overhead over perfect balance (simulated / balanced) is "
        f"within 5 % of the paper's actual / theoretical on {overhead} of {len(latency)} layers (mean of "
        f"{latency[0]['overhead_seeds']} synthetic draws). A structured synthetic "
        f"workload (row lengths vary, parameters fixed beforehand): {structured} of {len(latency)} within 15 %. Work-matched "
        f"stand-ins, a sensitivity study only (fitted to the paper's theoretical work, so agreement holds largely by "
        f"construction): {matched} of {len(latency)}.",
        f"- **Load balance** (`accel bench`): efficiency {min(at(first)):.2f} to {max(at(first)):.2f} at FIFO depth {first}, "
        f"{min(at(middle)):.2f} to {max(at(middle)):.2f} at depth {middle}; at {most} PEs the speedup over "
        f"{record['pe_counts'][0]} PE ranges from {slowest['speedup']:.0f}x ({slowest['layer']}) to "
        f"{max(row['speedup'] for row in top):.0f}x.",
        f"- **Energy vs DRAM** (`accel bench`, energy table {record['energy_table']}"
        + ("" if record["energy_table"] == EnergyTable.load().label else
           ", recorded before the current default table: `accel bench` prices the layers under it") + "): Alex-7 on EIE "
        f"{alex7['eie_uJ']:.1f} uJ per inference; the same layer dense with weights in DRAM costs "
        f"{alex7['dense_dram_uJ'] / alex7['eie_uJ']:,.0f}x more.",
        f"- **Simulator speed** (`accel bench`): {speed['layer']} at {speed['n_pes']} PEs in "
        f"{speed['end_to_end_s'] * 1e3:.0f} ms end to end ({speed['image_build_s'] * 1e3:.0f} ms to "
        f"build the PE memory images, {speed['simulate_s'] * 1e3:.0f} ms to simulate, "
        f"{speed['simulated_cycles_per_s'] / 1e6:.2f} million simulated cycles per second); a torch CSR product of the same "
        f"layer takes {speed['torch_csr_matvec_us'] / 1e3:.1f} ms in the same run "
        f"({speed['end_to_end_over_torch_csr']:.1f}x at load average {speed['load_average_1min']:.1f}, "
        f"{speed['torch_threads']} threads each; {speed['end_to_end_over_torch_csr_1_thread']:.1f}x with one thread each).",
    ]


def baseline_bullet(reports: Path) -> list[str]:
    rows = _load(reports / "baselines" / "latency.json")
    if not rows:
        return []
    ratios = [row["cpu_sparse_us"] / row["eie_simulated_us"] for row in rows]
    return [f"- **Torch baselines** (`accel report`): batch-1 CSR products on this CPU take "
            f"{min(r['cpu_sparse_us'] for r in rows) / 1e3:.2f}-{max(r['cpu_sparse_us'] for r in rows) / 1e3:.1f} ms per layer, "
            f"{min(ratios):.0f}-{max(ratios):.0f}x the simulated EIE latency"
            + ("" if "cuda_sparse_us" in rows[0] else " (no GPU on this machine)") + "."]


def rtl_bullet(reports: Path) -> list[str]:
    speed = _load(reports / "hdl" / "rtl_speed.json") or []
    entries = _load(reports / "hdl" / "synthesis.json") or []
    parts = []
    if speed:
        rates = " and ".join(f"{row['testbench cycles/s']:,} cycles/s at {row['PEs']} PEs" for row in speed)
        parts.append(f"Icarus runs {rates} over a whole load-compute-read-out run")
    for device in sorted({entry["device"] for entry in entries}):
        kinds = [kind for kind in DESIGNS if any(entry["device"] == device and entry["fits"] and design(entry) == kind
                                                 for entry in entries)][:2]  # the two newest designs routed there
        for kind in kinds:
            routed = [entry for entry in entries if entry["device"] == device and entry["fits"] and design(entry) == kind]
            if routed:
                best = largest(routed)
                resources = best["resources"]
                text = (f"on the {device} the largest recorded count of the {kind} design that placed and routed "
                        f"is {pes(best['n_pes'])} ({resources['luts']['used']:,} LUTs, "
                        f"{resources['brams']['used']} block RAMs, {best['fmax_mhz']:.1f} MHz)")
                most = largest_on_most_seeds(routed, 100.0)
                top = largest(routed, 100.0)
                if most and (not top or most[0] > top["n_pes"]):
                    text += f", {pes(most[0])} at 100 MHz or more on {len(most[1])} of {SEEDS} placement seeds"
                if top:
                    text += (f", the largest at 100 MHz or more on all {SEEDS} placement seeds {pes(top['n_pes'])} "
                             f"(worst seed {top['fmax_mhz']:.2f} MHz)")
                parts.append(text)
    latest = {build["board"]: build for build in _load(reports / "hdl" / "board.json") or []}  # recorded in order
    for build in latest.values():
        parts.append(f"a {build['board']} bitstream of {build['config']['n_pes']} PEs behind the UART bridge "
                     f"({build['resources']['luts']['used']:,} LUTs, {build['fmax_mhz']:.1f} MHz against its "
                     f"{build['clock_mhz']:g} MHz clock)")
    for run in (_load(reports / "hdl" / "gate_level.json") or [])[-1:]:
        config = run["design"]["config"]
        layers = ", ".join(f"{layer['layer']} {'booted holding it' if booted(run, layer) else 'loaded over the UART'}, "
                           f"{layer['array_cycles']:,} cycles (simulator {layer['simulator_cycles']:,})"
                           for layer in run["layers"])
        parts.append(f"the board's synthesised ECP5 netlist ({config['n_pes']} PEs, {run['design']['pll']['out_mhz']:g} MHz "
                     f"PLL, {run['design']['baud']:,} baud) under {run['simulator']} over its UART pins: {layers}, "
                     f"{'every output and cycle count equal' if run['passed'] else 'MISMATCHES'}")
    if not parts:
        return []
    campaign = _load(reports / "hdl" / "campaign.json")
    if campaign:
        parts.append(f"`accel verify`: {campaign['layers']:,} random layers, {campaign['clock_cycles']:,} clock cycles under "
                     f"Icarus, {campaign['mismatches']} mismatches")
    return ["- **RTL** (`make test`, `accel synth`, `accel verify`): zero output, cycle or counter mismatches against the "
            f"simulator in every co-simulation case; {'; '.join(parts)} ([reports/hdl](reports/hdl/README.md))."]


def energy_bullets(reports: Path) -> list[str]:
    record = _load(reports / "energy" / "energy.json")
    if not record:
        return []
    comparison, table = record["alex7"], record["table"]
    paper = comparison["paper"]["metrics"]
    readings = []
    for name, model in studies.compared_models(comparison).items():
        metrics, shares = model["metrics"], model["module_share_pct"]
        within = sum(abs(shares[part] - comparison["paper"]["module_share_pct"][part]) <= 5 for part in shares)
        readings.append(f"{name}: {metrics['energy_uJ']:.1f} uJ per inference (chip {paper['energy_uJ']:.1f}), "
                        f"{metrics['power_per_pe_mW']:.1f} mW per PE (Table II {paper['power_per_pe_mW']:.3f}), "
                        f"{metrics['pJ_per_peak_op']:.1f} pJ per peak operation (chip {paper['pJ_per_peak_op']:.1f}), "
                        f"{within} of {len(shares)} Table II module shares within 5 points")
    band = [row for row in record["band"]["summary"] if row["reading"] == "dynamic only"]
    span = {row["quantity"]: row for row in band}
    outside = [row["quantity"].split(" (")[0] for row in band if not row["paper_inside"]]
    structure = record["structure"]["dynamic only"]["modules"]
    fitted = sum(abs(row["calibrated_points"]) <= 5 for row in structure)
    rules = studies.width_rule_rows(record["sram_width"])
    minima = {rule: sorted({row["best_width_bits"] for row in rules if row["rule"] == rule}) for rule in studies.WIDTH_RULES}
    energy, power = span["energy per inference (uJ)"], span["power per PE (mW)"]
    bullets = [
        f"- **Energy vs the chip** (`accel energy`, {table['kind']} table at one supply voltage, {table['supply_V']:g} V, "
        "small storage priced by its implementation; synthetic Alex-7 at 64 PEs, 800 MHz, like for like): "
        + "; ".join(readings) + " (the previous rules keep each source at its own voltage and price small storage at "
        "Horowitz's register-file energy). Uncertainty band (supply " + "-".join(f"{v:g}" for v in record["band"]["voltages"][::2])
        + f" V, {len(record['band']['devices'])} CACTI device pairs, flip-flop or register-file small storage), dynamic "
        f"only: {energy['low']:.1f}-{energy['high']:.1f} uJ per inference, {power['low']:.1f}-{power['high']:.1f} mW per PE; "
        f"the chip inside for {len(band) - len(outside)} of {len(band)} quantities"
        + (f" (outside: {', '.join(outside)})" if outside else "") + ". Structure check (one factor per circuit type "
        f"fitted to Table II's type rows only), dynamic only: {fitted} of {len(structure)} module shares within 5 points. "
        "Sparse-matrix SRAM read energy is lowest at " + "; ".join(
            f"{'/'.join(str(width) for width in widths)} bits with {rule}" for rule, widths in minima.items())
        + " across the nine layers (paper: 64; the reasons are in [reports/energy](reports/energy/README.md))."]
    if record.get("precision"):
        parts = ", ".join(f"{row['format']} {row['accuracy_pct']:.2f} %" for row in record["precision"])
        bullets.append(f"- **Precision** (`accel energy`): compressed LeNet-300-100 on Fashion-MNIST: {parts}.")
    return bullets


def models_bullet(reports: Path) -> list[str]:
    parts = []
    for path in sorted((reports / "models").glob("*/eie_on_data.json")):
        record = json.loads(path.read_text())
        agreement, top1 = record["agreement"], record["top1_percent"]
        steps = [row for row in record["layers"] if row["invocations_per_sample"] > 1]
        parts.append(f"{path.parent.name} ({sum(row['runs_on'] == 'EIE' for row in record['import']['partition'])} "
                     f"operations on EIE, {sum(row['runs_on'] == 'host' for row in record['import']['partition'])} on the "
                     f"host): top-1 {top1['quantized_torch']:.1f} % quantized torch, {top1['eie']:.1f} % EIE, same class on "
                     f"{agreement['eie_vs_quantized_torch_percent']:.1f} % of {record['samples']:,} images, "
                     f"{record['model']['cycles']['mean']:,.0f} EIE cycles per image"
                     + "".join(f", {row['layer']} {row['cycles_per_invocation']:.0f} cycles per time step"
                               for row in steps if row["invocation"] == "time step"))
    if not parts:
        return []
    return ["- **Models of other shapes with real data** (`python -m examples.user_models_on_eie`, dataflow traced from "
            f"each model's forward, Fashion-MNIST): {'; '.join(parts)} ([reports/models](reports/models/README.md))."]


def startup_bullet(reports: Path) -> list[str]:
    record = _load(reports / "sim" / "startup.json")
    if not record:
        return []
    runs = record["runs"]
    parts = []
    for index, row in enumerate(runs[0]["rows"]):
        before = "".join(f" ({run['label']} {run['commit']}: {run['rows'][index]['cpu_s_median']:.2f} s)" for run in runs[1:])
        parts.append(f"`accel {row['command']}` {row['cpu_s_median']:.2f} s{before}")
    return ["- **Start-up** (`accel bench --startup`, CPU seconds of whole processes, medians): " + ", ".join(parts)
            + f"; reference {record['reference']['cpu_s']:.2f} s for `{record['reference']['command']}` "
            "([reports/sim/startup.md](reports/sim/startup.md))."]


def measured_section(reports: Path) -> str:
    lines = [BEGIN, *compression_bullet(reports), *models_bullet(reports), *bench_bullets(reports),
             *startup_bullet(reports), *energy_bullets(reports), *baseline_bullet(reports), *rtl_bullet(reports), END]
    return "\n".join(lines)


def update_readme(readme: Path, reports: Path) -> Path | None:
    """Rewrite the measured section of ``readme`` (when it has the markers) from ``reports``."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return None
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    return write_text_atomic(readme, text[:start] + measured_section(reports) + text[stop:])

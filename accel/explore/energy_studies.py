"""Energy studies against the EIE paper: Table II on Alex-7, SRAM width, padding and load vs PEs, Table V.

All layers are the synthetic stand-ins of ``accel.benchmarks`` (uniform random weights with the
paper's shapes and densities). Energies come from an ``EnergyTable``; the comparison metrics are
like for like: energy per inference, power per PE (energy / (PEs x latency)), energy per PE-cycle
and energy per *peak* operation (power / (PEs x clock x 2)), the chip's 5.8 pJ.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from accel.arch.benchmarks import (
    BENCHMARK_LAYERS,
    CHIP,
    TABLE_II_MODULES_MW,
    TABLE_II_PE_MW,
    TABLE_II_TYPES_MW,
    benchmark_layer,
    synthetic_inputs,
    synthetic_layer,
)
from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.images import build_layer_image
from sim.energy import MODULES, TYPES, EnergyBreakdown, eie_energy, useful_macs
from sim.fast import simulate_layer

CHIP_CONFIG = ArchConfig(acc_bits=16)
"""The chip: 64 PEs, 800 MHz, FIFO 8, 64-bit lines, 16-bit destination registers (accel/arch/TIMING.md)."""
SRAM_WIDTHS = (32, 64, 128, 256, 512)
PE_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def like_for_like(breakdown: EnergyBreakdown, cycles: int, config: ArchConfig) -> dict[str, float]:
    """The chip's metrics for one simulated inference: uJ, mW per PE, pJ per PE-cycle, pJ per peak op, frames/s, frames/J."""
    seconds = cycles * config.cycle_ns * 1e-9
    energy_j = breakdown.total_pj * 1e-12
    peak_ops_per_s = config.n_pes * config.clock_mhz * 1e6 * 2
    return {"latency_us": seconds * 1e6, "energy_uJ": energy_j * 1e6,
            "power_per_pe_mW": energy_j / seconds / config.n_pes * 1e3,
            "pJ_per_pe_cycle": breakdown.total_pj / (config.n_pes * cycles),
            "pJ_per_peak_op": energy_j / seconds / peak_ops_per_s * 1e12,
            "pJ_per_useful_op": breakdown.pj_per_op,
            "frames_per_s": 1 / seconds, "frames_per_J": 1 / energy_j, "power_W": energy_j / seconds}


def chip_metrics() -> dict[str, float]:
    """The same metrics for the chip (Table II, Table V and the Alex-7 latency of Table IV)."""
    seconds = CHIP["alex7_us"] * 1e-6
    peak = CHIP["n_pes"] * CHIP["clock_mhz"] * 1e6 * 2
    return {"latency_us": CHIP["alex7_us"], "energy_uJ": CHIP["power_W"] * seconds * 1e6,
            "power_per_pe_mW": TABLE_II_PE_MW,
            "pJ_per_pe_cycle": TABLE_II_PE_MW * 1e-3 / (CHIP["clock_mhz"] * 1e6) * 1e12,
            "pJ_per_peak_op": CHIP["power_W"] / peak * 1e12,
            "frames_per_s": CHIP["frames_per_s"], "frames_per_J": CHIP["frames_per_J"], "power_W": CHIP["power_W"]}


def alex7_comparison(table: EnergyTable, seed: int = 0) -> dict:
    """Alex-7 at the chip's config under ``table``, with and without SRAM leakage, beside Table II.

    Also runs the default 32-bit accumulator and records whether every output is the same, which
    is what allows the chip's 16-bit destination registers here.
    """
    spec = benchmark_layer("Alex-7")
    layer = synthetic_layer(spec, seed=seed)
    inputs = synthetic_inputs(spec, CHIP_CONFIG, seed)
    result = simulate_layer(build_layer_image(layer, CHIP_CONFIG), inputs)
    wide = simulate_layer(build_layer_image(layer, CHIP_CONFIG.replace(acc_bits=32)), inputs)
    macs = useful_macs(layer.codes, inputs)
    models = {"with leakage": eie_energy(result, table, macs), "dynamic only": eie_energy(result, table, macs, leakage=False)}
    paper_total = TABLE_II_PE_MW
    out = {"layer": "Alex-7", "seed": seed, "config": CHIP_CONFIG.to_dict(), "table": table.label, "table_kind": table.kind,
           "cycles": result.cycles, "efficiency": result.efficiency,
           "outputs_equal_with_32_bit_accumulators": bool(np.array_equal(result.outputs, wide.outputs)),
           "paper": {"metrics": chip_metrics(),
                     "module_share_pct": {k: 100 * v / paper_total for k, v in TABLE_II_MODULES_MW.items()},
                     "type_share_pct": {k: 100 * v / paper_total for k, v in TABLE_II_TYPES_MW.items()}},
           "models": {}}
    for name, breakdown in models.items():
        total = breakdown.total_pj
        out["models"][name] = {
            "metrics": like_for_like(breakdown, result.cycles, CHIP_CONFIG),
            "module_share_pct": {k: 100 * breakdown.components[k] / total for k in MODULES if k != "DRAM"},
            "type_share_pct": {k: 100 * breakdown.by_type[k] / total for k in TYPES if k != "DRAM"},
            "energy": breakdown.to_dict()}
    return out


def share_rows(comparison: dict) -> list[dict]:
    """One row per Table II module and type: the paper's share and each model's (percent), the gap in points,
    and the power per PE behind each share (mW)."""
    rows = []
    paper_mw = comparison["paper"]["metrics"]["power_per_pe_mW"]
    for group, key in (("module", "module_share_pct"), ("type", "type_share_pct")):
        for part, paper in comparison["paper"][key].items():
            row = {"group": group, "part": part, "paper_pct": paper, "paper_mW": paper * paper_mw / 100}
            for name, model in comparison["models"].items():
                row[f"{name}_pct"] = model[key][part]
                row[f"{name}_points"] = model[key][part] - paper
                row[f"{name}_mW"] = model[key][part] * model["metrics"]["power_per_pe_mW"] / 100
            rows.append(row)
    return rows


def metric_rows(comparison: dict) -> list[dict]:
    """Like-for-like metrics: paper, each model, and the model's difference in percent."""
    paper = comparison["paper"]["metrics"]
    rows = []
    for metric in ("energy_uJ", "power_per_pe_mW", "pJ_per_pe_cycle", "pJ_per_peak_op", "latency_us", "frames_per_J"):
        row = {"metric": metric, "paper": paper[metric]}
        for name, model in comparison["models"].items():
            row[name] = model["metrics"][metric]
            row[f"{name}_difference_pct"] = 100 * (model["metrics"][metric] / paper[metric] - 1)
        rows.append(row)
    return rows


def sram_width_study(table: EnergyTable, seed: int = 0, widths: Iterable[int] = SRAM_WIDTHS,
                     names: Iterable[str] | None = None, progress=None) -> list[dict]:
    """Sparse-matrix SRAM line reads, energy per read and their product for each line width and layer."""
    rows = []
    specs = [benchmark_layer(name) for name in names] if names is not None else list(BENCHMARK_LAYERS)
    for spec in specs:
        layer = synthetic_layer(spec, seed=seed)
        for width in widths:
            config = CHIP_CONFIG.replace(line_bits=width)
            image = build_layer_image(layer, config)
            inputs = synthetic_inputs(spec, config, seed)
            result = simulate_layer(image, inputs)
            reads = result.counters["spmat_line_reads"]
            spans = lines_spanned(image, inputs)
            per_read = table.sram_read(config.spmat_sram_bytes, width)
            rows.append({"layer": spec.name, "width_bits": width, "line_reads": reads, "pJ_per_read": per_read,
                         "read_energy_uJ": reads * per_read / 1e6, "cycles": result.cycles,
                         "what_if_no_line_reuse_reads": spans, "what_if_no_line_reuse_uJ": spans * per_read / 1e6})
            if progress is not None:
                progress.update(1)
    return rows


def lines_spanned(image, inputs: np.ndarray) -> int:
    """What-if, not a simulator counter: line reads if every broadcast column re-read its first line.

    The timing rules let a PE skip reading a line it has just read (accel/arch/TIMING.md); without that
    reuse each non-empty column costs the lines it spans.
    """
    columns = np.flatnonzero(inputs)
    per_line = image.config.entries_per_line
    total = 0
    for batch in image.batches:
        for pe in batch.pes:
            starts, ends = pe.pointers[columns], pe.pointers[columns + 1]
            full = ends > starts
            total += int(((ends[full] - 1) // per_line - starts[full] // per_line + 1).sum())
    return total


def width_minima(rows: list[dict]) -> dict[str, int]:
    """The width with the least sparse-matrix read energy, per layer."""
    best: dict[str, tuple[float, int]] = {}
    for row in rows:
        if row["layer"] not in best or row["read_energy_uJ"] < best[row["layer"]][0]:
            best[row["layer"]] = (row["read_energy_uJ"], row["width_bits"])
    return {layer: width for layer, (_, width) in best.items()}


def pe_padding_study(seed: int = 0, counts: Iterable[int] = PE_COUNTS, names: Iterable[str] | None = None,
                     progress=None) -> list[dict]:
    """Padding entries and ALU load efficiency for each PE count, register files sized so a layer runs as one batch."""
    rows = []
    specs = [benchmark_layer(name) for name in names] if names is not None else list(BENCHMARK_LAYERS)
    for spec in specs:
        layer = synthetic_layer(spec, seed=seed)
        for n_pes in counts:
            config = CHIP_CONFIG.replace(n_pes=n_pes, regfile_entries=math.ceil(spec.outputs / n_pes))
            image = build_layer_image(layer, config)
            result = simulate_layer(image, synthetic_inputs(spec, config, seed))
            real = image.total_entries - image.padding_entries
            rows.append({"layer": spec.name, "n_pes": n_pes, "regfile_entries": config.regfile_entries,
                         "padding_entries": image.padding_entries, "real_entries": real,
                         "padding_pct_of_real": 100 * image.padding_entries / max(1, real),
                         "load_efficiency": result.efficiency, "cycles": result.cycles})
            if progress is not None:
                progress.update(1)
    return rows


def table_v_rows(comparison: dict, baselines: list[dict] | None = None) -> list[dict]:
    """Table V's EIE columns for the simulated EIE (each model) beside the paper's row and measured baselines."""
    rows = [{"platform": "EIE chip (paper, Table V)", "frames_per_s": CHIP["frames_per_s"], "power_W": CHIP["power_W"],
             "frames_per_J": CHIP["frames_per_J"], "source": "paper"}]
    for name, model in comparison["models"].items():
        metrics = model["metrics"]
        rows.append({"platform": f"simulated EIE, {comparison['table_kind']} energy, {name}",
                     "frames_per_s": metrics["frames_per_s"], "power_W": metrics["power_W"],
                     "frames_per_J": metrics["frames_per_J"], "source": "simulator (synthetic Alex-7)"})
    for baseline in baselines or []:
        rows.append(baseline)
    return rows

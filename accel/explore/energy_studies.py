"""Energy studies against the EIE paper: Table II on Alex-7, its uncertainty band and structure check, SRAM width,
padding and load vs PEs, Table V.

All layers are the synthetic stand-ins of ``accel.benchmarks`` (uniform random weights with the
paper's shapes and densities). Energies come from an ``EnergyTable``; the comparison metrics are
like for like: energy per inference, power per PE (energy / (PEs x latency)), energy per PE-cycle
and energy per *peak* operation (power / (PEs x clock x 2)), the chip's 5.8 pJ.

Alex-7 is simulated once; every table (the predicted one, the previous rules, each point of the band)
prices the same activity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

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
from accel.arch.energy import PRICINGS, EnergyTable, SramGrid
from accel.arch.images import build_layer_image
from accel.sim.energy import MODULES, TYPES, EnergyBreakdown, eie_energy, useful_macs
from accel.sim.fast import simulate_layer
from accel.sim.results import LayerResult

CHIP_CONFIG = ArchConfig(acc_bits=16)
"""The chip: 64 PEs, 800 MHz, FIFO 8, 64-bit lines, 16-bit destination registers (accel/arch/TIMING.md)."""
SRAM_WIDTHS = (32, 64, 128, 256, 512)
PE_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
READINGS = {"dynamic only": False, "with leakage": True}
"""The two readings of every table: without and with SRAM leakage (leakage is never folded in silently)."""
PREVIOUS = "previous rules"
BAND_VOLTAGES = (0.9, 1.0, 1.1)
"""The supply voltage's published range: Horowitz's 0.9 V to the Nangate library's 1.1 V (CACTI HP periphery: 1.0 V)."""
PE_MODULES = tuple(m for m in MODULES if m != "DRAM")
PE_TYPES = tuple(t for t in TYPES if t != "DRAM")


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


def previous_rules(table: EnergyTable) -> EnergyTable:
    """The rules before one supply voltage and priced small storage: each source at its own voltage, storage below
    the boundary at Horowitz's register-file energy."""
    return table.variant(name="each source at its own voltage, small storage at Horowitz's register-file energy",
                         supply_voltage=None, small_storage_pricing="register file")


def simulate_alex7(seed: int = 0) -> tuple[LayerResult, int, bool]:
    """Alex-7 at the chip's config: the result, its useful multiply-accumulates, and whether every output equals the
    run with 32-bit accumulators (which is what allows the chip's 16-bit destination registers here)."""
    spec = benchmark_layer("Alex-7")
    layer = synthetic_layer(spec, seed=seed)
    inputs = synthetic_inputs(spec, CHIP_CONFIG, seed)
    result = simulate_layer(build_layer_image(layer, CHIP_CONFIG), inputs)
    wide = simulate_layer(build_layer_image(layer, CHIP_CONFIG.replace(acc_bits=32)), inputs)
    return result, useful_macs(layer, inputs), bool(np.array_equal(result.outputs, wide.outputs))


def priced(result: LayerResult, macs: int, table: EnergyTable) -> dict[str, dict]:
    """Both readings of ``table`` on one simulated run: like-for-like metrics, Table II shares, every term."""
    models = {}
    for reading, leakage in READINGS.items():
        breakdown = eie_energy(result, table, macs, leakage=leakage)
        total = breakdown.total_pj
        models[reading] = {
            "metrics": like_for_like(breakdown, result.cycles, result.config),
            "module_share_pct": {k: 100 * breakdown.components[k] / total for k in PE_MODULES},
            "type_share_pct": {k: 100 * breakdown.by_type[k] / total for k in PE_TYPES},
            "energy": breakdown.to_dict()}
    return models


def alex7_comparison(table: EnergyTable, run: tuple[LayerResult, int, bool], seed: int) -> dict:
    """Alex-7 (``run``, from ``simulate_alex7(seed)``) under ``table`` and the previous rules, both readings, beside Table II."""
    result, macs, equal = run
    paper_total = TABLE_II_PE_MW
    return {"layer": "Alex-7", "seed": seed, "config": CHIP_CONFIG.to_dict(), "table": table.label, "table_kind": table.kind,
            "cycles": result.cycles, "efficiency": result.efficiency, "outputs_equal_with_32_bit_accumulators": equal,
            "paper": {"metrics": chip_metrics(),
                      "module_share_pct": {k: 100 * v / paper_total for k, v in TABLE_II_MODULES_MW.items()},
                      "type_share_pct": {k: 100 * v / paper_total for k, v in TABLE_II_TYPES_MW.items()}},
            "models": priced(result, macs, table),
            "previous": {"table": previous_rules(table).label, "models": priced(result, macs, previous_rules(table))}}


def compared_models(comparison: dict) -> dict[str, dict]:
    """The table's two readings, then the previous rules' two, under the column names the pages use."""
    previous = {f"{PREVIOUS}, {name}": model for name, model in comparison["previous"]["models"].items()}
    return {**comparison["models"], **previous}


def share_rows(comparison: dict) -> list[dict]:
    """One row per Table II module and type: the paper's share and each model's (percent), the gap in points,
    and the power per PE behind each share (mW)."""
    rows = []
    paper_mw = comparison["paper"]["metrics"]["power_per_pe_mW"]
    for group, key in (("module", "module_share_pct"), ("type", "type_share_pct")):
        for part, paper in comparison["paper"][key].items():
            row = {"group": group, "part": part, "paper_pct": paper, "paper_mW": paper * paper_mw / 100}
            for name, model in compared_models(comparison).items():
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
        for name, model in compared_models(comparison).items():
            row[name] = model["metrics"][metric]
            row[f"{name}_difference_pct"] = 100 * (model["metrics"][metric] / paper[metric] - 1)
        rows.append(row)
    return rows


def band_devices(table: EnergyTable, devices: list[dict], folder: Path) -> list[SramGrid]:
    """The CACTI grids recorded in ``folder`` for the device pairs of ``devices`` (rows of ``devices.csv``) whose
    128 KB array reads within the cycle, other than the table's own."""
    pairs = [(row["cell_type"], row["peripheral_type"]) for row in devices if row["fits_one_800MHz_cycle"] == "yes"]
    return [SramGrid.from_cacti_csv(folder / f"grid_{cells}_{periphery}.csv", cells, periphery)
            for cells, periphery in pairs if (cells, periphery) != (table.sram.cells, table.sram.periphery)]


def band_tables(table: EnergyTable, devices: Iterable[SramGrid]) -> list[tuple[dict, EnergyTable]]:
    """``table`` at every combination of the band's parameters: supply voltage, SRAM device pair, small-storage pricing.

    ``devices`` are the CACTI device pairs other than the table's own that read within the cycle; the table's own
    grid is always the first, so the nominal prediction is one of the points.
    """
    grids = [table.sram, *devices]
    return [({"supply_V": volts, "sram": grid.label, "small_storage": pricing},
             table.variant(supply_voltage=volts, sram=grid, small_storage_pricing=pricing))
            for volts in BAND_VOLTAGES for grid in grids for pricing in PRICINGS]


def band_quantities(model: dict) -> dict[str, float]:
    """What the band covers, from one priced reading: energy per inference, power per PE and each module's power."""
    power = model["metrics"]["power_per_pe_mW"]
    return {"energy per inference (uJ)": model["metrics"]["energy_uJ"], "power per PE (mW)": power,
            **{f"{module} (mW per PE)": power * model["module_share_pct"][module] / 100 for module in PE_MODULES}}


def paper_quantities() -> dict[str, float]:
    """The chip's values of ``band_quantities``: 0.59 W x 12.2 us, Table II's PE and module rows."""
    return {"energy per inference (uJ)": chip_metrics()["energy_uJ"], "power per PE (mW)": TABLE_II_PE_MW,
            **{f"{module} (mW per PE)": TABLE_II_MODULES_MW[module] for module in PE_MODULES}}


def band_points(result: LayerResult, macs: int, table: EnergyTable, devices: Iterable[SramGrid]) -> list[dict]:
    """Every point of the band, both readings: its parameters and its quantities."""
    rows = []
    for parameters, variant in band_tables(table, devices):
        for reading, model in priced(result, macs, variant).items():
            rows.append({**parameters, "reading": reading, **band_quantities(model)})
    return rows


def band_summary(points: list[dict], nominal: dict[str, dict]) -> list[dict]:
    """Per reading and quantity: the band (lowest, highest point), the nominal prediction and the chip's value."""
    paper = paper_quantities()
    rows = []
    for reading in READINGS:
        mine = [point for point in points if point["reading"] == reading]
        for quantity, chip in paper.items():
            low, high = min(p[quantity] for p in mine), max(p[quantity] for p in mine)
            rows.append({"reading": reading, "quantity": quantity, "low": low, "nominal": nominal[reading][quantity],
                         "high": high, "paper": chip, "paper_inside": low <= chip <= high})
    return rows


def band_spans(points: list[dict], nominal: dict) -> list[dict]:
    """How far each parameter alone moves each quantity: the band's points with the other parameters at ``nominal``."""
    rows = []
    for parameter in nominal:
        for reading in READINGS:
            alone = [point for point in points if point["reading"] == reading
                     and all(point[key] == value for key, value in nominal.items() if key != parameter)]
            for quantity in paper_quantities():
                values = [point[quantity] for point in alone]
                rows.append({"parameter": parameter, "reading": reading, "quantity": quantity,
                             "low": min(values), "high": max(values)})
    return rows


def uncertainty_band(table: EnergyTable, alex7: tuple[LayerResult, int, bool], devices: list[SramGrid]) -> dict:
    """The band of ``table`` on Alex-7: its parameters, every point, the summary per quantity and each parameter's span."""
    result, macs, _ = alex7
    points = band_points(result, macs, table, devices)
    rules = {"supply_V": table.supply_voltage, "sram": table.sram.label, "small_storage": table.small_storage_pricing}
    nominal = {reading: band_quantities(model) for reading, model in priced(result, macs, table).items()}
    return {"voltages": list(BAND_VOLTAGES), "devices": [table.sram.label, *(device.label for device in devices)],
            "nominal": rules, "points": points, "summary": band_summary(points, nominal), "spans": band_spans(points, rules)}


def fit_type_factors(model_type_mw: dict[str, float], paper_type_mw: dict[str, float]) -> dict[str, float]:
    """One factor per circuit type that makes the model's power of that type equal the paper's (Table II's type rows)."""
    return {kind: paper_type_mw[kind] / model_type_mw[kind] for kind in PE_TYPES}


def power_matrix(model: dict) -> dict[str, dict[str, float]]:
    """A priced reading's power per PE (mW) by module and type, from its terms."""
    energy, power = model["energy"], model["metrics"]["power_per_pe_mW"]
    matrix = {module: dict.fromkeys(PE_TYPES, 0.0) for module in PE_MODULES}
    for term in energy["terms"]:
        matrix[term["module"]][term["type"]] += power * energy["activity"][term["activity"]] * term["pJ"] / energy["total_pJ"]
    return matrix


def structure_check(model: dict) -> dict:
    """Calibrate one factor per circuit type to Table II's four type rows only; compare the five module rows.

    The module rows are not used by the fit: if the counted activity and its attribution to modules are right,
    the module shares follow once each type's level is right.
    """
    matrix = power_matrix(model)
    model_types = {kind: sum(row[kind] for row in matrix.values()) for kind in PE_TYPES}
    factors = fit_type_factors(model_types, TABLE_II_TYPES_MW)
    calibrated = {module: sum(row[kind] * factors[kind] for kind in PE_TYPES) for module, row in matrix.items()}
    predicted = {module: sum(row.values()) for module, row in matrix.items()}
    total_calibrated, total_predicted = sum(calibrated.values()), sum(predicted.values())
    rows = [{"module": module, "paper_mW": TABLE_II_MODULES_MW[module], "paper_pct": 100 * TABLE_II_MODULES_MW[module] / TABLE_II_PE_MW,
             "predicted_mW": predicted[module], "predicted_pct": 100 * predicted[module] / total_predicted,
             "calibrated_mW": calibrated[module], "calibrated_pct": 100 * calibrated[module] / total_calibrated,
             "calibrated_points": 100 * calibrated[module] / total_calibrated - 100 * TABLE_II_MODULES_MW[module] / TABLE_II_PE_MW,
             "calibrated_by_type_mW": {kind: matrix[module][kind] * factors[kind] for kind in PE_TYPES}}
            for module in PE_MODULES]
    return {"kind": "calibrated",
            "fit": "one factor per circuit type (memory, register, combinational, clock), each the ratio of Table II's "
                   "type row to the predicted power of that type; Table II's module rows are not used",
            "factors": factors, "model_type_mW": model_types, "paper_type_mW": dict(TABLE_II_TYPES_MW), "modules": rows}


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


WIDTH_RULES = {"lines reused": "read_energy_uJ", "first line re-read": "what_if_no_line_reuse_uJ"}
"""The two line-read rules of the width study: the simulator's (a PE skips re-reading the line it read last, as the
timing rules allow) and the what-if in which every column reads its first line again."""


def width_minima(rows: list[dict], key: str = "read_energy_uJ") -> dict[str, int]:
    """The width with the least sparse-matrix read energy (``key``), per layer."""
    best: dict[str, tuple[float, int]] = {}
    for row in rows:
        if row["layer"] not in best or row[key] < best[row["layer"]][0]:
            best[row["layer"]] = (row[key], row["width_bits"])
    return {layer: width for layer, (_, width) in best.items()}


def width_rule_rows(rows: list[dict]) -> list[dict]:
    """Per layer and line-read rule: the cheapest width and how much more 64 bits (the paper's optimum) costs."""
    out = []
    for rule, key in WIDTH_RULES.items():
        minima = width_minima(rows, key)
        energy = {(row["layer"], row["width_bits"]): row[key] for row in rows}
        for layer, width in minima.items():
            out.append({"rule": rule, "layer": layer, "best_width_bits": width,
                        "64_bit_excess_pct": 100 * (energy[layer, 64] / energy[layer, width] - 1),
                        "64_bit_rank": 1 + sum(energy[layer, w] < energy[layer, 64] for l, w in energy if l == layer)})
    return out


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

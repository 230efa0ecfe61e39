"""The page of a sweep folder (``README.md``, Pareto front, each axis's effect) from ``results.csv`` and ``sweep.json``."""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path
from typing import Any

from accel.arch.files import write_text_atomic
from accel.report import sweep_plots
from accel.report.tables import format_table

THROUGHPUT_JSON = "throughput.json"
SCHEDULER_OVERHEAD_S = 1e-3
"""Dask's documented scheduler overhead per task (about 1 ms): a bound on tasks per second, not a measurement."""
NODES = 16
EFFECT_METRICS = {"simulate": ("latency_us", "energy_uJ"), "synthesis": ("fmax_mhz", "luts")}
FRONT_ROWS = 12
AXIS_WORDS = {
    "n_pes": ("processing elements", "PE count"), "fifo_depth": ("activation FIFO depth (entries)", "FIFO depth"),
    "line_bits": ("sparse-matrix SRAM line width (bits)", "line width"), "code_bits": ("weight code width (bits)", "code width"),
    "index_bits": ("relative index width (bits)", "index width"), "act_bits": ("activation width (bits)", "activation width"),
    "act_frac": ("activation fraction bits", "activation fraction bits"),
    "weight_bits": ("codebook value width (bits)", "weight width"), "weight_frac": ("codebook value fraction bits", "weight fraction bits"),
    "acc_bits": ("accumulator width (bits)", "accumulator width"),
    "regfile_entries": ("destination register file entries per PE", "register file entries"),
    "ptr_bits": ("column pointer width (bits)", "pointer width"), "clock_mhz": ("clock (MHz)", "clock"),
    "spmat_sram_bytes": ("sparse-matrix SRAM per PE (bytes)", "sparse-matrix SRAM"),
    "ptr_sram_bytes": ("pointer SRAM per PE (bytes)", "pointer SRAM"),
    "act_sram_bytes": ("activation SRAM per PE (bytes)", "activation SRAM"),
    "pipeline_latency": ("pipeline drain (cycles)", "pipeline drain"),
    "broadcast_latency": ("broadcast register stages", "broadcast stages"),
    "empty_column_cycles": ("cycles per empty column", "empty-column cycles"),
    "length_register": ("column length registered once more", "length register"),
    "workload": ("workload", "workload"), "energy_table": ("energy table", "energy table"), "seed": ("seed", "seed"),
    "device": ("FPGA device", "device"), "router": ("nextpnr router", "router"),
}
"""Each axis in words, with its unit, for a figure's axis label, and short, for "relative to SHORT = value"."""
METRIC_WORDS = {"latency_us": "latency", "energy_uJ": "EIE energy", "fmax_mhz": "Fmax", "luts": "LUTs"}


def read_results(folder: Path) -> list[dict[str, Any]]:
    """The rows of ``results.csv`` with numbers as numbers and empty cells as None."""
    with open(folder / "results.csv", newline="") as file:
        return [{key: _value(text) for key, text in row.items()} for row in csv.DictReader(file)]


def _value(text: str) -> Any:
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def write_sweep_page(folder: Path) -> Path:
    """Render the plots and ``README.md`` of a sweep folder from its recorded results."""
    record = json.loads((folder / "sweep.json").read_text())
    rows = read_results(folder)
    spec = record["spec"]
    ok = [row for row in rows if row["status"] == "ok"]
    groups = _groups(spec, ok)
    note = "synthetic weights" if any(not str(w).endswith((".npz", ".pt", ".pth")) for w in _workloads(spec)) else ""
    images = []
    if {"latency_us", "energy_uJ"} <= set(spec["metrics"]) and ok:
        sweep_plots.pareto_plot(folder / "pareto.png", {name: points(members) for name, members in groups.items()},
                                "latency (µs, log scale)", "EIE energy per inference (µJ, log scale)",
                                "Energy vs latency: every point, and each workload's Pareto front over the designs "
                                "that fit on chip", note=note)
        images.append("pareto")
    effects = []
    for axis, values in spec["axes"].items():
        if axis == "workload" or len(values) < 2:
            continue
        panels = _effects(axis, values, groups, [m for m in EFFECT_METRICS[spec["kind"]] if m in spec["metrics"]])
        if panels:
            name = f"effect_{re.sub(r'[^A-Za-z0-9_]+', '_', axis)}"
            words, short = _words(axis)
            sweep_plots.effect_plot(
                folder / f"{name}.png", [_label(v) for v in values],
                {f"{METRIC_WORDS[metric]} (ratio to {short} = {_label(values[0])})": series
                 for metric, series in panels.items()},
                words, f"Effect of the {short} (median over the other axes, every point)", note=note)
            effects.append((axis, values, name, panels))
    throughput = json.loads((folder / THROUGHPUT_JSON).read_text()) if (folder / THROUGHPUT_JSON).exists() else None
    return write_text_atomic(folder / "README.md", readme(record, rows, groups, effects, images, throughput))


def _words(axis: str) -> tuple[str, str]:
    return AXIS_WORDS.get(axis, (axis.replace("_", " "),) * 2)


def fits(row: dict[str, Any]) -> bool:
    """Whether a point's design fits on chip; a sweep that did not record it counts every design as fitting."""
    return row.get("fits_on_chip") is not False


def points(members: list[dict[str, Any]]) -> sweep_plots.Points:
    return sweep_plots.Points([r["latency_us"] for r in members], [r["energy_uJ"] for r in members],
                              [fits(r) for r in members])


def _workloads(spec: dict) -> list[Any]:
    return spec["axes"].get("workload") or [spec["base"].get("workload", "")]


def _groups(spec: dict, ok: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    if "workload" not in spec["axes"]:
        return {"all points": ok} if ok else {}
    return {str(name): members for name in spec["axes"]["workload"]
            if (members := [row for row in ok if row["workload"] == name])}


def _label(value: Any) -> str:
    return Path(value).name if isinstance(value, str) and "/" in value else str(value)


def _effects(axis: str, values: list[Any], groups: dict[str, list[dict]], metrics: list[str]) -> dict[str, dict[str, list[float]]]:
    """Per metric and group: the median at each axis value over the other axes, over the median at the first."""
    panels: dict[str, dict[str, list[float]]] = {}
    for metric in metrics:
        series = {}
        for name, members in groups.items():
            medians = []
            for value in values:
                found = [row[metric] for row in members if row[axis] == value and isinstance(row[metric], (int, float))]
                medians.append(statistics.median(found) if found else None)
            if medians[0] and all(m is not None and m > 0 for m in medians):
                series[name] = [m / medians[0] for m in medians]
        if series:
            panels[metric] = series
    return panels


def readme(record: dict, rows: list[dict], groups: dict[str, list[dict]], effects: list, images: list[str],
           throughput: dict | None = None) -> str:
    """The page's Markdown: every number comes from ``sweep.json`` and ``results.csv``."""
    spec = record["spec"]
    failed = [row for row in rows if row["status"] != "ok"]
    lines = [
        f"# Sweep: {record.get('name', 'results')}",
        "",
        f"Regenerate: `{record.get('command', 'accel sweep SPEC')}` (points already in the cache are not recomputed). "
        f"Table: `results.csv` (one row per point); record: `sweep.json`.",
        "",
        f"{record['points']:,} points ({spec['kind']}): {record['computed']:,} computed in {record['wall_s']:.1f} s on "
        f"{record['executor']} ({record['points_per_s']:.2f} points/s), {record['cached']:,} from the cache, "
        f"{record['failed']:,} failed. {record['cpu_cores']} CPU cores, 1-minute load average "
        f"{record['load_average_1min']:.1f} at the end; code version {record['code_version']}.",
        "",
        format_table(["axis", "values"], [[name, ", ".join(_label(v) for v in values)] for name, values in spec["axes"].items()]
                     + [[f"{name} (fixed)", _label(value)] for name, value in spec["base"].items()], markdown=True),
        "",
    ]
    if "pareto" in images:
        lines += pareto_section(spec, rows, groups)
    if effects:
        lines += ["## Effect of each axis", "",
                  "Each line is one workload: the median of the metric over the other axes at each value of the axis, "
                  "relative to its median at the first value; over every point, whether its design fits on chip or not "
                  "(the simulator runs a design as if its memories held the workload).", ""]
        for axis, values, name, panels in effects:
            spans = "; ".join(f"{METRIC_WORDS[metric]} x{min(s[-1] for s in series.values()):.3g} to x{max(s[-1] for s in series.values()):.3g}"
                              for metric, series in panels.items())
            lines += [f"### {axis}", "", f"From {_words(axis)[1]} = {_label(values[0])} to {_label(values[-1])}: {spans}.", "",
                      f"![{axis}]({name}.png)", ""]
    if throughput is not None:
        lines += throughput_section(throughput, record)
    if failed:
        lines += ["## Failed points", "",
                  format_table(["point", "error"], [[row["point"], row["error"]] for row in failed[:20]], markdown=True), ""]
        if len(failed) > 20:
            lines += [f"and {len(failed) - 20} more (see `results.csv`).", ""]
    return "\n".join(lines)


def pareto_section(spec: dict, rows: list[dict], groups: dict[str, list[dict]]) -> list[str]:
    """The front table over the designs that fit on chip, and which designs do not fit."""
    axes = [name for name in spec["axes"] if name != "workload"]
    recorded = "fits_on_chip" in spec["metrics"]
    lines = ["## Energy vs latency", "",
             "A point is on the Pareto front when no other point of the same workload whose design fits on chip has both "
             "lower latency and lower energy. "
             + ("A design that does not fit (its PE memories cannot hold the workload: sparse-matrix SRAM, pointer "
                "SRAM or pointer width) is drawn as a cross and kept off the front."
                if recorded else "This sweep did not record whether each design fits on chip (`fits_on_chip`): every "
                "point counts as fitting; rerun the sweep to record it."), "", "![pareto](pareto.png)", ""]
    table, none_fit = [], []
    for name, members in groups.items():
        front = sweep_plots.pareto_front([r["latency_us"] for r in members], [r["energy_uJ"] for r in members],
                                         [fits(r) for r in members])
        if not front:
            none_fit.append(name)
        for index in front[:FRONT_ROWS]:
            row = members[index]
            table.append([name, *(_label(row[a]) for a in axes), row["latency_us"], row["energy_uJ"]])
    lines += [format_table(["workload", *axes, "latency us", "energy uJ"], table, markdown=True), "",
              f"(at most {FRONT_ROWS} front points per workload, by rising latency"
              + (f"; no front for {', '.join(none_fit)}: none of its designs fits on chip" if none_fit else "") + ")", ""]
    if recorded:
        lines += fit_table(axes, rows, groups)
    return lines


def fit_table(axes: list[str], rows: list[dict], groups: dict[str, list[dict]]) -> list[str]:
    """How many designs of each workload fit on chip, and the smallest PE count that does (when PEs are an axis)."""
    ok = [row for row in rows if row["status"] == "ok"]
    unfit = [row for row in ok if not fits(row)]
    headers = ["workload", "designs that fit", *(["fewest PEs that fit"] if "n_pes" in axes else [])]
    table = []
    for name, members in groups.items():
        fitting = [row for row in members if fits(row)]
        table.append([name, f"{len(fitting)} of {len(members)}",
                      *([min((row["n_pes"] for row in fitting), default="none")] if "n_pes" in axes else [])])
    return [f"{len(unfit):,} of the {len(ok):,} points do not fit on chip.", "",
            format_table(headers, table, markdown=True), ""]


def throughput_section(throughput: dict, record: dict) -> list[str]:
    """Measured points per second on each executor, and on paper how that scales to a cluster."""
    runs = {run["executor"]: run for run in throughput["runs"]}
    serial, dask = runs["serial"], runs["Dask LocalCluster"]
    workers = dask["workers"]
    efficiency = dask["points_per_s"] / (serial["points_per_s"] * workers)
    axes = ", ".join(f"{name} ({len(values)})" for name, values in throughput["spec"]["axes"].items())
    lines = [
        "## Sweep throughput", "",
        f"Regenerate: `{throughput['command']}`. The same {throughput['points']} points ({axes}) run three ways with no "
        f"cache; the three tables are identical. Wall times include starting the worker processes. Measured on "
        f"{throughput['cpu_cores']} CPU cores with a 1-minute load average of {throughput['load_average_1min']:.1f} "
        "(the machine is shared; times grow with load).", "",
        format_table(["executor", "workers", "wall s", "points/s", "speedup over serial"],
                     [[run["executor"], run["workers"], run["wall_s"], run["points_per_s"],
                       f"{run['points_per_s'] / serial['points_per_s']:.2f}x"] for run in throughput["runs"]], markdown=True),
        "", f"The Dask cluster's scheduler and workers took {throughput['dask_cluster_start_s']:.1f} s to start (not in the "
        "wall time above). Each worker also pays once for its imports and for building each workload it meets, which "
        "the serial run pays once in all; with two workers on two cores that other jobs also use, parallel runs gain "
        "little or lose.", "",
    ]
    if record["computed"] and record.get("workers"):
        point_s = record["wall_s"] * record["workers"] / record["computed"]
        lines += scaling_on_paper(point_s, efficiency, record)
    return lines


def scaling_on_paper(point_s: float, efficiency: float, record: dict) -> list[str]:
    """How many points an hour buys on ``NODES`` nodes: linear in workers, at the measured efficiency, and capped
    by the scheduler."""
    ceiling = 3600 / SCHEDULER_OVERHEAD_S
    rows = []
    for cores in (record["cpu_cores"], 16):
        workers = NODES * cores
        linear = 3600 * workers / point_s
        rows.append([f"{NODES} nodes x {cores} cores", workers, f"{min(linear, ceiling):,.0f}",
                     f"{min(linear * efficiency, ceiling):,.0f}"])
    return [
        "### Scaling, on paper", "",
        "Each point is independent (no data moves between points; each worker builds or loads a workload once and "
        "keeps it), so throughput grows linearly with workers once those fixed costs are paid, until the scheduler "
        f"saturates: Dask documents about {SCHEDULER_OVERHEAD_S * 1e3:.0f} ms of scheduler overhead per task, which caps "
        f"a cluster near {1 / SCHEDULER_OVERHEAD_S:,.0f} points/s whatever its size. The sweep on this page cost "
        f"{point_s:.2f} s of one worker per point ({record['computed']:,} points in {record['wall_s']:.0f} s on "
        f"{record['workers']} workers, load average {record['load_average_1min']:.1f}); on a quiet node a point costs "
        f"less. The two-worker Dask run above reached {100 * efficiency:.0f} % of twice the serial rate on this shared "
        "machine, where the scheduler, the client, the workers and other jobs share two cores: a pessimistic bound "
        "for a cluster whose scheduler has a machine of its own.", "",
        format_table(["cluster", "workers", "points in an hour, linear", "points in an hour, at the efficiency measured here"],
                     rows, markdown=True), "",
        f"So the largest sweep of these layers one could run in an hour on {NODES} nodes of 16 cores lies between the two "
        "right-hand numbers of the last row (both include the scheduler cap). Larger layers or fewer PEs per point cost "
        "more per point. Synthesis points are different: one place-and-route of a large array takes 20-60 minutes on one "
        f"core, so an hour on {NODES} x 16 cores runs about {NODES * 16} placement seeds or PE counts at once, and the "
        "per-point timeout bounds the slowest.", "",
    ]

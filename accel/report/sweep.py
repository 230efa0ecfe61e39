"""The page of a sweep folder (``README.md``, Pareto front, each axis's effect) from ``results.csv`` and ``sweep.json``."""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path
from typing import Any

from accel.arch.files import write_text_atomic
from accel.report import plots
from accel.report.tables import format_table

EFFECT_METRICS = {"simulate": ("latency_us", "energy_uJ"), "synthesis": ("fmax_mhz", "luts")}
FRONT_ROWS = 12


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
        plots.pareto_plot(folder / "pareto.png",
                          {name: ([r["latency_us"] for r in members], [r["energy_uJ"] for r in members])
                           for name, members in groups.items()},
                          "latency (us, log)", "EIE energy (uJ, log)", "Energy vs latency: every point, and each "
                          "workload's Pareto front", note=note)
        images.append("pareto")
    effects = []
    for axis, values in spec["axes"].items():
        if axis == "workload" or len(values) < 2:
            continue
        panels = _effects(axis, values, groups, [m for m in EFFECT_METRICS[spec["kind"]] if m in spec["metrics"]])
        if panels:
            name = f"effect_{re.sub(r'[^A-Za-z0-9_]+', '_', axis)}"
            plots.effect_plot(folder / f"{name}.png", [_label(v) for v in values], panels, axis,
                              f"Effect of {axis} (median over the other axes)", note=note)
            effects.append((axis, values, name, panels))
    return write_text_atomic(folder / "README.md", readme(record, rows, groups, effects, images))


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


def readme(record: dict, rows: list[dict], groups: dict[str, list[dict]], effects: list, images: list[str]) -> str:
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
        lines += ["## Energy vs latency", "",
                  "A point is on the Pareto front when no other point of the same workload has both lower latency and "
                  "lower energy.", "", "![pareto](pareto.png)", ""]
        axes = [name for name in spec["axes"] if name != "workload"]
        table = []
        for name, members in groups.items():
            front = plots.pareto_front([r["latency_us"] for r in members], [r["energy_uJ"] for r in members])
            for index in front[:FRONT_ROWS]:
                row = members[index]
                table.append([name, *(_label(row[a]) for a in axes), row["latency_us"], row["energy_uJ"]])
        lines += [format_table(["workload", *axes, "latency us", "energy uJ"], table, markdown=True), "",
                  f"(at most {FRONT_ROWS} front points per workload, by rising latency)", ""]
    if effects:
        lines += ["## Effect of each axis", "",
                  "Each line is one workload: the median of the metric over the other axes at each value of the axis, "
                  "relative to its median at the first value.", ""]
        for axis, values, name, panels in effects:
            spans = "; ".join(f"{metric} x{min(s[-1] for s in series.values()):.3g} to x{max(s[-1] for s in series.values()):.3g}"
                              for metric, series in panels.items())
            lines += [f"### {axis}", "", f"From {axis} = {_label(values[0])} to {_label(values[-1])}: {spans}.", "",
                      f"![{axis}]({name}.png)", ""]
    if failed:
        lines += ["## Failed points", "",
                  format_table(["point", "error"], [[row["point"], row["error"]] for row in failed[:20]], markdown=True), ""]
        if len(failed) > 20:
            lines += [f"and {len(failed) - 20} more (see `results.csv`).", ""]
    return "\n".join(lines)

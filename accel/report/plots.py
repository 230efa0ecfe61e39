"""Figures for the reports: every plot has labelled axes with units and says when inputs are synthetic."""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from accel.arch.files import write_bytes_atomic  # noqa: E402

COMPONENT_COLORS = {
    "DRAM": "#7f3b08", "sparse-matrix read": "#2166ac", "pointer read": "#67a9cf", "activation queue": "#a6dba0",
    "activation read/write": "#1b7837", "arithmetic": "#f1a340",
}


MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "h")
LINESTYLES = ("-", "--", ":")


def save(figure: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return write_bytes_atomic(path, buffer.getvalue())


def grouped_bars(path: Path, labels: list[str], series: dict[str, list[float]], ylabel: str, title: str,
                 log: bool = False, note: str = "", marked: dict[str, str] | None = None) -> Path:
    """Bars per label, one colour per series; ``marked`` (label -> reason) gets a dagger and a legend line."""
    figure, axes = plt.subplots(figsize=(max(7, 0.9 * len(labels) + 3), 4.2))
    width = 0.8 / len(series)
    x = np.arange(len(labels))
    for index, (name, values) in enumerate(series.items()):
        axes.bar(x + (index - (len(series) - 1) / 2) * width, values, width, label=name)
    marked = marked or {}
    axes.set_xticks(x, [f"{label} \u2020" if label in marked else label for label in labels], rotation=30, ha="right")
    for reason in dict.fromkeys(marked.values()):
        axes.plot([], [], " ", label=f"\u2020 {reason}")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if log:
        axes.set_yscale("log")
    axes.grid(axis="y", alpha=0.3, which="both" if log else "major")
    axes.legend(fontsize=8)
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


def line_plot(path: Path, x_values: list[float], series: dict[str, list[float]], xlabel: str, ylabel: str, title: str,
              logx: bool = True, logy: bool = False, reference: tuple[str, list[float]] | None = None, note: str = "") -> Path:
    figure, axes = plt.subplots(figsize=(8.5, 4.5))
    for index, (name, values) in enumerate(series.items()):
        axes.plot(x_values, values, marker=MARKERS[index % len(MARKERS)], markersize=4,
                  linestyle=LINESTYLES[index // len(MARKERS) % len(LINESTYLES)], label=name)
    if reference is not None:
        axes.plot(x_values, reference[1], "k--", linewidth=1, label=reference[0])
    if logx:
        axes.set_xscale("log", base=2)
        axes.set_xticks(x_values, [str(int(v)) for v in x_values])
    if logy:
        axes.set_yscale("log", base=2)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


PLACEMENT_STYLES = {
    "EIE": {"color": "#404040", "hatch": ""},
    "compressed, weights in DRAM": {"color": "#bf812d", "hatch": ".."},
    "dense, weights in DRAM": {"color": "#7f3b08", "hatch": "//"},
}
"""One colour and hatch per memory placement, the same in every figure (keyed by the label's first words)."""


def placement_style(label: str) -> dict[str, str]:
    for key, style in PLACEMENT_STYLES.items():
        if label.startswith(key):
            return style
    raise ValueError(f"no plot style for the placement {label!r}; add it to PLACEMENT_STYLES")


def energy_breakdown(path: Path, layers: list[str], placements: dict[str, list[dict[str, float]]], title: str,
                     note: str = "") -> Path:
    """Energy per inference of each layer, in two panels whose bar heights are energies.

    Left: the first placement (EIE) stacked by component on a linear axis (µJ), so each segment's
    height is that component's energy. Right: the total of every placement, unstacked, on a log axis
    (the totals differ by orders of magnitude) that starts at the power of ten a decade below the smallest
    total, which the axis label names; colour and hatch name the placement in every figure.
    """
    present = {name for per_layer in placements.values() for parts in per_layer for name in parts}
    unknown = sorted(present - set(COMPONENT_COLORS))
    if unknown:
        raise ValueError(f"no plot colour for energy components {unknown}; add them to COMPONENT_COLORS")
    figure, (stacked, totals) = plt.subplots(1, 2, figsize=(max(10, 1.2 * len(layers) + 6), 4.8),
                                             gridspec_kw={"width_ratios": [3, 2]})
    x = np.arange(len(layers))
    first, per_layer = next(iter(placements.items()))
    bottom = np.zeros(len(layers))
    for component in (name for name in COMPONENT_COLORS if name in present):
        values = np.array([parts.get(component, 0.0) / 1e6 for parts in per_layer])
        if values.any():
            stacked.bar(x, values, 0.7, bottom=bottom, color=COMPONENT_COLORS[component], edgecolor="white",
                        linewidth=0.3, label=component)
            bottom = bottom + values
    stacked.set_axisbelow(True)
    stacked.grid(axis="y", alpha=0.3)
    stacked.set_xticks(x, layers, rotation=30, ha="right")
    stacked.set_ylabel(f"{first}: energy per inference (µJ)")
    stacked.set_title(title, fontsize=10)
    stacked.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=4)
    width = 0.8 / len(placements)
    sums = {placement: [sum(parts.values()) / 1e6 for parts in rows] for placement, rows in placements.items()}
    floor = log_floor([value for values in sums.values() for value in values])
    for index, (placement, values) in enumerate(sums.items()):
        style = placement_style(placement)
        totals.bar(x + (index - (len(placements) - 1) / 2) * width, [value - floor for value in values], width,
                   bottom=floor, color=style["color"], hatch=style["hatch"], edgecolor="white", linewidth=0.3,
                   label=placement)
    totals.set_yscale("log")
    totals.set_ylim(bottom=floor)
    totals.set_axisbelow(True)
    totals.grid(axis="y", alpha=0.3, which="major")
    totals.set_xticks(x, layers, rotation=30, ha="right")
    totals.set_ylabel(f"total energy per inference (µJ, log scale from {floor:g})")
    totals.set_title("Totals by memory placement", fontsize=10)
    totals.legend(fontsize=7, loc="upper left")
    if note:
        figure.text(0.01, -0.16, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


def log_floor(values: list[float]) -> float:
    """The round start of a log axis: the power of ten a decade below the smallest positive value, so that the
    smallest bar spans at least one decade."""
    smallest = min(value for value in values if value > 0)
    return 10.0 ** (math.floor(math.log10(smallest)) - 1)


def band_plot(path: Path, quantities: list[str], bands: dict[str, list[tuple[float, float, float]]],
              paper: list[float], title: str, note: str = "") -> Path:
    """One row per quantity: each series' band (low to high) and nominal point, relative to the chip's value (= 1).

    The x axis is logarithmic (base 2, ticks at powers of two, the label says so) because the bands span factors.
    """
    figure, axes = plt.subplots(figsize=(9, 0.55 * len(quantities) * max(1, len(bands)) + 1.6))
    y = np.arange(len(quantities))[::-1].astype(float)
    height = 0.8 / len(bands)
    ratios = [1.0]
    for index, (name, rows) in enumerate(bands.items()):
        offset = (index - (len(bands) - 1) / 2) * height
        low = np.array([row[0] for row in rows]) / paper
        high = np.array([row[2] for row in rows]) / paper
        nominal = np.array([row[1] for row in rows]) / paper
        axes.barh(y - offset, high - low, height * 0.8, left=low, color=f"C{index}", alpha=0.45, label=f"{name}: band")
        axes.plot(nominal, y - offset, "o", color=f"C{index}", markersize=5, label=f"{name}: predicted at the fixed rules")
        ratios += [*low, *high]
    axes.axvline(1.0, color="black", linewidth=1.2, label="the chip (= 1)")
    axes.set_xscale("log", base=2)
    exponents = range(math.floor(math.log2(min(ratios))), math.ceil(math.log2(max(ratios))) + 1)
    axes.set_xticks([2.0 ** e for e in exponents], [f"{2.0 ** e:g}" for e in exponents])
    axes.set_yticks(y, quantities)
    axes.set_xlabel("value / the chip's value (log scale, base 2)")
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if note:
        figure.text(0.01, -0.02, textwrap.fill(note, 150), fontsize=8, style="italic", va="top")
    return save(figure, path)


def panels(path: Path, x_values: list[float], panels_series: list[tuple[str, dict[str, list[float]]]], xlabel: str,
           title: str, note: str = "") -> Path:
    """Side-by-side line plots over the same x values (log2 x axis), one (ylabel, series) per panel.

    A series named ``"A | B"`` is drawn in A's colour with B's line style (one style per distinct B).
    """
    figure, axes_list = plt.subplots(1, len(panels_series), figsize=(4.2 * len(panels_series), 4.0))
    for axes, (ylabel, series) in zip(np.atleast_1d(axes_list), panels_series):
        colours = list(dict.fromkeys(name.split(" | ")[0] for name in series))
        styles = list(dict.fromkeys(name.split(" | ")[1] for name in series if " | " in name))
        for name, values in series.items():
            base, _, variant = name.partition(" | ")
            axes.plot(x_values, values, marker="o", markersize=3, label=name, color=f"C{colours.index(base) % 10}",
                      linestyle=LINESTYLES[styles.index(variant) % len(LINESTYLES)] if variant else "-")
        axes.set_xscale("log", base=2)
        axes.set_xticks(x_values, [str(int(v)) for v in x_values])
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
    np.atleast_1d(axes_list)[-1].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


def panels_bars(path: Path, labels: list[str], panels_values: list[tuple[str, list[float]]], title: str,
                note: str = "") -> Path:
    """Side-by-side bar charts over the same labels, one (ylabel, values) per panel."""
    figure, axes_list = plt.subplots(1, len(panels_values), figsize=(4.2 * len(panels_values), 3.8))
    for axes, (ylabel, values) in zip(np.atleast_1d(axes_list), panels_values):
        axes.bar(np.arange(len(labels)), values, 0.6)
        axes.set_xticks(np.arange(len(labels)), labels, rotation=20, ha="right")
        axes.set_ylabel(ylabel)
        axes.grid(axis="y", alpha=0.3)
        low, high = min(values), max(values)
        if ylabel.startswith("test accuracy"):
            axes.set_ylim(max(0.0, low - 2), min(100.0, high + 1))
    figure.suptitle(title, fontsize=9)
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


def pareto_plot(path: Path, groups: dict[str, tuple[list[float], list[float]]], xlabel: str, ylabel: str, title: str,
                note: str = "") -> Path:
    """Every point of each group as a dot, and the group's Pareto front (lower is better on both axes) as a line."""
    figure, axes = plt.subplots(figsize=(7.5, 5))
    for index, (name, (x, y)) in enumerate(groups.items()):
        colour = f"C{index % 10}"
        axes.scatter(x, y, s=10, alpha=0.35, color=colour)
        front = pareto_front(x, y)
        axes.plot([x[i] for i in front], [y[i] for i in front], marker="o", markersize=4, color=colour, label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, ncol=2)
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


def pareto_front(x: list[float], y: list[float]) -> list[int]:
    """Indices of the points no other point beats on both ``x`` and ``y`` (lower is better), by rising ``x``."""
    front, best = [], float("inf")
    for index in sorted(range(len(x)), key=lambda i: (x[i], y[i])):
        if y[index] < best:
            front.append(index)
            best = y[index]
    return front


def effect_plot(path: Path, labels: list[str], panels: dict[str, dict[str, list[float]]], xlabel: str, title: str,
                note: str = "") -> Path:
    """One panel per metric: each series' value at each axis value, relative to its value at the first."""
    figure, axes_list = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    x = np.arange(len(labels))
    for axes, (metric, series) in zip(axes_list[0], panels.items()):
        for name, values in series.items():
            axes.plot(x, values, marker="o", markersize=3, label=name)
        axes.set_xticks(x, labels, rotation=30 if max(len(label) for label in labels) > 6 else 0)
        axes.set_yscale("log", base=2)
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}x"))
        axes.set_xlabel(xlabel)
        axes.set_ylabel(f"{metric} relative to {xlabel} = {labels[0]}")
        axes.grid(alpha=0.3, which="both")
    axes_list[0][0].legend(fontsize=7, ncol=2)
    figure.suptitle(title)
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)

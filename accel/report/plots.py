"""Figures for the reports: every plot has labelled axes with units and says when inputs are synthetic."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from accel.arch.files import write_bytes_atomic  # noqa: E402

COMPONENT_COLORS = {
    "DRAM": "#7f3b08", "SRAM: sparse matrix": "#2166ac", "SRAM: pointers": "#67a9cf",
    "SRAM: activations": "#d1e5f0", "activations (LNZD, register files)": "#1b7837", "FIFOs": "#a6dba0", "codebook": "#c2a5cf",
    "accumulators": "#762a83", "arithmetic": "#f1a340",
}


def save(figure: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return write_bytes_atomic(path, buffer.getvalue())


def grouped_bars(path: Path, labels: list[str], series: dict[str, list[float]], ylabel: str, title: str,
                 log: bool = False, note: str = "") -> Path:
    figure, axes = plt.subplots(figsize=(max(7, 0.9 * len(labels) + 3), 4.2))
    width = 0.8 / len(series)
    x = np.arange(len(labels))
    for index, (name, values) in enumerate(series.items()):
        axes.bar(x + (index - (len(series) - 1) / 2) * width, values, width, label=name)
    axes.set_xticks(x, labels, rotation=30, ha="right")
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
    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    for name, values in series.items():
        axes.plot(x_values, values, marker="o", markersize=3, label=name)
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
    axes.legend(fontsize=8, ncol=2)
    if note:
        figure.text(0.01, -0.02, note, fontsize=8, style="italic", va="top")
    return save(figure, path)


def _share_bars(axes: plt.Axes, layers: list[str], components: list[str], per_layer: list[dict[str, float]],
                title: str) -> None:
    """100 % stacked bars: each component's share of a layer's total."""
    x = np.arange(len(layers))
    totals = np.array([max(sum(parts.values()), 1e-30) for parts in per_layer])
    bottom = np.zeros(len(layers))
    for component in components:
        values = np.array([parts.get(component, 0.0) for parts in per_layer]) / totals * 100
        axes.bar(x, values, 0.7, bottom=bottom, color=COMPONENT_COLORS[component], edgecolor="white", linewidth=0.3,
                 label=component)
        bottom = bottom + values
    axes.set_ylim(0, 100)
    axes.set_xticks(x, layers, rotation=30, ha="right")
    axes.set_ylabel("% of the layer's energy")
    axes.set_title(title, fontsize=10)


def energy_breakdown(path: Path, layers: list[str], placements: dict[str, list[dict[str, float]]], title: str,
                     note: str = "") -> Path:
    """Stacked bars of energy by component (uJ, log scale), one group of bars per layer, and beside them
    the first placement's (EIE's) split as a share of its total, where the log scale hides it."""
    figure, (axes, shares) = plt.subplots(1, 2, figsize=(max(10, 1.2 * len(layers) + 5), 4.8),
                                          gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(placements)
    x = np.arange(len(layers))
    present = {name for per_layer in placements.values() for parts in per_layer for name in parts}
    unknown = sorted(present - set(COMPONENT_COLORS))
    if unknown:
        raise ValueError(f"no plot colour for energy components {unknown}; add them to COMPONENT_COLORS")
    components = [name for name in COMPONENT_COLORS if name in present]
    floor = 1e-3
    hatches = ["", "//", "..", "xx"]
    for index, (placement, per_layer) in enumerate(placements.items()):
        positions = x + (index - (len(placements) - 1) / 2) * width
        bottom = np.full(len(layers), floor)
        for component in components:
            values = np.array([parts.get(component, 0.0) / 1e6 for parts in per_layer])
            axes.bar(positions, values, width, bottom=bottom, color=COMPONENT_COLORS[component],
                     hatch=hatches[index % len(hatches)], edgecolor="white", linewidth=0.3,
                     label=component if index == 0 else None)
            bottom = bottom + values
        for position, top in zip(positions, bottom):
            axes.text(position, top * 1.15, placement.split(",")[0], ha="center", va="bottom", fontsize=6, rotation=90)
    axes.set_yscale("log")
    tallest = max((sum(parts.values()) / 1e6 for per_layer in placements.values() for parts in per_layer), default=1.0)
    axes.set_ylim(floor, max(tallest, floor) * 30)  # room for the bar labels
    axes.set_axisbelow(True)
    axes.set_xticks(x, layers, rotation=30, ha="right")
    axes.set_ylabel("energy per inference of the layer (uJ, log scale)")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3, which="major")
    first, per_layer = next(iter(placements.items()))
    _share_bars(shares, layers, components, per_layer, f"{first.split(',')[0]}: share of its energy by component")
    shares.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
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

"""The figures of a sweep page: energy vs latency with each workload's Pareto front, and each axis's effect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from accel.report import plots
from accel.report.plots import add_note, draw_series, log_ticks, outside_legend, ratio_axis, style

UNFIT_LABEL = "does not fit on chip (kept off the fronts)"


@dataclass(frozen=True)
class Points:
    """One workload's points: latency, energy, and whether each design fits on chip."""

    latency: list[float]
    energy: list[float]
    fits: list[bool]


def pareto_front(x: list[float], y: list[float], keep: list[bool] | None = None) -> list[int]:
    """Indices of the points no other kept point beats on both ``x`` and ``y`` (lower is better), by rising ``x``;
    ``keep`` (default: all) leaves the others out of the front altogether."""
    front, best = [], float("inf")
    for index in sorted(range(len(x)), key=lambda i: (x[i], y[i])):
        if (keep is None or keep[index]) and y[index] < best:
            front.append(index)
            best = y[index]
    return front


def pareto_plot(path: Path, groups: dict[str, Points], xlabel: str, ylabel: str, title: str, note: str = "") -> Path:
    """Every point of each group, and the group's Pareto front over the designs that fit on chip as a line; designs
    that do not fit are crosses, off the fronts; a group none of whose designs fits says so in the legend."""
    figure, axes = plt.subplots(figsize=(9, 6.5), layout="constrained")
    for index, (name, points) in enumerate(groups.items()):
        colour = f"C{index % 10}"
        fit = np.array(points.fits, dtype=bool)
        latency, energy = np.array(points.latency), np.array(points.energy)
        axes.scatter(latency[fit], energy[fit], s=10, alpha=0.35, color=colour)
        axes.scatter(latency[~fit], energy[~fit], s=14, alpha=0.35, color=colour, marker="x", linewidths=0.8)
        front = pareto_front(points.latency, points.energy, points.fits)
        axes.plot(latency[front], energy[front], color=colour, marker=style(index)["marker"], markersize=5,
                  label=name if front else f"{name}: no design fits")
    axes.set_xscale("log")
    axes.set_yscale("log")
    log_ticks(axes.xaxis, [value for points in groups.values() for value in points.latency])
    log_ticks(axes.yaxis, [value for points in groups.values() for value in points.energy])
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    figure.suptitle(title, fontsize=10)
    axes.grid(alpha=0.3, which="both")
    handles, labels = axes.get_legend_handles_labels()
    handles += [Line2D([], [], color="black", marker="o", linestyle="none", markersize=3, alpha=0.5),
                Line2D([], [], color="black", marker="x", linestyle="none", markersize=4, alpha=0.5)]
    labels += ["fits on chip", UNFIT_LABEL]
    outside_legend(figure, handles, labels, title="workload: Pareto front")
    add_note(figure, note)
    return plots.save(figure, path)


def effect_plot(path: Path, labels: list[str], panels: dict[str, dict[str, list[float]]], xlabel: str, title: str,
                note: str = "") -> Path:
    """One panel per ylabel: each series' value at each axis value, as a ratio. Series with identical values are
    drawn once and named together, so none hides under another."""
    figure, axes_list = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 1.8, 4.2), squeeze=False,
                                     layout="constrained")
    x = np.arange(len(labels))
    names = list(dict.fromkeys(name for series in panels.values() for name in series))
    for axes, (ylabel, series) in zip(axes_list[0], panels.items()):
        draw_series(axes, x, series, {name: style(names.index(name)) for name in series}, noun="workloads")
        axes.set_xticks(x, labels, rotation=30 if max(len(label) for label in labels) > 6 else 0)
        ratio_axis(axes, [value for values in series.values() for value in values])
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
    outside_legend(figure, title="workload")
    figure.suptitle(title, fontsize=11)
    add_note(figure, note)
    return plots.save(figure, path)

"""Figures for the reports, drawn as a reviewer expects them.

Every axis is labelled in words with its unit; bars start at zero on a linear axis, and values that span
orders of magnitude are dots on a log axis that says so; log axes carry plain-number ticks (1-2-5 or
decades); legends sit below the panels, off the data; series that meet keep nested hollow markers, and
identical series are drawn once and named together; a figure says when its inputs are synthetic. ``tests/report/test_figures.py`` checks these rules on
every committed figure.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from accel.arch.files import write_bytes_atomic  # noqa: E402

COMPONENT_COLORS = {
    "DRAM": "#7f3b08", "sparse-matrix read": "#2166ac", "pointer read": "#67a9cf", "activation queue": "#a6dba0",
    "activation read/write": "#1b7837", "arithmetic": "#f1a340",
}
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "h")
LINESTYLES = ("-", "--", ":")
NOTE_WIDTH = 150
"""Characters per line of a figure's note."""
LOG_RATIO_SPAN = 8
"""Ratios spanning more than this factor go on a log axis."""


def save(figure: plt.Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG (atomically), cropped to what it draws, note included, and close it."""
    buffer = io.BytesIO()
    figure.draw_without_rendering()  # constrained layout places the panels and legends once; the crop keeps them there
    figure.set_layout_engine("none")
    for legend in figure.legends:
        legend.set_bbox_to_anchor(legend.get_window_extent().transformed(figure.transFigure.inverted()),
                                  transform=figure.transFigure)
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return write_bytes_atomic(path, buffer.getvalue())


def add_note(figure: plt.Figure, note: str) -> None:
    """The figure's note (data source, synthetic inputs), in italics below everything else."""
    if note:
        figure.text(0.01, -0.02, textwrap.fill(note, NOTE_WIDTH), fontsize=8, style="italic", va="top")


def style(index: int, size: float = 5.0) -> dict:
    """Colour, hollow marker and line style of the ``index``-th series: distinct for the first 27. Markers are hollow
    and shrink with the index (from 1.6 to 0.8 times ``size``), so where series meet, each later marker nests inside
    the earlier ones and every series stays visible; lines are thin beside them."""
    return {"color": f"C{index % 10}", "marker": MARKERS[index % len(MARKERS)], "markerfacecolor": "none",
            "markersize": size * (1.6 - 0.1 * (index % len(MARKERS))), "linewidth": 1.2,
            "linestyle": LINESTYLES[index // len(MARKERS) % len(LINESTYLES)]}


def number(value: float) -> str:
    """A tick label: a plain number without float noise (0.02, 1.5, 10,000)."""
    return f"{float(f'{value:.6g}'):,g}"


def log_ticks(axis: Axis, values: Iterable[float], suffix: str = "") -> None:
    """Plain-number ticks on a log axis, inside the range of ``values``: decades when at least three fit, else
    1-2-5 steps, else every integer mantissa; minor ticks unlabelled."""
    positive = [value for value in values if value > 0]
    low, high = min(positive), max(positive)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks: list[float] = []
    for mantissas, enough in (((1,), 3), ((1, 2, 5), 2), (tuple(range(1, 10)), 2)):
        ticks = [m * 10.0 ** e for e in decades for m in mantissas if low <= m * 10.0 ** e <= high]
        if len(ticks) >= enough:
            break
    if len(ticks) < 2:
        ticks = sorted({float(f"{low:.2g}"), float(f"{high:.2g}")})
    axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: number(value) + suffix))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def ratio_axis(axes: Axes, values: Iterable[float]) -> None:
    """A y axis of ratios (ticks "0.5x"): logarithmic when they span more than ``LOG_RATIO_SPAN``, else linear."""
    values = list(values)
    if max(values) / min(values) > LOG_RATIO_SPAN:
        axes.set_yscale("log")
        log_ticks(axes.yaxis, values, "x")
    else:
        axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(6, steps=[1, 2, 5, 10]))
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: number(value) + "x"))


def identical(series: dict[str, list[float]]) -> list[list[str]]:
    """The names of ``series`` grouped by equal values (to nine significant digits), in first-appearance order."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, values in series.items():
        groups.setdefault(tuple(f"{value:.9g}" for value in values), []).append(name)
    return list(groups.values())


def draw_series(axes: Axes, x_values: list[float] | np.ndarray, series: dict[str, list[float]], styles: dict[str, dict],
                noun: str = "series", **options) -> list[Line2D]:
    """Lines of ``series`` in their ``styles``. Identical series are drawn once, in black, named together ("all 9
    ``noun`` (identical)" when every one is); series that merely come close keep their own nested hollow markers.
    Returns the lines that each stand for several series."""
    shared = []
    for members in identical(series):
        look = dict(styles[members[0]])
        label = members[0]
        if len(members) > 1:
            look["color"] = "black"
            label = f"all {len(members)} {noun} (identical)" if len(members) == len(series) else " = ".join(members)
        line, = axes.plot(x_values, series[members[0]], label=label, **{**look, **options})
        if len(members) > 1:
            shared.append(line)
    return shared


def power_of_two_ticks(axes: Axes, x_values: list[float], xlabel: str) -> None:
    """A log2 x axis ticked at the values themselves, its label saying so."""
    words, _, unit = xlabel.rstrip(")").partition(" (")
    axes.set_xlabel(f"{words} ({unit + ', ' if unit else ''}log2 scale)")
    axes.set_xscale("log", base=2)
    axes.set_xticks(x_values, [number(v) for v in x_values])
    axes.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def outside_legend(figure: plt.Figure, handles: list | None = None, labels: list[str] | None = None, **options) -> None:
    """One legend for the whole figure, below the panels (never over the data or the title), in as many columns as
    its longest entry lets fit across the figure; by default every axes' labelled lines, each label once."""
    if handles is None:
        found = {}
        for axes in figure.axes:
            for handle, label in zip(*axes.get_legend_handles_labels()):
                found.setdefault(label, handle)
        labels, handles = list(found), list(found.values())
    assert labels is not None
    column_points = 5.0 * max(len(label) for label in labels) + 40
    columns = max(1, min(len(labels), int(figure.get_figwidth() * 72 / column_points)))
    figure.legend(handles, labels, loc="outside lower center", fontsize=7, ncol=columns, **options)


def grouped_bars(path: Path, labels: list[str], series: dict[str, list[float]], ylabel: str, title: str,
                 log: bool = False, note: str = "", marked: dict[str, str] | None = None,
                 sections: list[tuple[str, int]] | None = None) -> Path:
    """Bars per label from zero, one colour per series; ``log`` draws dots on a log axis instead (bars on a log axis
    would have no zero). ``marked`` (label -> reason) gets a dagger and a legend line; ``sections`` (title, number
    of labels) splits consecutive labels into side-by-side panels sharing the y axis, e.g. two sets of shares that
    each sum to 100 %."""
    spans = sections or [("", len(labels))]
    figure, axes_list = plt.subplots(1, len(spans), figsize=(max(7.0, 0.9 * len(labels) + 3), 4.2), sharey=True,
                                     squeeze=False, width_ratios=[count for _, count in spans], layout="constrained")
    width = 0.8 / len(series)
    marked = marked or {}
    start = 0
    for axes, (section, count) in zip(axes_list[0], spans):
        x = np.arange(count)
        for index, (name, values) in enumerate(series.items()):
            offset = x + (index - (len(series) - 1) / 2) * width
            part = values[start:start + count]
            if log:
                axes.plot(offset, part, label=name, **{**style(index), "linestyle": "none"})
            else:
                axes.bar(offset, part, width, label=name, color=f"C{index % 10}")
        names = labels[start:start + count]
        axes.set_xticks(x, [f"{label} \u2020" if label in marked else label for label in names], rotation=30, ha="right")
        axes.set_title(section, fontsize=9)
        axes.grid(axis="y", alpha=0.3)
        axes.set_axisbelow(True)
        start += count
    first = axes_list[0][0]
    for reason in dict.fromkeys(marked.values()):
        first.plot([], [], " ", label=f"\u2020 {reason}")
    first.set_ylabel(ylabel)
    if log:
        first.set_yscale("log")
        log_ticks(first.yaxis, [value for values in series.values() for value in values])
        for axes in axes_list[0]:
            axes.grid(axis="x", alpha=0.15)
    else:
        first.set_ylim(bottom=0)
    figure.suptitle(title, fontsize=10)
    outside_legend(figure)
    add_note(figure, note)
    return save(figure, path)


def line_plot(path: Path, x_values: list[float], series: dict[str, list[float]], xlabel: str, ylabel: str, title: str,
              logx: bool = True, reference: tuple[str, list[float]] | None = None, note: str = "",
              legend_title: str | None = None) -> Path:
    figure, axes = plt.subplots(figsize=(8.5, 4.5), layout="constrained")
    draw_series(axes, x_values, series, {name: style(index) for index, name in enumerate(series)})
    if reference is not None:
        axes.plot(x_values, reference[1], "k--", linewidth=1, label=reference[0])
    if logx:
        power_of_two_ticks(axes, x_values, xlabel)
    else:
        axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    figure.suptitle(title)
    outside_legend(figure, title=legend_title)
    add_note(figure, note)
    return save(figure, path)


PLACEMENT_STYLES = {
    "EIE": {"color": "#404040", "marker": "o"},
    "compressed, weights in DRAM": {"color": "#bf812d", "marker": "s"},
    "dense, weights in DRAM": {"color": "#7f3b08", "marker": "D"},
}
"""One colour and marker per memory placement, the same in every figure (keyed by the label's first words)."""


def placement_style(label: str) -> dict[str, str]:
    for key, placement in PLACEMENT_STYLES.items():
        if label.startswith(key):
            return placement
    raise ValueError(f"no plot style for the placement {label!r}; add it to PLACEMENT_STYLES")


def energy_breakdown(path: Path, layers: list[str], placements: dict[str, list[dict[str, float]]], title: str,
                     note: str = "") -> Path:
    """Energy per inference of each layer, in two panels.

    Left: the first placement (EIE) stacked by component on a linear axis from zero (µJ), so each segment's
    height is that component's energy. Right: the total of every placement as dots on a log axis (the totals
    differ by orders of magnitude); colour and marker name the placement in every figure.
    """
    present = {name for per_layer in placements.values() for parts in per_layer for name in parts}
    unknown = sorted(present - set(COMPONENT_COLORS))
    if unknown:
        raise ValueError(f"no plot colour for energy components {unknown}; add them to COMPONENT_COLORS")
    figure, (stacked, totals) = plt.subplots(1, 2, figsize=(max(10, 1.2 * len(layers) + 6), 4.8),
                                             width_ratios=[3, 2], layout="constrained")
    x = np.arange(len(layers))
    first, per_layer = next(iter(placements.items()))
    bottom = np.zeros(len(layers))
    for component in (name for name in COMPONENT_COLORS if name in present):
        values = np.array([parts.get(component, 0.0) / 1e6 for parts in per_layer])
        if values.any():
            stacked.bar(x, values, 0.7, bottom=bottom, color=COMPONENT_COLORS[component], edgecolor="white",
                        linewidth=0.3, label=component)
            bottom = bottom + values
    stacked.set_ylim(bottom=0)
    stacked.set_axisbelow(True)
    stacked.grid(axis="y", alpha=0.3)
    stacked.set_xticks(x, layers, rotation=30, ha="right")
    stacked.set_ylabel(f"{first}: energy per inference (µJ)")
    stacked.set_title(title, fontsize=10)
    width = 0.8 / len(placements)
    sums = {placement: [sum(parts.values()) / 1e6 for parts in rows] for placement, rows in placements.items()}
    for index, (placement, values) in enumerate(sums.items()):
        totals.plot(x + (index - (len(placements) - 1) / 2) * width, values, linestyle="none", markersize=7,
                    label=placement, **placement_style(placement))
    totals.set_yscale("log")
    log_ticks(totals.yaxis, [value for values in sums.values() for value in values])
    totals.set_axisbelow(True)
    totals.grid(axis="y", alpha=0.3)
    totals.set_xticks(x, layers, rotation=30, ha="right")
    totals.set_ylabel("total energy per inference (µJ, log scale)")
    totals.set_title("Totals by memory placement", fontsize=10)
    figure.legend(*stacked.get_legend_handles_labels(), loc="outside lower left", fontsize=7, ncol=3,
                  title=f"{first}, by component", title_fontsize=7)
    figure.legend(*totals.get_legend_handles_labels(), loc="outside lower right", fontsize=7, title="totals",
                  title_fontsize=7)
    add_note(figure, note)
    return save(figure, path)


def band_plot(path: Path, quantities: list[str], bands: dict[str, list[tuple[float, float, float]]],
              paper: list[float], title: str, note: str = "") -> Path:
    """One row per quantity: each series' band (low to high) and nominal point, relative to the chip's value (= 1).

    The x axis is logarithmic (base 2, ticks at powers of two, the label says so) because the bands span factors.
    """
    figure, axes = plt.subplots(figsize=(9, 0.55 * len(quantities) * max(1, len(bands)) + 1.6), layout="constrained")
    y = np.arange(len(quantities))[::-1].astype(float)
    height = 0.8 / len(bands)
    ratios = [1.0]
    for index, (name, rows) in enumerate(bands.items()):
        offset = (index - (len(bands) - 1) / 2) * height
        low = np.array([row[0] for row in rows]) / paper
        high = np.array([row[2] for row in rows]) / paper
        nominal = np.array([row[1] for row in rows]) / paper
        for row, (start, end) in enumerate(zip(low, high)):
            axes.broken_barh([(start, end - start)], (y[row] - offset - 0.4 * height, 0.8 * height), color=f"C{index}",
                             alpha=0.45, label=f"{name}: band" if row == 0 else None)
        axes.plot(nominal, y - offset, "o", color=f"C{index}", markersize=5, label=f"{name}: predicted at the fixed rules")
        ratios += [*low, *high]
    axes.axvline(1.0, color="black", linewidth=1.2, label="the chip (= 1)")
    axes.set_xscale("log", base=2)
    exponents = range(math.floor(math.log2(min(ratios))), math.ceil(math.log2(max(ratios))) + 1)
    axes.set_xticks([2.0 ** e for e in exponents], [number(2.0 ** e) for e in exponents])
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_yticks(y, quantities)
    axes.set_xlabel("value / the chip's value (ratio, log scale, base 2)")
    figure.suptitle(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    outside_legend(figure)
    add_note(figure, note)
    return save(figure, path)


def panels(path: Path, x_values: list[float], panels_series: list[tuple[str, dict[str, list[float]]]], xlabel: str,
           title: str, note: str = "") -> Path:
    """Side-by-side line plots over the same x values (log2 x axis), one (ylabel, series) per panel.

    A series named ``"A | B"`` is drawn in A's colour and marker with B's line style (one style per distinct B); the
    legend names the colours and the line styles apart, and the series drawn as one because they coincide.
    """
    figure, axes_list = plt.subplots(1, len(panels_series), figsize=(4.4 * len(panels_series), 4.0),
                                     layout="constrained", squeeze=False)
    names = [name for _, series in panels_series for name in series]
    bases = list(dict.fromkeys(name.split(" | ")[0] for name in names))
    variants = list(dict.fromkeys(name.split(" | ")[1] for name in names if " | " in name))
    merged: dict[str, Line2D] = {}
    for axes, (ylabel, series) in zip(axes_list[0], panels_series):
        for variant in dict.fromkeys(name.partition(" | ")[2] for name in series):
            subset = {name.partition(" | ")[0]: values for name, values in series.items()
                      if name.partition(" | ")[2] == variant}
            linestyle = LINESTYLES[variants.index(variant) % len(LINESTYLES)] if variant else "-"
            for line in draw_series(axes, x_values, subset, {base: {**style(bases.index(base)), "linestyle": linestyle}
                                                             for base in subset}):
                merged.setdefault(line.get_label(), Line2D([], [], color="black", marker=line.get_marker(),
                                                           markerfacecolor="none"))
        power_of_two_ticks(axes, x_values, xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
    handles = [Line2D([], [], **{**style(index), "linestyle": "-"}) for index in range(len(bases))]
    handles += [Line2D([], [], color="grey", linestyle=LINESTYLES[index % len(LINESTYLES)]) for index in range(len(variants))]
    outside_legend(figure, [*handles, *merged.values()], [*bases, *variants, *merged])
    figure.suptitle(title, fontsize=10)
    add_note(figure, note)
    return save(figure, path)


def panels_bars(path: Path, labels: list[str], panels_values: list[tuple[str, list[float]]], title: str,
                note: str = "", dots: tuple[str, ...] = ()) -> Path:
    """Side-by-side bar charts from zero over the same labels, one (ylabel, values) per panel; the panels whose ylabel
    is in ``dots`` show their values as labelled dots on an axis fitted to them (differences too small for a bar
    from zero to show), and their ylabel says the axis is zoomed."""
    figure, axes_list = plt.subplots(1, len(panels_values), figsize=(4.4 * len(panels_values), 3.9), layout="constrained",
                                     squeeze=False)
    x = np.arange(len(labels))
    for axes, (ylabel, values) in zip(axes_list[0], panels_values):
        if ylabel in dots:
            axes.plot(x, values, "o", markersize=7)
            for position, value in zip(x, values):
                axes.annotate(f"{value:.2f}", (position, value), textcoords="offset points", xytext=(0, 7), ha="center",
                              fontsize=8)
            axes.margins(x=0.15, y=0.25)
            ylabel = f"{ylabel}, zoomed axis"
        else:
            axes.bar(x, values, 0.6)
            axes.set_ylim(bottom=0)
        axes.set_xticks(x, labels, rotation=20, ha="right")
        axes.set_ylabel(ylabel)
        axes.grid(axis="y", alpha=0.3)
        axes.set_axisbelow(True)
    figure.suptitle(title, fontsize=9)
    add_note(figure, note)
    return save(figure, path)

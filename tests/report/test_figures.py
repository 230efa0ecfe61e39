"""Every figure of reports/, rendered from the committed records, follows the rules a reviewer would state.

Bars start at zero on a linear axis; log axes carry at least two labelled ticks, each a short plain number, and
name their unit; axis labels are words (no underscores); no text overlaps another (labels, tick labels, titles,
legends, notes) or another panel; a legend covers no data; no series is drawn over another that it hides.
Each rule lists every figure that breaks it.
"""

import re
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.transforms import Bbox

from accel.cli.report import render_all
from accel.report import plots

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
PIXELS = 2.0
"""Two series closer than this at every point are drawn over each other."""
NUMBER = re.compile(r"[\u2212\-+]?[0-9][0-9.,]*x?")
MATHTEXT = re.compile(r"\$\\mathdefault\{(.*)\}\$")

pytestmark = pytest.mark.skipif(not (REPORTS / "baselines" / "latency.json").exists(),
                                reason="reports/ holds no recorded results")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Every figure ``accel report --render`` draws from a copy of the committed records, by path under reports/."""
    copy = tmp_path_factory.mktemp("figures") / "reports"
    shutil.copytree(REPORTS, copy, ignore=shutil.ignore_patterns("*.png", "*.md"))
    drawn, original = {}, plots.save
    with pytest.MonkeyPatch.context() as patch:
        def keep(figure, path):
            written = original(figure, path)
            FigureCanvasAgg(figure).draw()  # closing it took its canvas: draw it again to measure it
            drawn[Path(path).relative_to(copy).as_posix()] = figure
            return written
        patch.setattr(plots, "save", keep)
        render_all(copy)
    return drawn


def _data_axes(figure):
    return [axes for axes in figure.axes if axes.has_data()]


def _tick_labels(axis, minor: bool = False):
    """The tick labels an axis draws: with text, visible, and at a tick inside the view."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(low), abs(high), 1.0)
    ticks = axis.get_minor_ticks() if minor else axis.get_major_ticks()
    locations = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
    return [tick.label1 for tick, location in zip(ticks, locations)
            if tick.label1.get_visible() and tick.label1.get_text() and low - slack <= location <= high + slack]


def test_every_committed_figure_is_rendered_from_the_records(figures):
    assert {path.relative_to(REPORTS).as_posix() for path in REPORTS.rglob("*.png")} == set(figures)


def test_bars_start_at_zero_on_a_linear_axis(figures):
    problems = []
    for name, figure in figures.items():
        for axes in _data_axes(figure):
            for bars in (c for c in axes.containers if isinstance(c, BarContainer)):
                vertical = bars.orientation == "vertical"
                scale, limits = (axes.get_yscale(), axes.get_ylim()) if vertical else (axes.get_xscale(), axes.get_xlim())
                if scale != "linear" or limits[0] != 0:
                    problems.append(f"{name}: bars on a {scale} axis from {limits[0]:g}")
    assert not problems, "\n".join(problems)


def _readable(text: str) -> bool:
    """A short number: at most three significant digits, no exponent notation."""
    text = MATHTEXT.sub(r"\1", text)
    return len(re.sub(r"[^0-9]", "", text).strip("0")) <= 3 and "e" not in text


def test_log_axes_carry_readable_labelled_ticks_and_a_unit(figures):
    problems = []
    for name, figure in figures.items():
        for axes in _data_axes(figure):
            for axis, scale, label in ((axes.xaxis, axes.get_xscale(), axes.get_xlabel()),
                                       (axes.yaxis, axes.get_yscale(), axes.get_ylabel())):
                if scale != "log":
                    continue
                ticks = [tick.get_text() for tick in [*_tick_labels(axis), *_tick_labels(axis, minor=True)]]
                if len(ticks) < 2 or not all(_readable(text) for text in ticks):
                    problems.append(f"{name}: log axis {label!r} labelled {ticks}")
                if "(" not in label and not all(text.endswith("x") for text in ticks):
                    problems.append(f"{name}: log axis {label!r} names no unit")
    assert not problems, "\n".join(problems)


def test_axis_labels_are_words(figures):
    problems = []
    for name, figure in figures.items():
        for axes in _data_axes(figure):
            problems += [f"{name}: axis label {label!r} is a field name"
                         for label in (axes.get_xlabel(), axes.get_ylabel()) if "_" in label]
            if any(NUMBER.fullmatch(tick.get_text()) for tick in _tick_labels(axes.yaxis)) and not axes.get_ylabel():
                problems.append(f"{name}: a y axis of numbers without a label")
    assert not problems, "\n".join(problems)


def _texts(figure, renderer) -> list[tuple[str, Bbox]]:
    """(owner, box) of every drawn text: each axes' labels, tick labels, title and legend; figure legends and texts."""
    boxes = []
    for index, axes in enumerate(figure.axes):
        texts = [axes.xaxis.label, axes.yaxis.label, axes.title, *_tick_labels(axes.xaxis), *_tick_labels(axes.yaxis)]
        boxes += [(f"axes {index}", text.get_window_extent(renderer)) for text in texts if text.get_visible() and text.get_text()]
        if axes.get_legend() is not None:
            boxes.append((f"axes {index}", axes.get_legend().get_window_extent(renderer)))
    boxes += [(f"legend {index}", legend.get_window_extent(renderer)) for index, legend in enumerate(figure.legends)]
    boxes += [(f"figure text {text.get_text()[:30]!r}", text.get_window_extent(renderer)) for text in figure.texts
              if text.get_text()]
    return boxes


def _overlap(first: Bbox, second: Bbox) -> float:
    width = min(first.x1, second.x1) - max(first.x0, second.x0)
    height = min(first.y1, second.y1) - max(first.y0, second.y0)
    return max(0.0, width) * max(0.0, height)


def _apart(labels, renderer) -> bool:
    """Whether tick labels leave each other room: unrotated, their boxes do not overlap; rotated by an angle, the
    distance between neighbours across their baselines (spacing x sin angle) is at least the font size."""
    angle = np.radians(labels[0].get_rotation()) if labels else 0.0
    if abs(np.sin(angle)) < 1e-6:
        boxes = [label.get_window_extent(renderer) for label in labels]
        return all(_overlap(a, b) < 1 for a, b in combinations(boxes, 2))
    anchors = sorted(label.get_window_extent(renderer).x1 for label in labels)
    size = renderer.points_to_pixels(labels[0].get_fontsize())
    return all((b - a) * abs(np.sin(angle)) >= size for a, b in zip(anchors, anchors[1:]))


def test_no_text_overlaps_another_panel_or_text(figures):
    problems = []
    for name, figure in figures.items():
        renderer = figure.canvas.get_renderer()
        texts = _texts(figure, renderer)
        problems += [f"{name}: text of {owner} overlaps text of {other}"
                     for (owner, box), (other, other_box) in combinations(texts, 2)
                     if owner != other and _overlap(box, other_box) >= 1]
        problems += [f"{name}: text of {owner} overlaps the panel of axes {index}"
                     for owner, box in texts for index, axes in enumerate(figure.axes)
                     if owner != f"axes {index}" and _overlap(box, axes.get_window_extent(renderer)) >= 1]
        problems += [f"{name}: tick labels overlap each other" for axes in figure.axes
                     for labels in (_tick_labels(axes.xaxis), _tick_labels(axes.yaxis)) if not _apart(labels, renderer)]
    assert not problems, "\n".join(sorted(set(problems)))


def _drawn_points(line, samples: int = 10) -> np.ndarray:
    """Display coordinates along a line: its vertices and ``samples - 1`` points between each two."""
    points = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
    points = points[np.isfinite(points).all(axis=1)]
    if line.get_linestyle() in ("None", "none", " ", "") or len(points) < 2:
        return points
    steps = np.linspace(0, 1, samples, endpoint=False)[:, None, None]
    return np.vstack([points, (points[:-1] + steps * (points[1:] - points[:-1])).reshape(-1, 2)])


def _nested(under, over) -> bool:
    """Whether ``over`` drawn on ``under`` leaves it visible: hollow markers, the later one smaller."""
    return (under.get_marker() not in ("None", "", None) and under.get_markerfacecolor() == "none"
            and over.get_markerfacecolor() == "none" and over.get_markersize() < under.get_markersize())


def test_legends_cover_no_data_and_no_series_hides_another(figures):
    problems = []
    for name, figure in figures.items():
        renderer = figure.canvas.get_renderer()
        legends = [*figure.legends, *(axes.get_legend() for axes in figure.axes if axes.get_legend() is not None)]
        boxes = [legend.get_window_extent(renderer) for legend in legends]
        for axes in _data_axes(figure):
            lines = [line for line in axes.get_lines() if len(line.get_xdata())]
            for line in lines:
                points = _drawn_points(line)
                if any(((box.x0 < points[:, 0]) & (points[:, 0] < box.x1) & (box.y0 < points[:, 1])
                        & (points[:, 1] < box.y1)).any() for box in boxes):
                    problems.append(f"{name}: a legend covers {line.get_label()!r}")
            for under, over in combinations(lines, 2):
                a, b = _drawn_points(under, 1), _drawn_points(over, 1)
                if a.shape == b.shape and np.all(np.hypot(*(a - b).T) < PIXELS) and not _nested(under, over):
                    problems.append(f"{name}: {over.get_label()!r} hides {under.get_label()!r}")
            for bars in (c for c in axes.containers if isinstance(c, BarContainer)):
                if any(box.overlaps(bar.get_window_extent(renderer)) for box in boxes for bar in bars if bar.get_height()):
                    problems.append(f"{name}: a legend covers the bars of {bars.get_label()!r}")
    assert not problems, "\n".join(problems)

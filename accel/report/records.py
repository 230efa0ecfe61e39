"""Where every record under ``reports/`` lives, which command writes it, and which page renders it.

Commands write their records into ``folder(NAME)``; ``render_all`` re-renders every page whose records
are present, from the records alone. A renderer is named as ``module:function`` and imported only
when its page is rendered."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPORTS = Path("reports")
"""The reports tree, relative to the folder a command runs in (the repository root for the committed pages)."""


@dataclass(frozen=True)
class Page:
    """A page (or set of figures) of one folder under ``reports/``, rendered from its records."""

    folder: str
    records: tuple[str, ...]
    """Globs inside ``folder``: the page is rendered when any matches."""
    command: str
    """The command that writes the records."""
    renderer: str
    """``module:function`` taking the folder and returning the paths it wrote (a path or a list of paths)."""

    def present(self, reports: Path) -> bool:
        return any(next((reports / self.folder).glob(pattern), None) is not None for pattern in self.records)

    def render(self, reports: Path) -> list[Path]:
        module, function = self.renderer.split(":")
        render: Callable[[Path], Path | list[Path]] = getattr(importlib.import_module(module), function)
        written = render(reports / self.folder)
        return written if isinstance(written, list) else [written]


PAGES = (
    Page("baselines", ("latency.json",), "accel report", "accel.report.index:render_baselines"),
    Page("sim", ("bench.json",), "accel bench", "accel.report.sim:write_sim_pages"),
    Page("sim", ("startup.json",), "accel bench --startup", "accel.report.startup:write_startup_page"),
    Page("energy", ("energy.json",), "accel energy", "accel.report.energy:write_energy_pages"),
    Page("compression", ("*/summary.json",), "accel compress --net NET --preset full --sensitivity --out reports/compression/NET",
         "accel.report.compression:write_every_compression_page"),
    Page("models", ("*/summary.json",), "python -m examples.user_models_on_eie",
         "accel.report.compression:write_every_compression_page"),
    Page("models", ("*/eie_on_data.json",), "python -m examples.user_models_on_eie", "accel.report.models:write_models_page"),
    Page("sweep", ("sweep.json",), "accel sweep reports/sweep/nine_layers.toml --out reports/sweep",
         "accel.report.sweep:write_sweep_page"),
    Page("hdl", ("synthesis.json", "campaign.json", "board.json", "gate_level.json", "rtl_speed.json"),
         "accel synth --record, accel verify --record, accel run --gate-sim --record", "accel.report.hdl:write_hdl_page"),
    Page("reliability", ("fuzz.json", "bad_inputs.json"), "python -m accel.cli.fuzz, python -m accel.cli.bad_inputs",
         "accel.report.reliability:write_reliability_pages"),
)
"""Every page of ``reports/`` but the index, in the order they are rendered."""


def folder(name: str, reports: Path = REPORTS) -> Path:
    """The folder of ``reports/`` that holds the records of ``name`` (one of the pages' folders)."""
    if name not in {page.folder for page in PAGES}:
        raise ValueError(f"no page of reports/ lives in {name!r}")
    return reports / name


def add_record(name: str, file: str, entry: dict, same: tuple[str, ...] = (), reports: Path = REPORTS) -> Path:
    """Append ``entry`` to the list recorded in ``folder(name)/file`` (an earlier entry agreeing with it on every
    key of ``same`` is replaced: a rerun of the same design) and re-render the folder's pages."""
    import json

    from accel.arch.files import updating, write_text_atomic

    path = folder(name, reports) / file
    with updating(path):  # runs recording in parallel (placement seeds, say) keep every entry
        entries = json.loads(path.read_text()) if path.exists() else []
        if same:
            entries = [earlier for earlier in entries if any(earlier.get(key) != entry.get(key) for key in same)]
        write_text_atomic(path, json.dumps(entries + [entry], indent=2) + "\n")
        render(name, reports)
    return path


def set_record(name: str, file: str, record: dict, reports: Path = REPORTS) -> Path:
    """Write ``record`` as ``folder(name)/file`` (a record of one run) and re-render the folder's pages."""
    import json

    from accel.arch.files import write_text_atomic

    path = write_text_atomic(folder(name, reports) / file, json.dumps(record, indent=2) + "\n")
    render(name, reports)
    return path


def render(name: str, reports: Path = REPORTS) -> list[Path]:
    """Re-render the pages of ``folder(name)`` whose records are present."""
    return [path for page in PAGES if page.folder == name and page.present(reports) for path in page.render(reports)]

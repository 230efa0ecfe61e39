"""The records registry: every record under reports/ belongs to a page that renders it, and the commands write there."""

from pathlib import Path

import pytest

from accel.report.records import PAGES, folder

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
INPUTS = {"energy/manifest.json", "energy/cacti"}
"""Files under reports/ that commands read rather than render (the energy run's inputs and CACTI's outputs)."""


def test_every_json_record_under_reports_lies_in_a_folder_a_page_renders():
    for record in sorted(REPORTS.rglob("*.json")):
        relative = record.relative_to(REPORTS).as_posix()
        if any(relative == entry or relative.startswith(entry + "/") for entry in INPUTS):
            continue
        folder_name = relative.split("/")[0]
        pages = [page for page in PAGES if page.folder == folder_name]
        assert pages, f"reports/{relative} lies in no page's folder"


def test_every_page_renderer_is_importable_and_names_its_command():
    for page in PAGES:
        module, function = page.renderer.split(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function)), page.renderer
        assert page.command


def test_a_folder_no_page_owns_is_refused():
    assert folder("hdl") == Path("reports/hdl")
    with pytest.raises(ValueError, match="no page"):
        folder("elsewhere")

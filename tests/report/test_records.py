"""The records registry: every record under reports/ belongs to a page that renders it, and the commands write there."""

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from accel.arch.errors import UserError
from accel.arch.files import updating
from accel.report.records import PAGES, add_record, folder

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


def _record_twenty(reports: str, writer: int) -> None:
    for index in range(20):
        add_record("hdl", "gate_level.json", {"writer": writer, "index": index}, reports=Path(reports))


def test_runs_recording_at_once_keep_every_entry(tmp_path, monkeypatch):
    monkeypatch.setattr("accel.report.records.render", lambda name, reports: None)  # the entries are the point here
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_record_twenty, [str(tmp_path)] * 3, range(3)))
    entries = json.loads((tmp_path / "hdl/gate_level.json").read_text())
    assert sorted((entry["writer"], entry["index"]) for entry in entries) == [(w, i) for w in range(3) for i in range(20)]
    assert not list((tmp_path / "hdl").glob(".*"))


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    lock = tmp_path / "hdl" / ".gate_level.json.lock"
    lock.parent.mkdir()
    dead = multiprocessing.get_context("fork").Process(target=lambda: None)
    dead.start()
    dead.join()
    lock.write_text(str(dead.pid))
    with updating(tmp_path / "hdl" / "gate_level.json", timeout_s=5):
        assert lock.read_text() == str(os.getpid())
    assert not lock.exists()


def test_a_lock_held_too_long_names_the_file_to_remove(tmp_path):
    lock = tmp_path / ".x.json.lock"
    lock.write_text(str(os.getppid()))  # a live process other than this one
    with pytest.raises(UserError, match=r"stayed locked by process \d+ for 0 s; if no accel command is writing it, remove"):
        with updating(tmp_path / "x.json", timeout_s=0.1):
            pass

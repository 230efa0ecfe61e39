"""Every page of reports/ is what its recorded JSON/CSV results render to: no number typed in by hand."""

import shutil
from pathlib import Path

import pytest

from accel.cli.report import render_all
from accel.report.readme import BEGIN, END, measured_section

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"


@pytest.mark.skipif(not (REPORTS / "baselines" / "latency.json").exists(), reason="reports/ holds no recorded results")
def test_committed_pages_are_rendered_from_the_records(tmp_path):
    copy = tmp_path / "reports"
    shutil.copytree(REPORTS, copy, ignore=shutil.ignore_patterns("*.png", "*.md"))
    pages = sorted(path.relative_to(copy) for path in render_all(copy) if path.suffix == ".md")
    assert len(pages) >= 5
    for page in pages:
        assert (copy / page).read_text() == (REPORTS / page).read_text(), f"reports/{page} differs from its records"


def test_the_readme_measured_section_is_rendered_from_the_records():
    text = (ROOT / "README.md").read_text()
    assert BEGIN in text and END in text
    assert text[text.index(BEGIN): text.index(END) + len(END)] == measured_section(REPORTS)

"""Every bad input of the catalogue (accel/cli/bad_inputs.py) gets its exit status; a refusal is one line, no traceback."""

import json
from pathlib import Path

import pytest

from accel.cli.bad_inputs import _cases, run_case
from accel.report.reliability import bad_inputs_markdown

CASES = _cases()
RECORD = Path(__file__).parents[2] / "reports" / "reliability" / "bad_inputs.json"


@pytest.mark.parametrize("case", CASES, ids=[case.what for case in CASES])
def test_each_bad_input_gets_its_exit_status_and_one_line(case, tmp_path):
    row = run_case(case, tmp_path)
    assert row["status"] == case.status, row
    assert not row["traceback"], row
    if case.status == 2:
        assert row["stderr_lines"] == 1 and row["message"].startswith("accel "), row


def test_the_recorded_table_covers_the_catalogue_and_renders_from_its_record():
    record = json.loads(RECORD.read_text())
    assert [row["input"] for row in record["rows"]] == [case.what for case in CASES]
    assert all(row["status"] == row["expected"] and not row["traceback"] for row in record["rows"])
    assert RECORD.with_suffix(".md").read_text() == bad_inputs_markdown(record)

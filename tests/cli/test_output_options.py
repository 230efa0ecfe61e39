"""Options every command shares: --json on those that report numbers, -q and -v before or after the command."""

import json

import numpy as np
import pytest

from accel.arch.layer import QuantizedLayer
from accel.cli import COMMANDS, build_parser, main

REPORTING = ("demo", "compress", "export", "simulate", "bench", "sweep", "energy", "verify", "synth", "run", "report",
             "check")
"""Commands that report numbers (plot and verilog write files and say where)."""


def test_every_reporting_command_takes_json_and_every_command_q_and_v():
    parser = build_parser()
    commands = next(action for action in parser._actions if hasattr(action, "choices") and action.choices).choices
    for name in COMMANDS:
        options = {option for action in commands[name]._actions for option in action.option_strings}
        assert {"-q", "-v", "--quiet", "--verbose"} <= options, name
        assert ("--json" in options) == (name in REPORTING), name


@pytest.fixture()
def layer_file(tmp_path):
    rng = np.random.default_rng(0)
    codes = (rng.random((24, 16)) < 0.4) * rng.integers(1, 16, (24, 16))
    path = tmp_path / "fc.npz"
    QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], name="fc").save(path)
    return path


def test_json_output_is_json_alone(layer_file, tmp_path, capsys):
    assert main(["export", str(layer_file), "--out", str(tmp_path / "layers"), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["layers"][0]["layer"] == "fc" and exported["layers"][0]["relu"] == "yes"
    assert main(["check", str(tmp_path / "layers"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problems"] == []
    (tmp_path / "s.toml").write_text('metrics = ["cycles"]\n[axes]\nworkload = ["NT-We"]\nn_pes = [16, 64]\n')
    assert main(["sweep", str(tmp_path / "s.toml"), "--serial", "--out", str(tmp_path / "sweep"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["points"] == 2 and "sweep:" in captured.err


def test_quiet_and_verbose_before_or_after_the_command(layer_file, capsys):
    for arguments in (["-q", "simulate", str(layer_file), "--pes", "4"], ["simulate", str(layer_file), "--pes", "4", "-q"]):
        assert main(arguments) == 0
        assert "EIE: 4 PEs" in capsys.readouterr().out
    namespace = build_parser(["simulate"]).parse_args(["-v", "simulate", "Alex-7", "-q"])
    assert namespace.verbosity == -1  # the option after the command wins
    assert build_parser(["simulate"]).parse_args(["simulate", "Alex-7"]).verbosity == 0

"""The fuzz campaign over every reader, the command line's argument parsers included.

    python -m accel.cli.fuzz --inputs 100000 --out reports/reliability     (make fuzz)

The readers of files are the targets of ``accel.explore.fuzzing``; the parsers live in this layer,
so the campaign starts here and adds them: each input is one argument vector of a random command
with random options, their values drawn from NaN and infinity in their spellings, signs, extremes,
ranges' edges and text. An accepted vector must hold only finite numbers inside each option's range.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import random
import sys
from pathlib import Path

from accel.arch.config import BOUNDS, MAX_CLOCK_MHZ, MAX_RTL_PES
from accel.arch.errors import UserError
from accel.cli import build_parser
from accel.cli.common import MAX_SEED, MAX_TIME_S
from accel.explore.fuzzing import campaign
from accel.explore.fuzzing.targets import Target

VALUES = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1", "0", "1", "2", "4", "16", "64", "256", "257",
          "4096", "4097", "0.5", "1.5", "-0.0", "1e-9", "1e308", "4294967295", "4294967296", "18446744073709551616",
          "abc", "", "0x10", "1_000", " 7", "5e2", "true", "115200", "2000", "2001", "300", "299"]
"""Option values tried: NaN and infinity as Python spells them, signs, extremes, the edges of ranges, text."""
POSITIONALS = {"source": "Alex-7", "spec": "spec.toml", "result": "run.json", "folder": "runs/demo"}
RTL_COMMANDS = ("verilog", "synth", "run")


PARSER = build_parser()
COMMANDS: dict[str, argparse.ArgumentParser] = dict(
    next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices)


def argument_vector(rng: random.Random, data: bytes) -> bytes:
    """A new argument vector (JSON): a command, its positionals, and one to four options with drawn values."""
    name = rng.choice(sorted(COMMANDS))
    parser = COMMANDS[name]
    argv = [name] + [POSITIONALS.get(action.dest, "x") for action in parser._actions
                     if not action.option_strings and action.dest != "help"]
    options = [action for action in parser._actions if action.option_strings and action.dest not in ("help", "version")]
    for action in rng.sample(options, min(len(options), rng.randint(1, 4))):
        argv.append(rng.choice(action.option_strings))
        if action.nargs != 0:
            argv.append(rng.choice(action.choices) if action.choices and rng.random() < 0.3 else rng.choice(VALUES))
    if name == "run" and "--port" not in argv and "--simulated" not in argv:
        argv.append("--simulated")
    return json.dumps(argv).encode()


def argv_seed(folder: Path) -> Path:
    path = folder / "argv.json"
    path.write_text(json.dumps(["simulate", "Alex-7", "--pes", "16", "--fifo", "4", "--clock-mhz", "400",
                                "--act-density", "0.5", "--seed", "3"]))
    return path


def read_arguments(path: Path) -> argparse.Namespace:
    """Parse one argument vector as ``accel`` would: a refusal must be exactly one line on stderr, exit status 2."""
    argv = json.loads(path.read_text())
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            args = PARSER.parse_args(argv)
    except SystemExit as exit_info:
        message = errors.getvalue()
        if exit_info.code == 2 and message.count("\n") == 1 and message.startswith("accel"):
            raise UserError(message.strip()) from None
        raise RuntimeError(f"exit status {exit_info.code} with {message.count(chr(10))} lines: {message[:200]!r}") from None
    args.argv = argv
    return args


def fingerprint(args: argparse.Namespace) -> str:
    return json.dumps({key: value for key, value in vars(args).items() if key != "run"}, sort_keys=True, default=str)


RANGES = {"seed": (0, MAX_SEED), "fifo": BOUNDS["fifo_depth"], "clock_mhz": (0, MAX_CLOCK_MHZ),
          "act_density": (0, 1), "timeout": (0, MAX_TIME_S), "workers": (1, math.inf), "layers": (1, math.inf),
          "per_config": (1, math.inf), "threads": (1, math.inf), "batch_size": (1, math.inf), "repeats": (1, math.inf),
          "max_points": (1, math.inf), "max_weights": (1, math.inf), "baud": (300, 12_000_000), "bits": (1, 16),
          "target_mhz": (0, 2000), "prune": (0, 1000)}


def check(args: argparse.Namespace) -> None:
    """Every number the parser let through is finite and inside its option's range."""
    for key, value in vars(args).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        assert math.isfinite(value), (key, value)
        low, high = RANGES.get(key, (-math.inf, math.inf))
        if key == "pes":
            low, high = 1, MAX_RTL_PES if args.command in RTL_COMMANDS else BOUNDS["n_pes"][1]
        assert low <= value <= high, (key, value)
        if key in ("clock_mhz", "timeout", "target_mhz"):
            assert value > 0, (key, value)


def targets() -> list[Target]:
    return [Target("command line", argv_seed, [argument_vector], read_arguments, fingerprint, different_allowed=True,
                   check=check)]


def main(argv: list[str] | None = None) -> int:
    return campaign.main(argv, extra=targets, prog="python -m accel.cli.fuzz")


if __name__ == "__main__":
    sys.exit(main())

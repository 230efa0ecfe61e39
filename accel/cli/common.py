"""Options shared by several subcommands: architecture, energy table, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
from pathlib import Path

from accel.arch.config import ArchConfig
from accel.arch.energy import DEFAULT_TABLE, EnergyTable
from accel.arch.files import write_text_atomic
from accel.cli import tool_version

MAX_SEED = (1 << 32) - 1


def seed(text: str) -> int:
    """argparse type of a seed: an integer 0..2**32-1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be an integer from 0 to {MAX_SEED}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type of a count: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """argparse type of a real number (no NaN or infinity)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def add_architecture_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("architecture (defaults: the 64-PE EIE chip)")
    group.add_argument("--config", type=Path, metavar="JSON", help="architecture config file (any ArchConfig fields)")
    group.add_argument("--pes", type=int, metavar="N", help="number of processing elements (default 64)")
    group.add_argument("--fifo", type=int, metavar="D", help="activation FIFO depth per PE (default 8)")
    group.add_argument("--clock-mhz", type=finite_float, metavar="F", help="clock frequency in MHz (default 800)")


def architecture_from(args: argparse.Namespace) -> ArchConfig:
    config = ArchConfig.load(args.config) if args.config else ArchConfig()
    changes = {name: value for name, value in (("n_pes", args.pes), ("fifo_depth", args.fifo), ("clock_mhz", args.clock_mhz))
               if value is not None}
    return ArchConfig.from_dict({**config.to_dict(), **changes}) if changes else config


def add_activations_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--activations", metavar="LIST",
                        help="a state_dict's activation after each Linear layer, comma-separated: relu (fused into "
                             "EIE's layer), gelu, tanh, sigmoid, silu (on the host) or none (default: ReLU between "
                             "layers, none after the last, assumed and said)")


def add_energy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--energy-table", type=Path, metavar="JSON",
                        help=f"per-action energy table in pJ (default: the predicted 45 nm table, {DEFAULT_TABLE.name})")


def energy_table_from(args: argparse.Namespace) -> EnergyTable:
    return EnergyTable.load(args.energy_table)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")


def write_json(path: Path, data: object) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, default=float) + "\n")


def output_folder(args: argparse.Namespace, folder: Path):
    """Stage the command's outputs for ``folder`` and commit them together (``accel.arch.run_folder``)."""
    from accel.arch.run_folder import run_folder

    return run_folder(folder, shlex.join(["accel", *args.argv]))


def provenance(args: argparse.Namespace, config: ArchConfig | None = None) -> dict:
    """What made a record: the tool and its version, the command line, the seed and the architecture config."""
    record = {"tool": "eie-accel", "version": tool_version(), "command": shlex.join(["accel", *args.argv]),
              "python": platform.python_version()}
    if getattr(args, "seed", None) is not None:
        record["seed"] = args.seed
    if config is not None:
        record["config"] = config.to_dict()
    return record

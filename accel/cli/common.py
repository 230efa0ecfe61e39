"""Options shared by several subcommands: architecture, energy table, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
from collections.abc import Callable
from pathlib import Path

from accel.arch.config import BOUNDS, MAX_CLOCK_MHZ, ArchConfig
from accel.arch.energy import DEFAULT_TABLE, EnergyTable
from accel.arch.errors import UserError
from accel.arch.files import write_text_atomic
from accel.cli import tool_version

MAX_SEED = (1 << 32) - 1


def whole_number(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """argparse type of an integer in ``low..high``; the message states the range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what} from {low:,} to {high:,}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


def real_number(low: float, high: float, low_open: bool = False, unit: str = "") -> Callable[[str], float]:
    """argparse type of a finite number in ``[low, high]`` (``(low, high]`` when ``low_open``); no NaN or infinity."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (low < value if low_open else low <= value) and value <= high):
            bound = f"above {low:g}" if low_open else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number {bound} and at most {high:g}{unit}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


seed = whole_number(0, MAX_SEED, "an integer")
"""argparse type of a seed: an integer 0..2**32-1."""
positive_int = whole_number(1, 1 << 31, "a whole number")
"""argparse type of a count: an integer of at least 1."""
fraction = real_number(0.0, 1.0)
"""argparse type of a fraction such as a density: a finite number from 0 to 1."""
MAX_TIME_S = 30 * 24 * 3600.0
seconds = real_number(0.0, MAX_TIME_S, low_open=True, unit=" seconds (30 days)")
"""argparse type of a time limit: finite, above 0, at most 30 days."""
baud = whole_number(300, 12_000_000, "a baud rate")




def add_architecture_options(parser: argparse.ArgumentParser, max_pes: int = BOUNDS["n_pes"][1],
                             base: ArchConfig = ArchConfig(), label: str = "the 64-PE EIE chip") -> None:
    """--config, --pes, --fifo, --clock-mhz, each checked against its range as it is parsed.

    ``max_pes``: commands that generate the RTL pass ``MAX_RTL_PES``, what the Verilog generator builds.
    ``base`` (called ``label``) is the config the options change when no --config is given.
    """
    group = parser.add_argument_group(f"architecture (defaults: {label})")
    group.add_argument("--config", type=Path, metavar="JSON",
                       help="architecture config file (any ArchConfig fields; the fields it leaves out are the chip's)")
    group.add_argument("--pes", type=whole_number(BOUNDS["n_pes"][0], max_pes, "a number of PEs"), metavar="N",
                       help=f"number of processing elements, 1 to {max_pes:,} (default {base.n_pes})")
    group.add_argument("--fifo", type=whole_number(*BOUNDS["fifo_depth"], "a FIFO depth"), metavar="D",
                       help=f"activation FIFO depth per PE, 1 to {BOUNDS['fifo_depth'][1]:,} (default {base.fifo_depth})")
    group.add_argument("--clock-mhz", type=real_number(0.0, MAX_CLOCK_MHZ, low_open=True, unit=" MHz"), metavar="F",
                       help=f"clock frequency in MHz (default {base.clock_mhz:g})")


def architecture_from(args: argparse.Namespace, max_pes: int = BOUNDS["n_pes"][1],
                      base: ArchConfig = ArchConfig()) -> ArchConfig:
    """The config of --config (else ``base``) with --pes, --fifo and --clock-mhz on top; at most ``max_pes`` PEs."""
    config = ArchConfig.load(args.config) if args.config else base
    changes = {name: value for name, value in (("n_pes", args.pes), ("fifo_depth", args.fifo), ("clock_mhz", args.clock_mhz))
               if value is not None}
    config = ArchConfig.from_dict({**config.to_dict(), **changes}) if changes else config
    check_rtl_pes(config, max_pes)
    return config


def check_rtl_pes(config: ArchConfig, max_pes: int) -> None:
    if config.n_pes > max_pes:
        raise UserError(f"the config has {config.n_pes:,} PEs; the Verilog generator builds at most {max_pes} "
                        "(MAX_RTL_PES): give fewer PEs with --pes or in the --config file")


def add_max_weights_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-weights", type=whole_number(1, 1 << 40), metavar="N",
                        help="most weights decoded from a compressed model, all layers together (default 2^28 = "
                             "268,435,456, 8 bytes each); a file declaring more is refused before decoding")


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


def print_json(data: object) -> None:
    """``data`` as JSON on standard output (what --json prints instead of tables)."""
    print(json.dumps(data, indent=2, default=float))


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

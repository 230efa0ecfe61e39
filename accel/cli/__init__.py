"""The ``accel`` command line, the top layer: each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import sys

from accel.arch.errors import UserError
from accel.cli.common import tool_version

COMMAND_MODULES = ("demo", "compress", "simulate", "bench", "verilog", "verify", "synth", "plot", "report")

DESCRIPTION = """\
Deep Compression and the EIE sparse inference accelerator.

Jobs: compress a network (prune, quantize, Huffman-code), simulate compressed layers on EIE
cycle by cycle with an energy breakdown, generate Verilog of the PE array, plot and report.
Run `accel COMMAND --help` for each command's options and examples."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accel", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {tool_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"accel.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = list(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"accel {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"accel {args.command}: interrupted; outputs already written are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The ``accel`` command line, the top layer: each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from typing import NoReturn

from accel.arch.errors import UserError
from accel.cli.common import tool_version

COMMAND_MODULES = ("demo", "compress", "export", "simulate", "bench", "sweep", "energy", "verilog", "verify",
                   "synth", "run", "plot", "report", "check")

DESCRIPTION = """\
Deep Compression and the EIE sparse inference accelerator.

Jobs: compress a network (prune, quantize, Huffman-code), export its layers, simulate compressed
layers on EIE cycle by cycle with an energy breakdown, generate Verilog of the PE array with a
self-checking testbench, synthesise it, plot and report.
Run `accel COMMAND --help` for each command's options and examples."""


class Parser(argparse.ArgumentParser):
    """Argument errors in one line, with where to look, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="accel", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {tool_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"accel.cli.{name}").register(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that temporary files are removed on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_info:  # an argument error, already printed in one line (--help and --version exit)
        if not exit_info.code:
            raise
        return int(exit_info.code)
    args.argv = list(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"accel {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"accel {args.command}: interrupted; outputs already written are complete", file=sys.stderr)
        return 130
    except Terminated:
        print(f"accel {args.command}: terminated; outputs already written are complete", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())

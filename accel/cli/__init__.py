"""The ``accel`` command line, the top layer: each subcommand lives in its own module of this package."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Iterable
from typing import NoReturn

from accel.arch.errors import UserError
from accel.arch.progress import NORMAL, QUIET, VERBOSE, set_verbosity

COMMANDS = {
    "demo": "end to end: compress LeNet-300-100, simulate it on EIE, report",
    "compress": "prune, quantize and Huffman-code a LeNet or your own model (Deep Compression)",
    "export": "write layer files from a compressed model (model.dc.npz) or a torch state_dict",
    "simulate": "simulate a layer or a whole model on EIE: answers, cycles, activity and energy",
    "bench": "benchmark the nine EIE layers: latency vs paper, FIFO and PE sweeps, energy, speed",
    "sweep": "design-space sweep from a spec file: a CSV table, Pareto plot and axis effects",
    "energy": "energy model vs the paper's Table II and Table V, SRAM width, PE and precision studies",
    "verilog": "generate Verilog of the EIE PE array (and a self-checking testbench for a layer)",
    "verify": "co-simulate random layers: RTL under Icarus or Verilator against the simulator",
    "synth": "FPGA synthesis (LUTs, FFs, BRAMs, multipliers, Fmax) and RTL simulation speed",
    "run": "run layers on an FPGA board over its UART and check them against the simulator",
    "plot": "plot the energy breakdown of a saved simulation",
    "report": "measure torch CPU/GPU baselines and rebuild reports/README.md",
    "check": "verify an output folder against its manifest.json",
}
"""Each command and its one-line help; ``accel.cli.NAME.register`` adds its options, imported only when it runs."""

DESCRIPTION = """\
Deep Compression and the EIE sparse inference accelerator.

Jobs: compress a network (prune, quantize, Huffman-code), export its layers, simulate compressed
layers or a whole model on EIE cycle by cycle with an energy breakdown, generate Verilog of the PE
array with a self-checking testbench, synthesise it, plot and report.
Run `accel COMMAND --help` for each command's options and examples."""


class Parser(argparse.ArgumentParser):
    """Argument errors in one line, with where to look, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser(commands: Iterable[str] = tuple(COMMANDS)) -> argparse.ArgumentParser:
    """The command line with the options of ``commands`` (their modules are imported); the other commands are
    listed by name and help only. ``main`` passes just the command it runs."""
    parser = Parser(prog="accel", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {tool_version()}")
    add_verbosity_options(parser, default=NORMAL)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if name in commands:
            importlib.import_module(f"accel.cli.{name}").register(subparsers)
            add_verbosity_options(subparsers.choices[name], default=argparse.SUPPRESS)
        else:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def add_verbosity_options(parser: argparse.ArgumentParser, default: object) -> None:
    """-q / -v, before or after the command (after it they override, so their default there is to stay unset)."""
    group = parser.add_argument_group("output")
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET, default=default,
                       help="no progress bars or stage lines, only results and errors")
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE, default=default,
                       help="also the seconds each stage took")


def chosen_command(argv: list[str]) -> str | None:
    """The command an argument list names: its first argument that is not an option."""
    return next((argument for argument in argv if not argument.startswith("-")), None)


def tool_version() -> str:
    from accel import __version__

    return __version__


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that temporary files are removed on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _reader_gone() -> int:
    """The reader of our output closed it (``accel ... | head``): stop quietly with 141, as a shell reports SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush then goes nowhere, without an error
    return 141


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = chosen_command(argv)
    parser = build_parser([command] if command else [])
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_info:  # an argument error, already printed in one line (--help and --version exit)
        if not exit_info.code:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                return _reader_gone()
            raise
        return int(exit_info.code)
    args.argv = list(argv)
    set_verbosity(args.verbosity)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        return _reader_gone()
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

"""``accel check``: verify an output folder against its manifest (every file of the run and its SHA-256)."""

from __future__ import annotations

import argparse
from pathlib import Path

from accel.cli.common import add_json_option, print_json

EXAMPLES = """\
examples:
  accel check runs/demo          # the demo's folder: every file the run wrote, unchanged
  accel check build/fc3          # a design folder of accel verilog --layer

Folders written by accel demo, compress, energy, export and verilog hold manifest.json: the command,
when it finished, and the SHA-256 of every file the run wrote. The check reads every listed file
and names each one that is missing or changed; files the run did not write (your own) are listed
for information and do not fail the check. Exit status 0 when everything matches, 1 when a file
differs, 2 when the folder or its manifest cannot be read.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        description="Check that every file an earlier command wrote into FOLDER (listed with its SHA-256 in "
                    "FOLDER/manifest.json) is present and unchanged.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="output folder holding manifest.json")
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.run_folder import verify_folder

    check = verify_folder(args.folder)
    if args.json:
        print_json({"folder": str(args.folder), "command": check.command, "finished": check.finished,
                    "files": check.files, "problems": check.problems, "unlisted": check.unlisted})
        return 1 if check.problems else 0
    for problem in check.problems:
        print(f"{args.folder}: {problem}")
    if check.unlisted:
        shown = ", ".join(check.unlisted[:5]) + (f" and {len(check.unlisted) - 5} more" if len(check.unlisted) > 5 else "")
        print(f"{args.folder}: not written by the run (not checked): {shown}")
    source = f"`{check.command}`, finished {check.finished}"
    if check.problems:
        print(f"{args.folder}: {len(check.problems)} of {check.files} files differ from manifest.json ({source})")
        return 1
    print(f"{args.folder}: {check.files} files match manifest.json ({source})")
    return 0

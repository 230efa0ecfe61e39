"""``accel plot``: energy breakdown of a saved simulation (``accel simulate --out run.json``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.files import read_json
from accel.report import plots


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        description="Stacked bars of energy by module (the PE modules of the paper's Table II, and DRAM) for "
                    "every layer of a simulation saved with `accel simulate ... --out run.json`: EIE stacked by module (linear axis), "
                    "and the totals of EIE and of the same layers with their weights in DRAM (log axis).",
        epilog="example:\n  accel simulate Alex-7 --out alex7.json && accel plot alex7.json --out alex7.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result", type=Path, help="JSON written by accel simulate --out")
    parser.add_argument("--out", type=Path, help="PNG to write (default: next to the JSON)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data = read_json(args.result, "simulation result", "write one with accel simulate ... --out FILE.json")
    try:
        layers = data["layers"]
        names = [layer["layer"] for layer in layers]
        placements: dict[str, list[dict]] = {}
        for layer in layers:
            for energy in layer["energy"]:
                placements.setdefault(energy["label"], []).append(energy["by_module_pJ"])
        synthetic = any("weights" in layer.get("notes", {}) for layer in layers)
        note = (("synthetic weights; " if synthetic else "") + f"{data['config']['n_pes']} PEs, "
                f"energy table: {data['energy_table']}")
        if not names or not placements or any(len(rows) != len(names) for rows in placements.values()):
            raise KeyError("layers")
    except (KeyError, TypeError, AttributeError):
        raise UserError(f"{args.result} is not a simulation result written by accel simulate --out; "
                        "write one with accel simulate SOURCE --out FILE.json") from None
    out = args.out or args.result.with_suffix(".png")
    plots.energy_breakdown(out, names, placements, f"Energy by module: {', '.join(names)}", note=note)
    print(f"wrote {out}")
    return 0

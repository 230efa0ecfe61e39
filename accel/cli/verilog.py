"""``accel verilog``: write the Verilog of the EIE array, and memory files for a layer."""

from __future__ import annotations

import argparse
from pathlib import Path

from accel.cli.common import add_architecture_options, architecture_from

EXAMPLES = """\
examples:
  accel verilog --pes 4 --fifo 2 --out build/eie4          # eie_array.v + config.json
  accel verilog --config small.json --layer fc1.npz --out build/fc1
      # plus build/fc1/batch0/spmat_pe0.hex ... ($readmemh files of every PE memory per batch)

Memory sizes come from the config (spmat_sram_bytes, ptr_sram_bytes, regfile_entries): shrink them
in a --config JSON file for FPGAs, e.g. {"n_pes": 8, "spmat_sram_bytes": 4096, "ptr_sram_bytes": 1024}.
Ports: load_* (I/O mode writes), act_* (input vector), start/busy/done/cycles, out_* (read-out).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verilog", help="generate Verilog of the EIE PE array (and memory files for a layer)",
        description="Generate synthesisable Verilog of the EIE array from its Amaranth description.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/verilog"), help="output folder (default build/verilog)")
    parser.add_argument("--layer", type=Path, metavar="NPZ", help="a layer file: also write its memory images as .hex")
    add_architecture_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.images import build_layer_image
    from accel.arch.layer import QuantizedLayer
    from hdl.verilog import write_design

    config = architecture_from(args)
    image = build_layer_image(QuantizedLayer.load(args.layer), config) if args.layer else None
    written = write_design(config, args.out, image)
    print(f"wrote {len(written)} files to {args.out}: {', '.join(p.name for p in written[:3])}{' ...' if len(written) > 3 else ''}")
    return 0

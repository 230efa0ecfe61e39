"""``accel verilog``: the Verilog of the EIE array, and for a layer a self-checking testbench kit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accel.arch.config import MAX_RTL_PES
from accel.cli.common import (
    add_activations_option,
    add_architecture_options,
    add_max_weights_option,
    architecture_from,
    fraction,
    output_folder,
    provenance,
    seed,
)
from accel.cli.sources import SOURCE_HELP

EXAMPLES = """\
examples:
  accel verilog --pes 4 --fifo 2 --out build/eie4          # eie_array.v, config.json, README.md (ports, timing)
  accel verilog --config small.json --layer runs/demo/model.dc.npz:classifier.8 --out build/fc3
  build/fc3/run_icarus.sh                                  # PASS under Icarus Verilog, no Python
  accel verilog --config small.json --layer layers/classifier.8.npz --out build/fc3   # from `accel export`
  accel verilog --config small.json --layer weights.pt:fc2 --out build/fc2            # a state_dict's fc2.weight

With --layer the folder also holds batchK/load.hex (every load-port write of batch K, one word per
line) and batchK/<memory>_peP.hex ($readmemh image of each PE memory), inputs.hex, the simulator's
expected_outputs.hex and expected_cycles.hex, the self-checking testbench tb_eie.v and run_icarus.sh,
which passes under Icarus Verilog without Python. `accel export` writes layer files from a compressed
model (model.dc.npz, written by `accel compress` and `accel demo`) or a torch state_dict.

Memory sizes come from the config (spmat_sram_bytes, ptr_sram_bytes, regfile_entries): shrink them
in a --config JSON file for FPGAs and quick runs, e.g. small.json holding
{"n_pes": 4, "regfile_entries": 16, "spmat_sram_bytes": 2048, "ptr_sram_bytes": 2048}.
The folder's README.md documents the ports, the load-target codes and the load/start/read-out timing.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verilog",
        description="Generate synthesisable Verilog of the EIE array from its Amaranth description, with a README "
                    "of its interface; for a layer also the load-port writes, inputs and the simulator's expected "
                    "outputs and cycles, and a plain-Verilog testbench that checks them.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/verilog"), help="output folder (default build/verilog)")
    parser.add_argument("--layer", metavar="SOURCE", help=SOURCE_HELP)
    parser.add_argument("--input", type=Path, metavar="NPY", help="float input vector (.npy); default: random, seeded")
    parser.add_argument("--act-density", type=fraction, metavar="P",
                        help="non-zero fraction of a random input (default: a benchmark's own inputs, else 1.0)")
    parser.add_argument("--seed", type=seed, default=0, help="seed for synthetic weights and inputs (default 0)")
    add_activations_option(parser)
    add_max_weights_option(parser)
    add_architecture_options(parser, MAX_RTL_PES)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.errors import UserError
    from accel.arch.fixed_point import quantize_activations
    from accel.arch.images import build_layer_image, memories_for
    from accel.arch.progress import stage
    from accel.cli.sources import layer_inputs, load_one_layer
    from accel.hdl.host.design_folder import write_design_folder

    config = architecture_from(args, MAX_RTL_PES)
    layer = inputs = image = None
    if args.layer:
        layer, own = load_one_layer(args.layer, args.seed, args.activations, args.max_weights)
        image = build_layer_image(layer, config)
        if args.config is None:
            config = memories_for(image)
            image = build_layer_image(layer, config)
            print(f"memories sized to layer {layer.name}: {config.spmat_sram_bytes:,} bytes of sparse matrix and "
                  f"{config.ptr_sram_bytes:,} bytes of pointers per PE (--config chooses them)", file=sys.stderr, flush=True)
    elif args.config is None and config.n_pes * config.spmat_sram_bytes > 1 << 20:
        print(f"note: no --config: the array has {config.n_pes} PEs with {config.spmat_sram_bytes // 1024} KB of "
              "sparse-matrix memory each; its Verilog is tens of MB and takes minutes to write and simulate. "
              "Give a smaller --config for FPGAs and quick runs, or --layer to size the memories to a layer "
              "(see --help).", flush=True)
    if layer is not None:
        problems = sorted({problem for batch in image.batches for problem in image.capacity_problems([batch])})
        if problems:
            raise UserError(f"layer {layer.name!r} has a batch that does not fit the memories of this config: {'; '.join(problems)}")
        inputs = quantize_activations(layer_inputs(layer, own, args.input, args.act_density, args.seed), config)
    stage(f"writing the Verilog of {config.n_pes} PEs ({config.spmat_sram_bytes:,} bytes of sparse matrix each)"
          + (f" and the testbench of layer {layer.name}" if layer is not None else "") + f" to {args.out}")
    with output_folder(args, args.out) as staged:
        written = write_design_folder(config, staged, layer, inputs, {"provenance": provenance(args, config)}, image)
    print(f"wrote {len(written)} files to {args.out}: {', '.join(p.name for p in written[:3])}{' ...' if len(written) > 3 else ''} "
          "(the folder replaced as a whole, listed in manifest.json: accel check verifies it)")
    if layer is not None:
        print(f"layer {layer.name} ({layer.rows}x{layer.cols}); run the testbench: {args.out / 'run_icarus.sh'}")
    return 0

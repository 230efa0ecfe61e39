"""``accel export``: layer files (one ``.npz`` per fully connected layer) from a compressed model or a state_dict."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from accel.cli.common import (
    add_activations_option,
    add_json_option,
    add_max_weights_option,
    output_folder,
    print_json,
    seed,
    write_json,
)
from accel.cli.sources import SOURCE_HELP, load_layers, split_source
from accel.report.tables import format_table

EXAMPLES = """\
examples:
  accel export runs/demo/model.dc.npz --out layers          # layers/classifier.2.npz, classifier.5.npz, ...
  accel export runs/demo/model.dc.npz:classifier.8 --out layers
  accel export weights.pt --out layers                      # the Linear layers of a state_dict, quantized to 4 bits
  accel export Alex-8 --out layers                          # a benchmark layer's synthetic stand-in

model.dc.npz is the compressed model `accel compress` (OUT/model.dc.npz) and `accel demo` write; it needs
4-bit fully connected weights with a zero code (compress --bits hardware, the default). The layer files
feed `accel simulate LAYER.npz` and `accel verilog --layer LAYER.npz` (both also read MODEL:NAME directly).
Each layer keeps the ReLU its model's graph fuses into it; graph.json records the model's partition:
which operations run on EIE and which on the host, in order.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        description="Write each fully connected layer of a compressed model or a torch state_dict (its 2-D weights "
                    "quantized to 4-bit codes with a zero entry) as an EIE layer file: codes, codebook, bias, ReLU.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help=SOURCE_HELP)
    parser.add_argument("--seed", type=seed, default=0, help="seed of a benchmark layer's synthetic weights (default 0)")
    parser.add_argument("--out", type=Path, default=Path("layers"), help="output folder (default layers)")
    add_activations_option(parser)
    add_max_weights_option(parser)
    add_json_option(parser)
    parser.set_defaults(run=run)


def file_name(layer_name: str) -> str:
    """A layer's file name: its name with anything but letters, digits, '.', '-' and '_' replaced."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", layer_name) + ".npz"


def run(args: argparse.Namespace) -> int:
    from accel.explore.workloads import load_layers as load_model

    path, name = split_source(args.source)
    layers, _ = load_layers(args.source, args.seed, args.activations, args.max_weights)
    imported = None
    if name is None:
        _, _, imported = load_model(path, args.seed, activations=args.activations, max_weights=args.max_weights)
    rows = []
    with output_folder(args, args.out) as staged:
        if imported is not None:
            write_json(staged / "graph.json", imported.report())
        for layer in layers:
            layer.save(staged / file_name(layer.name))
            rows.append([layer.name, f"{layer.rows}x{layer.cols}", f"{100 * layer.density:.1f}%",
                         "yes" if layer.bias is not None else "no", "yes" if layer.relu else "no",
                         str(args.out / file_name(layer.name))])
    if args.json:
        print_json({"layers": [dict(zip(("layer", "shape", "non_zero", "bias", "relu", "file"), row)) for row in rows],
                    **({"import": imported.report()} if imported is not None else {})})
        return 0
    print(format_table(["layer", "shape", "non-zero", "bias", "ReLU", "file"], rows))
    return 0

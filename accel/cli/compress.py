"""``accel compress``: Deep Compression of a LeNet on an IDX data set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accel.arch.errors import UserError
from accel.cli.common import positive_int, provenance, seed
from accel.report.tables import format_table

EXAMPLES = """\
examples:
  accel compress                                   # LeNet-300-100, quick preset, Fashion-MNIST
  accel compress --net lenet300 --preset full --sensitivity --out reports/compression/lenet300
  accel compress --net lenet5 --preset full --sensitivity --out reports/compression/lenet5
  accel compress --data /path/to/mnist --bits paper # any MNIST-format IDX folder; conv 8 / fc 5 bits

outputs (in --out, each written atomically): model.dc.npz (the compressed model file, see
models/FORMAT.md), sizes.md and sizes.csv (per-layer table in the Deep Compression paper's columns),
bytes.csv (bytes by component: codes, indices, fillers, Huffman tables, codebooks, biases),
summary.json (accuracies, rates, prune qualities, wall and CPU time), with --sensitivity also
sensitivity.csv and sensitivity.png. Run `accel simulate OUT/model.dc.npz` to simulate its FC
layers on EIE (needs --bits hardware, the default).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress", help="prune, quantize and Huffman-code a LeNet (Deep Compression)",
        description="Train a network, prune and retrain it (threshold = quality x std), quantize its weights by "
                    "k-means weight sharing with centroid fine-tuning, Huffman-code the result and report sizes.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", default="lenet300", choices=("lenet300", "lenet5"), help="network (default lenet300)")
    parser.add_argument("--preset", default="quick", choices=("quick", "full"),
                        help="training budget: quick (the demo's: about 30 s of CPU for lenet300) or full (the benchmarks)")
    parser.add_argument("--data", type=Path, help="folder of IDX files (default /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--bits", default="hardware",
                        help="weight bits: 'hardware' (conv 8 / fc 4, EIE-ready), 'paper' (conv 8 / fc 5) or a number")
    parser.add_argument("--init", default="linear", choices=("linear", "density", "random"), help="centroid initialisation")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=Path("runs/compress"), help="output folder (default runs/compress)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="also write sensitivity.csv/png: accuracy vs fraction pruned, one layer at a time")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads for torch (default 1: small nets train fastest on one thread, "
                             "and far slower with more threads than idle cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from accel.report.compression import size_table, write_compression_pages
    from models.datasets import DEFAULT_DATA_DIR, load_idx_dataset
    from models.pipeline import compress, preset, write_outputs

    if args.threads < 1:
        raise UserError(f"--threads must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    settings = preset(args.net, args.preset)
    settings.bits = int(args.bits) if args.bits.isdigit() else args.bits
    settings.init, settings.seed, settings.sensitivity = args.init, args.seed, args.sensitivity
    data = load_idx_dataset(args.data or DEFAULT_DATA_DIR)
    result = compress(settings, data, progress=not args.quiet)
    paths = write_outputs(result, args.out, provenance(args))
    paths.update(write_compression_pages(args.out))
    summary = json.loads(paths["summary"].read_text())
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        print()
        return 0
    print(size_table(summary["sizes"], markdown=False))
    print()
    print(format_table(["stage", "top-1 accuracy %", "compression"], [
        ["dense", summary["accuracy_dense"], "1x"],
        ["pruned", summary["accuracy_pruned"], f"{summary['rate_pruning_params']:.1f}x (parameters)"],
        ["pruned + quantized + Huffman", summary["accuracy_quantized"], f"{summary['rate_PQH']:.1f}x (bytes)"]]))
    print(f"\nwall time {result.wall_seconds:.0f} s (CPU {result.cpu_seconds:.0f} s, {args.threads} thread(s)); wrote {paths['model']}, {paths['sizes_md']}, {paths['summary']}")
    return 0

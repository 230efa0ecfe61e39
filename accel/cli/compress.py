"""``accel compress``: Deep Compression of a LeNet preset, or of your own model from its trained weights."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accel.arch.errors import UserError
from accel.arch.progress import QUIET
from accel.cli.common import output_folder, positive_int, provenance, seed, whole_number
from accel.report.tables import format_table

EXAMPLES = """\
examples:
  accel compress                                   # LeNet-300-100, quick preset, Fashion-MNIST
  accel compress --net lenet300 --preset full --sensitivity --out reports/compression/lenet300
  accel compress --net lenet5 --preset full --sensitivity --out reports/compression/lenet5
  accel compress --data /path/to/mnist --bits paper # any MNIST-format IDX folder; conv 8 / fc 5 bits

your own model from its trained weights: a factory that builds it, its state_dict, data, a schedule
  accel compress --model mynets:mlp --weights mlp.pt --data train_test.npz --schedule schedule.json --out out/
  --model package.module:function   called without arguments, must return the torch.nn.Module; its code runs
                                     in this process. The current folder is searched after the installed
                                     packages, so a file there cannot stand in for one of their modules
  --weights FILE                     torch.save(model.state_dict(), FILE); masks of torch.nn.utils.prune are kept
  --data DIR or FILE.npz             IDX folder, or arrays train_images, train_labels, test_images, test_labels
                                     (uint8 images are normalised like IDX images; float images used as stored)
  --schedule FILE.json               e.g. {"prune": [{"fc1": 0.3, "*": 0.5}, {"fc1": 0.1, "*": 0.3}],
                                     "prune_by": "kept" or "quality", "bits": {"fc1": 4, "*": 4} or "hardware",
                                     "index_bits": 5 or "auto", "retrain_epochs": 3, "finetune_epochs": 2,
                                     "lr": 0.005, "finetune_lr": 0.001, "momentum": 0.9, "weight_decay": 1e-4, "init": "linear", "seed": 0}
                                     layers are named by their qualified module names ("*": every other layer)

outputs (in --out, assembled beside it and swapped in as a whole when the run finishes, listed in
manifest.json (`accel check OUT` verifies them); files of an earlier run there that this one does not
write are gone, files of your own are kept): model.dc.npz (the compressed model file, see
models/FORMAT.md), sizes.md and sizes.csv (per-layer table in the Deep Compression paper's columns),
bytes.csv (bytes by component: codes, indices, fillers, Huffman tables, codebooks, biases),
summary.json (accuracies, rates, prune qualities, wall and CPU time), with --sensitivity also
sensitivity.csv and sensitivity.png. Run `accel simulate OUT/model.dc.npz` to simulate its FC
layers on EIE (needs --bits hardware, the default).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress",
        description="Train a LeNet (or start from your own model's trained weights), prune and retrain it "
                    "(threshold = quality x std), quantize its weights by k-means weight sharing with centroid "
                    "fine-tuning, Huffman-code the result and report sizes. Linear and Conv2d layers are "
                    "compressed; other layers are kept as they are and listed.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", default="lenet300", choices=("lenet300", "lenet5"),
                        help="built-in network, trained from scratch (default lenet300; ignored with --model)")
    own = parser.add_argument_group("your own model (instead of --net)")
    own.add_argument("--model", metavar="MODULE:FUNCTION", help="importable factory that returns your nn.Module")
    own.add_argument("--weights", type=Path, metavar="FILE", help="its trained state_dict (torch.save)")
    own.add_argument("--schedule", type=Path, metavar="JSON",
                     help="prune rounds, bits, epochs (default: no pruning, hardware bits)")
    own.add_argument("--batch-size", type=positive_int, default=128, help="training batch size (default 128)")
    parser.add_argument("--preset", default="quick", choices=("quick", "full"),
                        help="training budget: quick (the demo's: about 30 s of CPU for lenet300) or full (the benchmarks)")
    parser.add_argument("--data", type=Path,
                        help="folder of IDX files or an .npz of arrays (default /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--bits", type=weight_bits,
                        help="weight bits: 'hardware' (conv 8 / fc 4, EIE-ready; the default), 'paper' (conv 8 / fc 5) "
                             "or a number; overrides the schedule's")
    parser.add_argument("--init", default="linear", choices=("linear", "density", "random"), help="centroid initialisation")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=Path("runs/compress"), help="output folder (default runs/compress)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="also write sensitivity.csv/png: accuracy vs fraction pruned, one layer at a time")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads for torch (default 1: small nets train fastest on one thread, "
                             "and far slower with more threads than idle cores)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def weight_bits(text: str) -> int | str:
    """argparse type of --bits: a preset name or a whole number of bits 1..16."""
    if text in ("hardware", "paper"):
        return text
    return whole_number(1, 16, "'hardware', 'paper' or a number of bits")(text)


def run(args: argparse.Namespace) -> int:
    import torch

    from accel.models.datasets import DEFAULT_DATA_DIR, load_dataset

    torch.set_num_threads(args.threads)
    bits = args.bits
    if args.model is None:
        for option in ("weights", "schedule"):
            if getattr(args, option) is not None:
                raise UserError(f"--{option} goes with --model (your own model); the LeNet presets train from scratch")
        result = compress_preset(args, load_dataset(args.data or DEFAULT_DATA_DIR), bits)
    else:
        result = compress_own_model(args, bits)
    return report(args, result)


def compress_preset(args: argparse.Namespace, data, bits):
    from accel.models.pipeline import compress, preset

    settings = preset(args.net, args.preset)
    schedule = settings.schedule
    schedule.bits = bits or schedule.bits
    schedule.init, schedule.seed, settings.sensitivity = args.init, args.seed, args.sensitivity
    return compress(settings, data, progress=args.verbosity > QUIET)


def compress_own_model(args: argparse.Namespace, bits):
    import dataclasses

    from accel.models.compression import Schedule
    from accel.models.datasets import DEFAULT_DATA_DIR
    from accel.models.user_model import compress_model, load_schedule

    if args.weights is None:
        raise UserError("--model needs --weights FILE, the trained state_dict (torch.save(model.state_dict(), FILE))")
    schedule = load_schedule(args.schedule) if args.schedule else Schedule()
    schedule = dataclasses.replace(schedule, bits=bits or schedule.bits, init=args.init, seed=args.seed)
    return compress_model(args.model, args.weights, args.data or DEFAULT_DATA_DIR, schedule, args.batch_size,
                          args.sensitivity, progress=args.verbosity > QUIET)


def report(args: argparse.Namespace, result) -> int:
    from accel.models.pipeline import write_outputs
    from accel.report.compression import size_table, write_compression_pages

    with output_folder(args, args.out) as staged:
        paths = write_outputs(result, staged, provenance(args))
        paths.update(write_compression_pages(staged))
        summary = json.loads(paths["summary"].read_text())
    paths = {key: args.out / path.relative_to(staged) for key, path in paths.items()}
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
    if result.uncompressed:
        print("\nkept as they are (not Linear/Conv2d): "
              + ", ".join(f"{row['layer']} ({row['type']}, {row['parameters']:,} parameters)" for row in result.uncompressed))
    print(f"\nwall time {result.wall_seconds:.0f} s (CPU {result.cpu_seconds:.0f} s, {args.threads} thread(s)); wrote {paths['model']}, {paths['sizes_md']}, {paths['summary']}")
    return 0

"""``accel demo`` (what ``make demo`` runs): compress LeNet-300-100, run it on EIE, write a report."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from accel.arch.files import write_text_atomic
from accel.arch.fixed_point import from_fixed
from accel.arch.progress import progress, stage
from accel.cli.common import (
    add_architecture_options,
    add_energy_option,
    add_json_option,
    architecture_from,
    energy_table_from,
    output_folder,
    positive_int,
    print_json,
    provenance,
    seed,
)
from accel.report.compression import write_compression_pages
from accel.report.demo import short_table, write_demo_pages


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        description="Compress LeNet-300-100 on Fashion-MNIST (quick preset), run its three FC layers on the "
                    "simulated 64-PE EIE for real test images, and report accuracy, compression, cycles, "
                    "latency, energy and SRAM vs DRAM traffic.",
        epilog="example:\n  accel demo                       # writes runs/demo/report.md\n"
               "  accel demo --images 50 --pes 16 --out /tmp/demo",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="folder of IDX files (default /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--images", type=positive_int, default=20, help="test images to run on the simulator (default 20)")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="report folder (default runs/demo)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads for torch (default 1: the run then repeats bit for bit on this machine; "
                             "more threads sum gradients in another order)")
    add_architecture_options(parser)
    add_energy_option(parser)
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from accel.arch.errors import UserError
    from accel.models.datasets import DEFAULT_DATA_DIR, load_idx_dataset
    from accel.models.export import layers_from_compressed
    from accel.models.pipeline import compress, preset, write_outputs
    from accel.sim.network import run_network

    if args.images < 1:
        raise UserError("--images must be at least 1")
    torch.set_num_threads(args.threads)
    config = architecture_from(args)
    table = energy_table_from(args)
    started = time.perf_counter()
    stage("1/3 compressing LeNet-300-100 (quick preset: 3 epochs, 2 prune-retrain rounds, 4-bit FC weights)")
    data = load_idx_dataset(args.data or DEFAULT_DATA_DIR)
    settings = preset("lenet300", "quick")
    settings.schedule.seed = args.seed
    result = compress(settings, data)
    summary = result.summary()
    layers = layers_from_compressed(result.compressed)

    stage(f"2/3 simulating {args.images} test images on EIE ({config.n_pes} PEs, FIFO {config.fifo_depth}, "
          f"{config.clock_mhz:g} MHz)")
    images = data.test_images[: args.images].reshape(args.images, -1).numpy()
    labels = data.test_labels[: args.images].numpy()
    with torch_no_grad():
        float_logits = result.model(data.test_images[: args.images]).numpy()
    runs_per_image = []
    for image in progress(images, description="EIE simulation", unit="image"):
        runs_per_image.append(run_network(layers, image, config, table))
    eie_logits = np.stack([from_fixed(runs[-1].result.outputs, config.act_frac) for runs in runs_per_image])
    agree = float(np.mean(eie_logits.argmax(1) == float_logits.argmax(1)))
    eie_correct = float(np.mean(eie_logits.argmax(1) == labels))

    stage("3/3 writing the report")
    rows = per_layer_rows(runs_per_image, config)
    report = {
        "provenance": provenance(args, config), "accuracy_dense": summary["accuracy_dense"], "accuracy_pruned": summary["accuracy_pruned"],
        "accuracy_quantized": summary["accuracy_quantized"], "compression_PQH": summary["rate_PQH"],
        "compression_pruning": summary["rate_pruning_params"], "images_simulated": args.images,
        "eie_top1_on_those_images": 100 * eie_correct, "eie_vs_torch_class_agreement": 100 * agree,
        "max_logit_error": float(np.max(np.abs(eie_logits - float_logits))),
        "layers": rows, "config": config.to_dict(), "energy_table": table.label,
        "data": data.name, "wall_seconds": time.perf_counter() - started,
    }
    with output_folder(args, args.out) as staged:
        write_outputs(result, staged, provenance(args))
        write_compression_pages(staged)
        write_text_atomic(staged / "report.json", json.dumps(report, indent=2) + "\n")
        write_demo_pages(staged)
    if args.json:
        print_json(report)
        return 0
    print()
    print(short_table(report))
    print(f"\nreport: {args.out / 'report.md'} (also report.json, energy.png, sizes.md, model.dc.npz); "
          f"{report['wall_seconds']:.0f} s")
    return 0


def torch_no_grad():
    import torch
    return torch.no_grad()


def per_layer_rows(runs_per_image: list, config) -> list[dict]:
    rows = []
    for index, run in enumerate(runs_per_image[0]):
        runs = [image_runs[index] for image_runs in runs_per_image]
        counters = [r.result.counters for r in runs]
        mean = lambda values: float(np.mean(values))  # noqa: E731
        components = {key: mean([r.eie.components[key] for r in runs]) for key in run.eie.components}
        dense = {key: mean([r.energies[-1].components[key] for r in runs]) for key in run.energies[-1].components}
        rows.append({
            "layer": run.layer.name, "shape": f"{run.layer.rows}x{run.layer.cols}", "weight_density": run.layer.density,
            "cycles": mean([r.result.cycles for r in runs]), "latency_us": mean([r.result.latency_us for r in runs]),
            "efficiency": mean([r.result.efficiency for r in runs]),
            "eie_uJ": sum(components.values()) / 1e6, "dense_dram_uJ": sum(dense.values()) / 1e6,
            "sram_accesses": mean([c["spmat_line_reads"] + c["ptr_reads"] for c in counters]),
            "dram_accesses_dense": run.layer.rows * run.layer.cols,
            "eie_components_pJ": components, "dense_components_pJ": dense,
        })
    return rows

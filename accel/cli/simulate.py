"""``accel simulate``: run a layer or a whole model on the cycle-level EIE simulator, on one input or a test set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.cli.common import (
    add_activations_option,
    add_architecture_options,
    add_energy_option,
    add_json_option,
    add_max_weights_option,
    architecture_from,
    energy_table_from,
    fraction,
    positive_int,
    provenance,
    real_number,
    seed,
    write_json,
)

DEFAULT_LIMIT = 1000
CALIBRATION_SAMPLES = 256
SHOWN_OUTPUTS = 16

EXAMPLES = f"""\
examples:
  accel simulate Alex-7                      # a benchmark layer (synthetic weights), 64 PEs, FIFO 8
  accel simulate Alex-7 --pes 16 --fifo 2 --json
  accel simulate NT-We --compare-dram        # energy beside the same layer with its weights in DRAM
  accel simulate fc1.npz --input x.npy       # a layer file written by `accel export` or QuantizedLayer.save
  accel simulate out/model.dc.npz --data /usr/share/datasets/fashion-mnist --limit 1000
                                             # a compressed model on 1,000 test images: top-1 of torch and
                                             # EIE, agreement, cycles / latency / energy per layer
  accel simulate out/model.dc.npz --input image.npy   # one input: prints the output vector and class
  accel simulate weights.pt --activations relu,gelu,none   # a torch state_dict's Linear layers, 4-bit
  accel simulate weights.pt --prune 1.0      # ... pruned first: |w| < 1.0 x std of the layer set to zero

A compressed model runs as its graph says: the graph `accel compress --model` traced from the model's
forward (or that a schedule declared), so every Linear layer runs on EIE with the ReLU that follows it
fused, and everything else (GELU, LayerNorm, residual adds, reshapes, pooling, convolutions, an LSTM's
gate functions) runs on the host in float. The partition is printed and recorded under "import" in
--json/--out. A state_dict records no activations: declare them with --activations (ReLU between
layers and none after the last is assumed otherwise, and said). Files written before graphs were
recorded run as a chain of their fully connected layers, as the import says.

Without --data or --input the input is synthetic: a benchmark's own inputs, or seeded random values in
[0.05, 1) of the model's input shape; the output is marked so.

benchmark layers: {', '.join(layer.name for layer in BENCHMARK_LAYERS)}
"""


def act_frac_choice(text: str) -> str | int:
    """``auto`` or a number of fraction bits (0 to 31; the config checks it against act_bits)."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 31:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number of fraction bits from 0 to 31, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        description="Simulate compressed fully connected layers on the EIE PE array, cycle by cycle: a layer, or a "
                    "whole model with its host operations in torch. Prints the output (or, with --data, top-1 of "
                    "torch and EIE on a test set and their agreement), cycles, latency, load balance, key activity "
                    "counts and an energy breakdown, and checks EIE's outputs against the independent numpy "
                    "fixed-point model (exit status 1 if they differ).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="benchmark layer name, layer .npz, compressed model .npz, or torch state_dict .pt")
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--data", type=Path, metavar="DIR",
                        help="run the model's test samples: an IDX folder (MNIST format) or an .npz with test_images "
                             "and test_labels")
    inputs.add_argument("--limit", type=positive_int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"with --data: the first N test samples (default {DEFAULT_LIMIT})")
    inputs.add_argument("--input", type=Path, metavar="NPY",
                        help="one input (.npy): the model's input (any shape with as many values), or a layer's vector")
    inputs.add_argument("--act-density", type=fraction, metavar="P",
                        help="non-zero fraction of a synthetic input (default: a benchmark's own inputs, else 1.0)")
    inputs.add_argument("--act-frac", type=act_frac_choice, metavar="N|auto",
                        help="fraction bits of EIE's activations (default: the config's, 8 of 16): a number, or auto "
                             f"with --data: the most bits whose range holds twice the largest value entering or leaving "
                             f"an EIE layer on the first {CALIBRATION_SAMPLES} training samples of DIR (the test "
                             "samples are never used to choose it); recorded under \"fixed_point\"")
    model = parser.add_argument_group("models")
    add_activations_option(model)
    model.add_argument("--prune", type=real_number(0.0, 1e3), metavar="QUALITY",
                       help="state_dict only: prune each Linear layer where |w| < QUALITY x std before 4-bit "
                            "quantization (default: no pruning; the density column shows what is left)")
    model.add_argument("--skip-unsupported", action="store_true",
                       help="a state_dict or a file without a graph: simulate its Linear layers even with convolution "
                            "or normalisation between them, leaving those out (recorded as an approximation)")
    add_max_weights_option(model)
    parser.add_argument("--seed", type=seed, default=0, help="seed for synthetic weights and inputs (default 0)")
    parser.add_argument("--compare-dram", action="store_true",
                        help="also print the energy with the weights in DRAM: compressed (EIE's own accesses) and dense float32")
    parser.add_argument("--out", type=Path, metavar="JSON", help="also write the full result (every counter, per PE) here")
    add_architecture_options(parser)
    add_energy_option(parser)
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from accel.arch.errors import UserError
    from accel.explore.workloads import load_layers

    config = architecture_from(args)
    if isinstance(args.act_frac, int):
        try:
            config = config.replace(act_frac=args.act_frac)
        except UserError as error:
            raise UserError(f"--act-frac {args.act_frac}: {error}") from None
    elif args.act_frac == "auto" and args.data is None:
        raise UserError("--act-frac auto chooses the fixed point from the training samples of --data DIR: give --data, "
                        "or a number of fraction bits")
    table = energy_table_from(args)
    layouts = None
    if benchmark_named(args):
        from accel.arch.benchmarks import benchmark_layer, synthetic_input_values
        from accel.explore.layer_cache import benchmark_layout

        spec = benchmark_layer(args.source)
        layer, layout = benchmark_layout(spec, args.seed, config)
        layers, own_inputs, imported, layouts = [layer], synthetic_input_values(spec, args.seed), None, [layout]
    else:
        layers, own_inputs, imported = load_layers(args.source, args.seed, args.prune, args.skip_unsupported,
                                                   args.activations, args.max_weights)
    if imported is None and args.data is not None:
        raise UserError("--data runs a whole model: pass a compressed model (model.dc.npz) or a state_dict (.pt), "
                        "not a single layer")
    if args.data is not None and args.input is not None:
        raise UserError("give --data (a test set) or --input (one input), not both")
    if imported is not None and args.data is not None:
        return run_on_data(args, imported, config, table)
    if imported is None:
        runs, outputs, described = _run_layers(args, layers, own_inputs, config, table, layouts)
    else:
        runs, outputs, described = _run_model(args, imported, config, table)
    data = {"provenance": provenance(args, config), "config": config.to_dict(), "energy_table": table.label,
            "input": described, **({"import": imported.report()} if imported is not None else {}),
            "output": {"values": outputs.tolist(), "class": int(outputs.argmax())},
            "layers": [run.to_dict() for run in runs], "total": _totals(runs)}
    if args.out:
        write_json(args.out, data)
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=float)
        print()
        return _status(runs)
    if imported is not None:
        print_import(args.source, imported)
    print(f"EIE: {config.n_pes} PEs, FIFO depth {config.fifo_depth}, {config.clock_mhz:g} MHz; energy table: {table.label}")
    print(f"input: {described}")
    print(f"output: {_shown(outputs)}; class (largest output) {int(outputs.argmax())}")
    print()
    print(summary_table(runs, args.compare_dram))
    print()
    print(counts_table(runs))
    print()
    print(energy_table(runs, args.compare_dram))
    for run in runs:
        check = run.check
        print(f"check {run.layer.name}: numpy fixed-point model {'bit-exact' if check['numpy_model_bit_exact'] else 'DIFFERS'}; "
              f"vs float layer max |error| {check['max_abs_error']:.4g} (largest |output| {check['max_abs_float_output']:.4g}), "
              f"RMS {check['rms_error']:.3g}")
        for problem in run.capacity_problems:
            print(f"note: {run.layer.name} does not fit on chip: {problem}")
        if "weights" in run.layer.notes:
            print(f"note: {run.layer.name}: {run.layer.notes['weights']}")
    return _status(runs)


def benchmark_named(args: argparse.Namespace) -> bool:
    """Whether the source names a built-in benchmark layer (no file of that name, no state_dict options)."""
    from accel.explore.workloads import is_file_workload

    return (not is_file_workload(args.source) and not Path(args.source).exists() and args.prune is None
            and args.activations is None)


def _run_layers(args, layers, own_inputs, config, table, layouts=None):
    """A benchmark layer or a layer file on one input vector (``layouts``: laid out already, from the cache)."""
    from accel.arch.fixed_point import from_fixed
    from accel.cli.sources import layer_inputs
    from accel.sim.network import run_network

    inputs = layer_inputs(layers[0], own_inputs, args.input, args.act_density, args.seed)
    runs = run_network(layers, inputs, config, table, check=True, layouts=layouts)
    described = str(args.input) if args.input else ("synthetic (the benchmark's seeded inputs)" if own_inputs is not None
                                                    and args.act_density is None else "synthetic (seeded random values)")
    return runs, from_fixed(runs[-1].result.outputs, config.act_frac), described


def _run_model(args, imported, config, table):
    """A whole model on one input: ``--input``, else seeded random values of its input shape."""
    from accel.cli.sources import model_input
    from accel.explore.model_run import EIEModel

    sample, described = model_input(imported.graph.input_shape, args.input, args.act_density, args.seed)
    result = EIEModel(imported, config, table).run(sample, check=True)
    return result.runs, result.outputs, described


def run_on_data(args: argparse.Namespace, imported, config, table) -> int:
    """The model on the first ``--limit`` test samples of ``--data``."""
    from accel.arch.progress import progress
    from accel.cli.sources import shaped_samples
    from accel.explore.model_run import EIEModel, calibrated_act_frac, evaluate_on_data
    from accel.models.datasets import load_dataset

    data = load_dataset(args.data)
    shape = imported.graph.input_shape
    images, labels = shaped_samples(data, "test", args.limit, shape, args.data)
    fixed_point = {"act_frac": config.act_frac, "chosen": "config"}
    if args.act_frac == "auto":
        training = shaped_samples(data, "train", CALIBRATION_SAMPLES, shape, args.data)[0]
        fixed_point = {**calibrated_act_frac(imported, training, config), "chosen": "calibrated on training samples"}
        config = config.replace(act_frac=fixed_point["act_frac"])
    with progress(total=len(images), description="EIE simulation", unit="sample") as bar:
        result = evaluate_on_data(EIEModel(imported, config, table), images, labels, bar)
    record = {"provenance": provenance(args, config), "config": config.to_dict(), "energy_table": table.label,
              "data": {"source": str(args.data), "name": data.name, "samples": len(images)},
              "fixed_point": fixed_point, "import": imported.report(), **result}
    if args.out:
        write_json(args.out, record)
    if args.json:
        json.dump(record, sys.stdout, indent=2, default=float)
        print()
    else:
        print_import(args.source, imported)
        print(f"EIE: {config.n_pes} PEs, FIFO depth {config.fifo_depth}, {config.clock_mhz:g} MHz; energy table: {table.label}")
        print()
        print(data_report(record))
    return 0 if result["numpy_model_bit_exact_on_first_sample"] else 1


def print_import(source: str, imported) -> None:
    """What the import did, and the model's partition between EIE and the host."""
    from accel.report.tables import format_table, partition_rows

    origin = {"traced": "traced from the model's forward", "exported": "traced by running the model (torch.export)",
              "declared": "a chain declared by its activations",
              "assumed": "assumed: a chain of the Linear layers"}[imported.graph.origin]
    print(f"import of {source}:")
    for line in imported.lines():
        print(f"  {line}")
    rows, hidden = partition_rows(imported.partition())
    print(f"\npartition ({origin}):")
    print(format_table(["runs on", "operation", "output shape (one sample)"], rows))
    if hidden:
        print(f"(and {hidden} host operation(s) on sizes and tuples, in --json)")
    print()


def data_report(record: dict) -> str:
    """Accuracy, agreement and per-layer cost of a test-set run, as terminal tables."""
    from accel.report.models import fixed_point_line
    from accel.report.tables import format_table

    top1, agreement, samples = record["top1_percent"], record["agreement"], record["samples"]
    accuracy = format_table(["model", f"top-1 % ({samples:,} samples of {record['data']['name']})"], [
        ["float (weights before EIE's quantization)", "n/a (not in the file)" if top1["float"] is None else top1["float"]],
        ["quantized weights, torch float arithmetic", top1["quantized_torch"]],
        ["EIE: simulated fixed point, host in torch", top1["eie"]]])
    differing = agreement["disagreeing_samples"]
    lines = [accuracy, "", fixed_point_line(record), "",
             f"EIE gives the quantized torch model's class on {agreement['eie_vs_quantized_torch_percent']:.2f} % of samples"
             + (f" (differing: samples {', '.join(map(str, differing))}{' ...' if len(differing) == 20 else ''})"
                if differing else "")
             + f"; largest output difference {agreement['max_output_difference']:.4g}",
             f"first sample: numpy fixed-point model "
             f"{'bit-exact' if record['numpy_model_bit_exact_on_first_sample'] else 'DIFFERS'} on every EIE layer", ""]
    headers = ["layer", "shape", "density %", "input density %", "vectors", "cycles mean", "p50", "p99",
               "latency us mean", "p99 ", "EIE uJ mean", "p99  "]
    rows = [[layer["layer"] + (" +ReLU" if layer["relu"] else ""), f"{layer['shape'][0]}x{layer['shape'][1]}",
             100 * layer["weight_density"], 100 * layer["input_density"]["mean"], layer["invocations_per_sample"],
             layer["cycles"]["mean"],
             layer["cycles"]["p50"], layer["cycles"]["p99"], layer["latency_us"]["mean"], layer["latency_us"]["p99"],
             layer["energy_uJ"]["mean"], layer["energy_uJ"]["p99"]] for layer in record["layers"]]
    total = record["model"]
    rows.append(["whole model (EIE only)", "", "", "", "", total["cycles"]["mean"], total["cycles"]["p50"],
                 total["cycles"]["p99"], total["latency_us"]["mean"], total["latency_us"]["p99"],
                 total["energy_uJ"]["mean"], total["energy_uJ"]["p99"]])
    lines += ["per sample (vectors: matrix-vector products of the layer per sample; host operations not timed):",
              format_table(headers, rows)]
    return "\n".join(lines)


def _status(runs) -> int:
    return 0 if all(run.check["numpy_model_bit_exact"] for run in runs) else 1


def _totals(runs) -> dict:
    from accel.sim.network import network_totals

    return network_totals(runs)


def _shown(values) -> str:
    """A short rendering of an output vector."""
    shown = ", ".join(f"{value:.4g}" for value in values[:SHOWN_OUTPUTS])
    more = f", ... ({len(values)} values)" if len(values) > SHOWN_OUTPUTS else ""
    return f"[{shown}{more}]"


def summary_table(runs, compare_dram: bool = False) -> str:
    """Cycles, latency, load balance and energy per layer (and the chain's total)."""
    from accel.report.tables import format_table
    from accel.sim.network import network_totals

    vectors = any(run.invocations > 1 for run in runs)
    headers = ["layer", "shape", "density %", *(["vectors"] if vectors else []), "cycles", "latency us", "efficiency",
               "utilisation", "padding % (stored)", "EIE uJ", "pJ/op"]
    if compare_dram:
        headers += ["dense DRAM uJ", "dense / EIE"]
    rows = []
    for run in runs:
        row = [run.layer.name, f"{run.layer.rows}x{run.layer.cols}", 100 * run.layer.density,
               *([run.invocations] if vectors else []), run.result.cycles,
               run.result.latency_us, run.result.efficiency, run.result.utilisation,
               100 * run.padding_entries / max(1, run.stored_entries),
               run.eie.total_pj / 1e6, run.eie.pj_per_op]
        if compare_dram:
            row += [run.energies[-1].total_pj / 1e6, f"{run.energies[-1].total_pj / max(run.eie.total_pj, 1e-9):,.0f}x"]
        rows.append(row)
    if len(runs) > 1:
        total = network_totals(runs)
        eie, dense = total["energy"][runs[0].eie.label], total["energy"][runs[0].energies[-1].label]
        row = ["total", "", "", *([""] if vectors else []), total["cycles"], total["latency_us"], "", "", "",
               eie["total_pJ"] / 1e6, eie["pJ_per_op"]]
        if compare_dram:
            row += [dense["total_pJ"] / 1e6, f"{dense['total_pJ'] / max(eie['total_pJ'], 1e-9):,.0f}x"]
        rows.append(row)
    return format_table(headers, rows)


def counts_table(runs) -> str:
    """The key activity counts of each layer in this run; padding entries are what the layer stores."""
    from accel.report.tables import format_table

    headers = ["layer", "broadcasts", "stall cycles", "entries issued", "padding entries (stored)", "line reads",
               "pointer reads", "bypasses", "write-backs"]
    rows = [[run.layer.name, run.result.counters["broadcasts"], run.result.stall_cycles, run.result.counters["multiplies"],
             run.padding_entries, run.result.counters["spmat_line_reads"], run.result.counters["ptr_reads"],
             run.result.counters["bypasses"], run.result.counters["writebacks"]] for run in runs]
    return format_table(headers, rows)


def energy_table(runs, compare_dram: bool = False) -> str:
    """Energy by component over all layers, in uJ: EIE, and with --compare-dram the DRAM placements."""
    from accel.report.tables import format_table
    from accel.sim.energy import MODULES, TYPES

    placements = range(len(runs[0].energies)) if compare_dram else range(1)
    labels = [runs[0].energies[index].label for index in placements]
    totals = {label: sum(run.energies[index].total_pj for run in runs) for index, label in zip(placements, labels)}
    rows = []
    for heading, attribute, keys in (("module", "components", MODULES), ("type", "by_type", TYPES)):
        for key in keys:
            values = [sum(getattr(run.energies[index], attribute)[key] for run in runs) for index in placements]
            if any(values):
                eie_share = f"{100 * values[0] / max(totals[labels[0]], 1e-9):.1f}%"
                rows.append([f"{heading}: {key}", *(value / 1e6 for value in values), eie_share])
    rows.append(["total", *(totals[label] / 1e6 for label in labels), "100%"])
    return format_table(["energy by module and by type", *(f"{label} uJ" for label in labels), "share of EIE"], rows)

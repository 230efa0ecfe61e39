"""``accel simulate``: run compressed layers on the cycle-level EIE simulator."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from accel.arch.benchmarks import BENCHMARK_LAYERS
from accel.cli.common import (
    add_architecture_options,
    add_energy_option,
    add_json_option,
    add_max_weights_option,
    architecture_from,
    energy_table_from,
    fraction,
    provenance,
    real_number,
    seed,
    write_json,
)
from accel.cli.sources import layer_inputs
from accel.explore.workloads import load_layers
from accel.report.tables import format_table

if TYPE_CHECKING:
    pass
from sim.energy import MODULES, TYPES

if TYPE_CHECKING:
    pass
from sim.network import LayerRun, network_totals, run_network

EXAMPLES = f"""\
examples:
  accel simulate Alex-7                      # a benchmark layer (synthetic weights), 64 PEs, FIFO 8
  accel simulate Alex-7 --pes 16 --fifo 2 --json
  accel simulate NT-We --compare-dram        # energy beside the same layer with its weights in DRAM
  accel simulate fc1.npz --input x.npy       # a layer file written by `accel export` or QuantizedLayer.save
  accel simulate runs/demo/model.dc.npz      # every fully connected layer of a compressed model, chained
  accel simulate weights.pt                  # the Linear layers of a torch state_dict, quantized to 4 bits
  accel simulate weights.pt --prune 1.0      # ... pruned first: |w| < 1.0 x std of the layer set to zero

A torch state_dict or compressed model prints which tensors became which EIE layers and what was
left out and why (also recorded under "import" in --json/--out). Convolution or normalisation
between Linear layers is refused unless --skip-unsupported accepts leaving it out.

benchmark layers: {', '.join(layer.name for layer in BENCHMARK_LAYERS)}
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate", help="simulate compressed layers on EIE: cycles, activity and energy",
        description="Simulate compressed fully connected layers on the EIE PE array, cycle by cycle. Prints "
                    "cycles, latency, load balance, key activity counts and an energy breakdown by component "
                    "(with --compare-dram also the same layer with its weights in DRAM), and checks the outputs "
                    "against the independent numpy fixed-point model (exit status 1 if they differ).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="benchmark layer name, layer .npz, compressed model .npz, or torch state_dict .pt")
    parser.add_argument("--input", type=Path, metavar="NPY", help="float input vector (.npy); default: random, seeded")
    parser.add_argument("--act-density", type=fraction, metavar="P",
                        help="non-zero fraction of a random input (default: a benchmark's own inputs, else 1.0)")
    parser.add_argument("--prune", type=real_number(0.0, 1e3), metavar="QUALITY",
                        help="torch state_dict only: prune each Linear layer where |w| < QUALITY x std before 4-bit "
                             "quantization (default: no pruning; the density column shows what is left)")
    parser.add_argument("--skip-unsupported", action="store_true",
                        help="simulate the Linear layers of a model that has convolution or normalisation between "
                             "them, leaving those out (recorded as an approximation)")
    parser.add_argument("--seed", type=seed, default=0, help="seed for synthetic weights and inputs (default 0)")
    parser.add_argument("--compare-dram", action="store_true",
                        help="also print the energy with the weights in DRAM: compressed (EIE's own accesses) and dense float32")
    parser.add_argument("--out", type=Path, metavar="JSON", help="also write the full result (every counter, per PE) here")
    add_architecture_options(parser)
    add_energy_option(parser)
    add_json_option(parser)
    add_max_weights_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = architecture_from(args)
    table = energy_table_from(args)
    layers, inputs, imported = load_layers(args.source, args.seed, args.prune, args.skip_unsupported, args.max_weights)
    inputs = layer_inputs(layers[0], inputs, args.input, args.act_density, args.seed)
    runs = run_network(layers, inputs, config, table, check=True)
    data = {"provenance": provenance(args, config), "config": config.to_dict(), "energy_table": table.label,
            "input": str(args.input or "random (synthetic)"),
            **({"import": imported.report()} if imported is not None else {}),
            "layers": [run.to_dict() for run in runs], "total": network_totals(runs)}
    if args.out:
        write_json(args.out, data)
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=float)
        print()
        return 0
    if imported is not None:
        print(f"import of {args.source}:")
        for line in imported.lines():
            print(f"  {line}")
        print()
    print(f"EIE: {config.n_pes} PEs, FIFO depth {config.fifo_depth}, {config.clock_mhz:g} MHz; energy table: {table.label}")
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
    return 0 if all(run.check["numpy_model_bit_exact"] for run in runs) else 1


def summary_table(runs: list[LayerRun], compare_dram: bool = False) -> str:
    """Cycles, latency, load balance and energy per layer (and the chain's total)."""
    headers = ["layer", "shape", "density %", "cycles", "latency us", "efficiency", "utilisation", "padding %", "EIE uJ",
               "pJ/op"]
    if compare_dram:
        headers += ["dense DRAM uJ", "dense / EIE"]
    rows = []
    for run in runs:
        row = [run.layer.name, f"{run.layer.rows}x{run.layer.cols}", 100 * run.layer.density, run.result.cycles,
               run.result.latency_us, run.result.efficiency, run.result.utilisation,
               100 * run.padding_entries / max(1, run.stored_entries),
               run.eie.total_pj / 1e6, run.eie.pj_per_op]
        if compare_dram:
            row += [run.energies[-1].total_pj / 1e6, f"{run.energies[-1].total_pj / max(run.eie.total_pj, 1e-9):,.0f}x"]
        rows.append(row)
    if len(runs) > 1:
        total = network_totals(runs)
        eie, dense = total["energy"][runs[0].eie.label], total["energy"][runs[0].energies[-1].label]
        row = ["total", "", "", total["cycles"], total["latency_us"], "", "", "", eie["total_pJ"] / 1e6, eie["pJ_per_op"]]
        if compare_dram:
            row += [dense["total_pJ"] / 1e6, f"{dense['total_pJ'] / max(eie['total_pJ'], 1e-9):,.0f}x"]
        rows.append(row)
    return format_table(headers, rows)


def counts_table(runs: list[LayerRun]) -> str:
    """The key activity counts of each layer."""
    headers = ["layer", "broadcasts", "stall cycles", "entries issued", "padding entries", "line reads", "pointer reads",
               "bypasses", "write-backs"]
    rows = [[run.layer.name, run.result.counters["broadcasts"], run.result.stall_cycles, run.result.counters["multiplies"],
             run.padding_entries, run.result.counters["spmat_line_reads"], run.result.counters["ptr_reads"],
             run.result.counters["bypasses"], run.result.counters["writebacks"]] for run in runs]
    return format_table(headers, rows)


def energy_table(runs: list[LayerRun], compare_dram: bool = False) -> str:
    """Energy by component over all layers, in uJ: EIE, and with --compare-dram the DRAM placements."""
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

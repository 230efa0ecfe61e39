"""Run one layer or a chain of layers on EIE and collect cycles, counts and energy per layer.

Between layers the destination register file becomes the next source: the fixed-point outputs
of one layer are the next layer's inputs, with no conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import LayerImage, build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.sim.energy import EnergyBreakdown, compressed_in_dram_energy, dense_in_dram_energy, eie_energy, useful_macs
from accel.sim.fast import simulate_layer
from accel.sim.numpy_model import fixed_point_forward, float_error
from accel.sim.results import LayerResult


@dataclass
class LayerRun:
    """One layer's simulation with its energy under the three memory placements."""

    layer: QuantizedLayer
    result: LayerResult
    energies: list[EnergyBreakdown]
    padding_entries: int
    stored_entries: int
    capacity_problems: list[str]
    check: dict | None = None
    """With ``check=True``: bit-exact agreement with the numpy model, and the error vs the float layer."""
    invocations: int = 1
    """Matrix-vector products the run covers (a layer applied to several vectors: tokens, time steps)."""

    @property
    def eie(self) -> EnergyBreakdown:
        return self.energies[0]

    def to_dict(self) -> dict:
        return {"layer": self.layer.name, "shape": [self.layer.rows, self.layer.cols],
                "weight_density": self.layer.density, "notes": self.layer.notes, "invocations": self.invocations,
                "stored_entries": self.stored_entries, "padding_entries": self.padding_entries,
                "fits_on_chip": not self.capacity_problems, "capacity_problems": self.capacity_problems,
                **self.result.to_dict(), "energy": [energy.to_dict() for energy in self.energies],
                **({"check": self.check} if self.check is not None else {})}


@dataclass(frozen=True)
class LayerLayout:
    """A layer laid out for one config, with what the layout implies, found once for every run of the layer."""

    image: LayerImage
    padding_entries: int
    stored_entries: int
    capacity_problems: list[str]


def lay_out(layer: QuantizedLayer, config: ArchConfig) -> LayerLayout:
    image = build_layer_image(layer, config)
    return LayerLayout(image, image.padding_entries, image.total_entries, image.capacity_problems())


def run_layer(layer: QuantizedLayer, inputs_fixed: np.ndarray, config: ArchConfig, table: EnergyTable,
              check: bool = False, layout: LayerLayout | None = None) -> LayerRun:
    """Simulate one layer on fixed-point inputs; energies in the order EIE, compressed in DRAM, dense in DRAM.

    ``layout`` is the layer laid out for ``config`` when the caller has it already (``lay_out``).
    """
    layout = lay_out(layer, config) if layout is None else layout
    result = simulate_layer(layout.image, inputs_fixed)
    macs = useful_macs(layer, inputs_fixed)
    energies = [eie_energy(result, table, macs), compressed_in_dram_energy(result, table, macs),
                dense_in_dram_energy(layer.rows, layer.cols, table, macs)]
    checked = None
    if check:
        exact = np.array_equal(fixed_point_forward(layer, inputs_fixed, config), result.outputs)
        checked = {"numpy_model_bit_exact": exact, **float_error(layer, inputs_fixed, result.outputs, config)}
    return LayerRun(layer, result, energies, layout.padding_entries, layout.stored_entries, layout.capacity_problems,
                    checked)


def run_network(layers: list[QuantizedLayer], inputs: np.ndarray, config: ArchConfig, table: EnergyTable,
                progress=None, check: bool = False, layouts: list[LayerLayout] | None = None) -> list[LayerRun]:
    """Run ``layers`` in order on the float input vector ``inputs`` (converted to fixed point once);
    ``layouts``: the layers laid out for ``config`` already, where the caller has them."""
    for first, second in zip(layers, layers[1:]):
        if first.rows != second.cols:
            raise UserError(f"layer {first.name!r} has {first.rows} outputs but {second.name!r} takes {second.cols} inputs")
    activations = quantize_activations(np.asarray(inputs, dtype=np.float64).ravel(), config)
    runs = []
    for index, layer in enumerate(layers):
        run = run_layer(layer, activations, config, table, check, None if layouts is None else layouts[index])
        runs.append(run)
        activations = run.result.outputs
        if progress is not None:
            progress.update(1)
    return runs


def merge_runs(runs: list[LayerRun]) -> LayerRun:
    """One layer's runs on several vectors as one run: cycles, counters and energies add up (batches concatenated)."""
    first = runs[0]
    if len(runs) == 1:
        return first
    result = LayerResult(first.result.name, first.result.config, runs[-1].result.outputs,
                         [batch for run in runs for batch in run.result.batches])
    energies = [EnergyBreakdown(energy.label, _summed([run.energies[index].activity for run in runs]), energy.terms,
                                sum(run.energies[index].operations for run in runs))
                for index, energy in enumerate(first.energies)]
    return LayerRun(first.layer, result, energies, first.padding_entries, first.stored_entries, first.capacity_problems,
                    _merged_check([run.check for run in runs if run.check is not None]), sum(run.invocations for run in runs))


def _merged_check(checks: list[dict]) -> dict | None:
    """The checks of several runs: bit-exact only if every run was, the largest errors, the RMS over all."""
    if not checks:
        return None
    return {"numpy_model_bit_exact": all(check["numpy_model_bit_exact"] for check in checks),
            "max_abs_error": max(check["max_abs_error"] for check in checks),
            "rms_error": float(np.sqrt(np.mean([check["rms_error"] ** 2 for check in checks]))),
            "max_abs_float_output": max(check["max_abs_float_output"] for check in checks)}


def _summed(activities: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for activity in activities:
        for name, count in activity.items():
            total[name] = total.get(name, 0) + count
    return total


def network_totals(runs: list[LayerRun]) -> dict:
    """Cycles, latency and energy of the whole chain (layers run one after the other)."""
    cycles = sum(run.result.cycles for run in runs)
    energies = {}
    for index, breakdown in enumerate(runs[0].energies):
        total = sum(run.energies[index].total_pj for run in runs)
        operations = sum(run.energies[index].operations for run in runs)
        energies[breakdown.label] = {"total_pJ": total, "pJ_per_op": total / max(1, operations)}
    return {"layers": len(runs), "cycles": cycles, "latency_us": cycles * runs[0].result.config.cycle_ns / 1e3,
            "energy": energies}

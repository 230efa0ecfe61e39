"""A whole model on EIE, sample by sample: host operations in torch, every EIE layer on the cycle-level simulator.

An EIE layer's input is converted to the accelerator's fixed point (accel/arch/TIMING.md, Arithmetic)
where it comes from the host; its outputs leave in fixed point and the host reads them as floats,
exactly (every fixed-point activation is a float32). Between two EIE layers the activations pass
unchanged, as the destination register file becomes the next source. A layer applied to several
vectors (tokens, time steps) runs once per vector; its runs of one sample are merged
(``accel.sim.network.merge_runs``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.fixed_point import from_fixed, quantize_activations
from accel.arch.layer import QuantizedLayer
from accel.models.export import ModelImport, torch_forward
from accel.models.graph import run_graph
from accel.sim.network import LayerLayout, LayerRun, lay_out, merge_runs, run_layer

PERCENTILES = (50, 99)
CALIBRATION_HEADROOM = 2.0
"""A calibrated fixed point holds twice the largest magnitude seen on the calibration samples (one bit to spare)."""


@dataclass
class SampleRun:
    """One sample through the model: its outputs and each EIE layer's run (all its vectors merged)."""

    outputs: np.ndarray
    runs: list[LayerRun]

    @property
    def cycles(self) -> int:
        return sum(run.result.cycles for run in self.runs)


class EIEModel:
    """An imported model whose EIE layers run on the simulator; each layer is laid out for ``config`` once."""

    def __init__(self, imported: ModelImport, config: ArchConfig, table: EnergyTable) -> None:
        self.imported, self.config, self.table = imported, config, table
        self.layers = {layer.name: layer for layer in imported.layers}
        self._layouts: dict[str, LayerLayout] = {}

    def layout(self, layer: QuantizedLayer) -> LayerLayout:
        if layer.name not in self._layouts:
            self._layouts[layer.name] = lay_out(layer, self.config)
        return self._layouts[layer.name]

    def run(self, sample: torch.Tensor, check: bool = False) -> SampleRun:
        """One sample (without a batch dimension); ``check`` compares every vector with the numpy fixed-point model."""
        runs: dict[str, list[LayerRun]] = {}

        def linear(name: str, x: torch.Tensor) -> torch.Tensor:
            layer = self.layers[name]
            vectors = x.detach().reshape(-1, layer.cols).double().numpy()
            outputs = np.empty((vectors.shape[0], layer.rows))
            for index, vector in enumerate(vectors):
                fixed = quantize_activations(vector, self.config)
                run = run_layer(layer, fixed, self.config, self.table, check, self.layout(layer))
                runs.setdefault(name, []).append(run)
                outputs[index] = from_fixed(run.result.outputs, self.config.act_frac)
            return torch.from_numpy(outputs).to(x.dtype).reshape(*x.shape[:-1], layer.rows)

        with torch.no_grad():
            output = run_graph(self.imported.graph, sample.unsqueeze(0), self.imported.tensors, linear)
        if not isinstance(output, torch.Tensor):
            raise UserError(f"the model returns a {type(output).__name__}; a model on EIE must return one tensor")
        order = [name for name in self.imported.graph.eie_layers() if name in runs]
        return SampleRun(output[0].double().numpy(), [merge_runs(runs[name]) for name in order])


def calibrated_act_frac(imported: ModelImport, samples: torch.Tensor, config: ArchConfig) -> dict:
    """The activation fixed point for ``imported``: the most fraction bits whose range holds
    ``CALIBRATION_HEADROOM`` times the largest value entering or leaving an EIE layer on ``samples``
    (training samples, never the ones measured), in the quantized model in torch."""
    magnitudes: dict[str, float] = {}
    torch_forward(imported, samples, quantized=True, magnitudes=magnitudes)
    largest = max(magnitudes.values(), default=0.0)
    if not math.isfinite(largest):
        raise UserError(f"the model's values at its EIE layers are not finite on the calibration samples ({largest}); "
                        "check the model and its data, or give --act-frac a number of fraction bits")
    integer_bits = max(0, math.ceil(math.log2(largest * CALIBRATION_HEADROOM))) if largest > 0 else 0
    act_frac = max(0, config.act_bits - 1 - integer_bits)
    return {"act_frac": act_frac, "samples": len(samples), "largest_magnitude": largest,
            "headroom": CALIBRATION_HEADROOM, "range": 2.0 ** (config.act_bits - 1 - act_frac),
            "largest_per_layer": magnitudes}


def spread(values: Iterable[float]) -> dict[str, float]:
    """Mean and percentiles of a per-sample quantity."""
    array = np.asarray(list(values), dtype=np.float64)
    return {"mean": float(array.mean()), **{f"p{q}": float(np.percentile(array, q)) for q in PERCENTILES}}


def evaluate_on_data(model: EIEModel, images: torch.Tensor, labels: torch.Tensor, progress=None) -> dict:
    """Top-1 of the float model, the quantized model in torch and EIE on ``images``; their agreement; per-layer
    cycles, latency and energy as mean / p50 / p99 over the samples. The first sample is checked bit for bit
    against the numpy fixed-point model."""
    quantized = torch_forward(model.imported, images, quantized=True)
    floating = torch_forward(model.imported, images, quantized=False) if model.imported.float_weights else None
    samples = []
    for index, image in enumerate(images):
        samples.append(model.run(image, check=index == 0))
        if progress is not None:
            progress.update(1)
    eie = np.stack([sample.outputs for sample in samples]).reshape(len(samples), -1)
    quantized = quantized.double().numpy().reshape(len(samples), -1)
    labels = labels.numpy()
    eie_class, quantized_class = eie.argmax(1), quantized.argmax(1)
    top1 = {"float": None if floating is None else _top1(floating.double().numpy().reshape(len(samples), -1), labels),
            "quantized_torch": _top1(quantized, labels), "eie": _top1(eie, labels)}
    disagreeing = np.flatnonzero(eie_class != quantized_class)
    return {
        "samples": len(samples), "top1_percent": top1,
        "agreement": {"eie_vs_quantized_torch_percent": 100 * float(np.mean(eie_class == quantized_class)),
                      "eie_vs_float_percent": None if floating is None else
                      100 * float(np.mean(eie_class == floating.numpy().reshape(len(samples), -1).argmax(1))),
                      "disagreeing_samples": disagreeing[:20].tolist(),
                      "disagreeing_margins": [float(np.diff(np.sort(quantized[index])[-2:])[0])
                                              for index in disagreeing[:20]],
                      "max_output_difference": float(np.max(np.abs(eie - quantized)))},
        "numpy_model_bit_exact_on_first_sample": all(run.check["numpy_model_bit_exact"] for run in samples[0].runs),
        "layers": layer_statistics(samples, model.config, recurrent_gates(model.imported)),
        "model": model_statistics(samples, model.config),
    }


def recurrent_gates(imported: ModelImport) -> set[str]:
    """The EIE layers that are recurrent gate matrices (run once per time step)."""
    return {name for node in imported.graph.nodes if node.op in ("lstm", "lstm_cell") for name in node.kwargs["layers"]}


def layer_statistics(samples: list[SampleRun], config: ArchConfig, gates: set[str] = frozenset()) -> list[dict]:
    """Each EIE layer's cycles, latency and energy per sample, as mean / p50 / p99; ``gates`` run per time step."""
    rows = []
    for index, first in enumerate(samples[0].runs):
        runs = [sample.runs[index] for sample in samples]
        rows.append({
            "layer": first.layer.name, "shape": [first.layer.rows, first.layer.cols], "weight_density": first.layer.density,
            "relu": first.layer.relu, "invocations_per_sample": spread(run.invocations for run in runs)["mean"],
            "invocation": "time step" if first.layer.name in gates else "vector",
            "cycles": spread(run.result.cycles for run in runs),
            "cycles_per_invocation": float(np.mean([run.result.cycles / run.invocations for run in runs])),
            "latency_us": spread(run.result.cycles * config.cycle_ns / 1e3 for run in runs),
            "energy_uJ": spread(run.eie.total_pj / 1e6 for run in runs),
            "input_density": spread(run.result.counters["broadcasts"] / (first.layer.cols * len(run.result.batches))
                                    for run in runs),
            "fits_on_chip": not first.capacity_problems,
        })
    return rows


def model_statistics(samples: list[SampleRun], config: ArchConfig) -> dict:
    """The whole model's EIE cycles, latency and energy per sample (host operations not included)."""
    return {"cycles": spread(sample.cycles for sample in samples),
            "latency_us": spread(sample.cycles * config.cycle_ns / 1e3 for sample in samples),
            "energy_uJ": spread(sum(run.eie.total_pj for run in sample.runs) / 1e6 for sample in samples)}


def _top1(outputs: np.ndarray, labels: np.ndarray) -> float:
    return 100 * float(np.mean(outputs.argmax(1) == labels))

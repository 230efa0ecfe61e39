"""The nine benchmark layers of the EIE paper and a seeded generator of synthetic stand-ins.

The paper's pruned AlexNet, VGG-16 and NeuralTalk weights are not public. Each stand-in has the
same shape, weight density and activation density, drawn with a fixed seed: results on them are
results on SYNTHETIC weights and say so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations
from accel.arch.layer import QuantizedLayer


@dataclass(frozen=True)
class BenchmarkLayer:
    """One row of EIE Tables III and IV (latencies in microseconds, batch 1)."""

    name: str
    inputs: int
    outputs: int
    weight_density: float
    act_density: float
    cpu_dense_us: float
    cpu_sparse_us: float
    gpu_dense_us: float
    gpu_sparse_us: float
    eie_theoretical_us: float
    eie_actual_us: float


BENCHMARK_LAYERS: tuple[BenchmarkLayer, ...] = (
    BenchmarkLayer("Alex-6", 9216, 4096, 0.09, 0.351, 7516.2, 3066.5, 541.5, 134.8, 28.1, 30.3),
    BenchmarkLayer("Alex-7", 4096, 4096, 0.09, 0.353, 6187.1, 1282.1, 243.0, 65.8, 11.7, 12.2),
    BenchmarkLayer("Alex-8", 4096, 1000, 0.25, 0.375, 1134.9, 890.5, 80.5, 54.6, 8.9, 9.9),
    BenchmarkLayer("VGG-6", 25088, 4096, 0.04, 0.183, 35022.8, 3774.3, 1467.8, 167.0, 28.1, 34.4),
    BenchmarkLayer("VGG-7", 4096, 4096, 0.04, 0.375, 5372.8, 545.1, 243.0, 39.8, 7.9, 8.7),
    BenchmarkLayer("VGG-8", 4096, 1000, 0.23, 0.411, 774.2, 777.3, 80.5, 48.0, 7.3, 8.4),
    BenchmarkLayer("NT-We", 4096, 600, 0.10, 1.0, 605.0, 261.2, 65.0, 17.7, 5.2, 8.0),
    BenchmarkLayer("NT-Wd", 600, 8791, 0.11, 1.0, 1361.4, 437.4, 90.1, 41.1, 13.0, 13.9),
    BenchmarkLayer("NT-LSTM", 1201, 2400, 0.10, 1.0, 470.5, 260.0, 51.9, 18.5, 6.5, 7.5),
)

SYNTHETIC_NOTE = "synthetic weights: same shape and densities as the paper's layer, drawn with a fixed seed"
WORK_MATCHED_NOTE = ("synthetic weights, work-matched: same shape and densities, with the columns of non-zero inputs "
                     "denser or sparser so that they hold the paper's theoretical work")


def benchmark_layer(name: str) -> BenchmarkLayer:
    for layer in BENCHMARK_LAYERS:
        if layer.name.lower() == name.lower():
            return layer
    raise UserError(f"unknown benchmark layer {name!r}; choose one of {', '.join(l.name for l in BENCHMARK_LAYERS)}")


def synthetic_layer(spec: BenchmarkLayer, seed: int = 0, code_bits: int = 4) -> QuantizedLayer:
    """A ReLU layer with exactly round(density * size) non-zero codes, uniform over 1..15."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    size = spec.inputs * spec.outputs
    chosen = rng.choice(size, size=round(spec.weight_density * size), replace=False)
    codes = np.zeros(size, dtype=np.uint8)
    codes[chosen] = rng.integers(1, 1 << code_bits, size=chosen.size)
    centroids = (1 << code_bits) - 1
    codebook = np.r_[0.0, np.linspace(-0.25, 0.25, centroids)]
    return QuantizedLayer(codes=codes.reshape(spec.outputs, spec.inputs), codebook=codebook, relu=True,
                          name=spec.name, notes={"weights": SYNTHETIC_NOTE})


STRUCTURED_NOTE = ("synthetic weights, structured: same shape and density, each row's density drawn from a gamma "
                   "distribution of shape 2 (row lengths vary, coefficient of variation 0.71)")
ROW_DENSITY_GAMMA_SHAPE = 2.0
"""Fixed before any comparison with the paper: a spread of row lengths, not a fit to any latency."""


def structured_layer(spec: BenchmarkLayer, seed: int = 0, code_bits: int = 4) -> QuantizedLayer:
    """A stand-in with varying row lengths: row densities ~ Gamma(2) scaled to the layer's density (capped at 1).

    Each row keeps ``round(density_r * inputs)`` weights at uniformly random columns, so some PEs
    receive more work than others, as in trained, pruned layers; the layer's total stays within
    rounding of the paper's density. Synthetic, and labelled so.
    """
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 3])
    densities = rng.gamma(ROW_DENSITY_GAMMA_SHAPE, spec.weight_density / ROW_DENSITY_GAMMA_SHAPE, spec.outputs)
    densities *= spec.weight_density / densities.mean()
    counts = np.minimum(np.round(np.minimum(densities, 1.0) * spec.inputs).astype(np.int64), spec.inputs)
    codes = np.zeros((spec.outputs, spec.inputs), dtype=np.uint8)
    for row, count in enumerate(counts):
        columns = rng.choice(spec.inputs, size=int(count), replace=False)
        codes[row, columns] = rng.integers(1, 1 << code_bits, size=columns.size)
    codebook = np.r_[0.0, np.linspace(-0.25, 0.25, (1 << code_bits) - 1)]
    return QuantizedLayer(codes=codes, codebook=codebook, relu=True, name=spec.name, notes={"weights": STRUCTURED_NOTE})


def work_matched_layer(spec: BenchmarkLayer, config: ArchConfig, seed: int = 0, code_bits: int = 4) -> QuantizedLayer:
    """A stand-in whose broadcast columns hold the paper's theoretical work.

    The paper's "theoretical" time is workload / peak throughput, so its layer issues
    ``theoretical_us x clock x n_pes`` entries. Here the columns whose input is non-zero (those of
    ``synthetic_input_values``) get the weight density at which their entries, padding included, reach
    that count; the other columns take the rest of the layer's non-zeros, so the layer's density is the
    paper's, unless the inactive columns cannot absorb the difference (the paper's densities are rounded:
    with every input non-zero the work fixes the density). Raises UserError when no density of the
    active columns reaches the target.
    """
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 2])
    active = synthetic_input_values(spec, seed) != 0
    target = spec.eie_theoretical_us * config.clock_mhz * config.n_pes
    draws = rng.random((spec.outputs, int(active.sum())), dtype=np.float32)
    codebook = np.r_[0.0, np.linspace(-0.25, 0.25, (1 << code_bits) - 1)]

    from accel.arch.images import build_layer_image  # numba: imported only where a layout is needed

    def entries(density: float) -> int:
        sub = QuantizedLayer(codes=(draws < density).astype(np.uint8), codebook=codebook)
        return build_layer_image(sub, config).total_entries

    low, high = 0.0, 1.0
    if entries(high) < target:
        raise UserError(f"{spec.name}: even fully dense active columns hold less than the paper's theoretical work")
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if entries(middle) < target else (low, middle)
    active_nonzero = draws < high
    total = round(spec.weight_density * spec.inputs * spec.outputs)
    inactive_cells = spec.outputs * int((~active).sum())
    rest = min(max(total - int(active_nonzero.sum()), 0), inactive_cells)
    inactive_nonzero = np.zeros(inactive_cells, dtype=bool)
    inactive_nonzero[rng.choice(inactive_cells, size=rest, replace=False)] = True
    nonzero = np.zeros((spec.outputs, spec.inputs), dtype=bool)
    nonzero[:, active] = active_nonzero
    nonzero[:, ~active] = inactive_nonzero.reshape(spec.outputs, -1)
    codes = np.zeros(nonzero.shape, dtype=np.uint8)
    codes[nonzero] = rng.integers(1, 1 << code_bits, size=int(nonzero.sum()))
    return QuantizedLayer(codes=codes, codebook=codebook, relu=True, name=spec.name,
                          notes={"weights": WORK_MATCHED_NOTE})


def synthetic_input_values(spec: BenchmarkLayer, seed: int = 0) -> np.ndarray:
    """Float input activations in [0.05, 1), non-zero at exactly round(act_density * inputs) places."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode()), 1])
    values = np.zeros(spec.inputs)
    chosen = rng.choice(spec.inputs, size=round(spec.act_density * spec.inputs), replace=False)
    values[chosen] = rng.uniform(0.05, 1.0, size=chosen.size)
    return values


def synthetic_inputs(spec: BenchmarkLayer, config: ArchConfig, seed: int = 0) -> np.ndarray:
    """The synthetic input activations in fixed point (none of them rounds to zero)."""
    return quantize_activations(synthetic_input_values(spec, seed), config)


TABLE_II_PE_MW = 9.157
"""Power of one PE (EIE Table II: 45 nm, 800 MHz, post-layout)."""
TABLE_II_MODULES_MW = {"activation queue": 0.112, "pointer read": 1.807, "sparse-matrix read": 4.955,
                       "arithmetic": 1.162, "activation read/write": 1.122}
TABLE_II_TYPES_MW = {"memory": 5.416, "clock": 1.874, "register": 1.026, "combinational": 0.841}
CHIP = {"n_pes": 64, "clock_mhz": 800.0, "power_W": 0.59, "alex7_us": 12.2, "frames_per_s": 81967,
        "frames_per_J": 138927, "area_mm2": 40.8}
"""The chip's row of EIE Table V (Alex-7) and its configuration."""

"""A verification campaign: random layers on random configs, the generated Verilog under Icarus or
Verilator against the simulator (outputs, cycles and every counter the testbench reads).

Configs draw 1-64 PEs, FIFO depth 1-16, broadcast latency 0-2, both empty-column costs, narrow
(saturating) or 32-bit accumulators and 4-16 rows per PE; each config runs a group of layers with
densities and input densities over 0-1, several batches, large values (saturation, ReLU) and
padding chains. One Verilog build and one Icarus process per config.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations
from accel.arch.layer import QuantizedLayer
from hdl.cosim import prepare_case, run_cases

SMALL_SRAMS = dict(spmat_sram_bytes=4096, ptr_sram_bytes=256)
CODEBOOK = np.r_[0.0, np.linspace(-7.9, 7.9, 15)]


def random_config(rng: np.random.Generator) -> ArchConfig:
    return ArchConfig(n_pes=int(np.clip(np.round(2 ** rng.uniform(0, 6)), 1, 64)), fifo_depth=int(rng.integers(1, 17)),
                      broadcast_latency=int(rng.integers(0, 3)), empty_column_cycles=int(rng.integers(0, 2)),
                      acc_bits=int(rng.choice([18, 32])), regfile_entries=int(rng.choice([4, 16, 64])), **SMALL_SRAMS)


def random_layer(rng: np.random.Generator, config: ArchConfig) -> tuple[QuantizedLayer, np.ndarray]:
    """A layer of one to three batches with random densities, and its (fixed-point) input vector."""
    rows = int(rng.integers(1, min(3 * config.n_pes * config.regfile_entries, 2000) + 1))
    cols = int(rng.integers(1, 41))
    codes = (rng.random((rows, cols)) < rng.random()) * rng.integers(1, 16, (rows, cols))
    if rng.random() < 0.2 and rows > 16 * config.n_pes:  # padding chains (with 64 rows per PE): one far row per column
        codes[:] = 0
        codes[-1, :] = rng.integers(1, 16, cols)
    scale = float(rng.choice([1.0, 30.0, 120.0]))  # large values saturate accumulators and outputs
    inputs = rng.standard_normal(cols) * scale * (rng.random(cols) < rng.random())
    layer = QuantizedLayer(codes=codes, codebook=CODEBOOK, bias=rng.standard_normal(rows) * scale, relu=bool(rng.random() < 0.5))
    return layer, quantize_activations(inputs, config)


def run_campaign(layers: int, build_dir: Path, seed: int = 0, per_config: int = 10,
                 progress: Callable[[int], None] | None = None, simulator: str = "icarus") -> dict:
    """Run ``layers`` random layers, ``per_config`` per random config, under ``simulator`` (icarus or
    verilator); totals and any mismatches."""
    rng = np.random.default_rng(seed)
    totals = {"layers": 0, "configs": 0, "batches": 0, "clock_cycles": 0, "compute_cycles": 0, "mismatches": 0,
              "simulator": simulator, "seed": seed, "problems": []}
    started = time.perf_counter()
    while totals["layers"] < layers:
        config = random_config(rng)
        count = min(per_config, layers - totals["layers"])
        cases = []
        for index in range(count):
            layer, inputs = random_layer(rng, config)
            cases.append(prepare_case(f"layer {totals['layers'] + index}", layer, inputs, config))
        results = run_cases(config, cases, Path(build_dir) / f"config{totals['configs']}", simulator=simulator)
        totals["configs"] += 1
        totals["layers"] += count
        totals["batches"] += len(results["cases"])
        totals["clock_cycles"] += results["clock_cycles"]
        totals["compute_cycles"] += results["compute_cycles"]
        totals["mismatches"] += results["mismatches"]
        totals["problems"] += [{"config": config.to_dict(), **case} for case in results["cases"] if case["problems"]][:10]
        if progress is not None:
            progress(count)
    totals["wall_s"] = time.perf_counter() - started
    return totals

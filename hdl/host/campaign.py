"""A verification campaign: random layers on random configs, the generated Verilog under Icarus or
Verilator against the simulator (outputs, cycles and every counter the testbench reads).

Configs draw 1-64 PEs, FIFO depth 1-16, broadcast latency 0-2, both empty-column costs, narrow
(saturating) or 32-bit accumulators, 4, 16 or 64 rows per PE and 32- or 64-bit sparse-matrix lines
(the ECP5 builds' and the chip's), and take pipeline latency 8, 9 and 10 in turn (from 9 on the
RTL registers the product, from 10 on the accumulator write, so a campaign of three configs or
more runs all three); each config runs a group of layers with densities and input densities over
0-1, several batches, large values (saturation, ReLU) and padding chains. One Verilog build and one simulator process per config; configs may run on
several processes at once.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.cases import LayerCase, prepare_case
from accel.hdl.host.cosim import run_cases
from accel.hdl.rtl.pe import MIN_PIPELINE_LATENCY

SMALL_SRAMS = dict(spmat_sram_bytes=4096, ptr_sram_bytes=256)
CODEBOOK = np.r_[0.0, np.linspace(-7.9, 7.9, 15)]


PIPELINE_LATENCIES = tuple(range(MIN_PIPELINE_LATENCY, MIN_PIPELINE_LATENCY + 3))
"""The RTL's three accumulate pipelines (accel/arch/TIMING.md): the campaign's configs take them in turn."""


def random_config(rng: np.random.Generator, index: int = 0) -> ArchConfig:
    """The campaign's ``index``-th config: random sizes and latencies, except the pipeline latency, which
    goes round ``PIPELINE_LATENCIES`` so that every campaign of three configs or more runs each."""
    return ArchConfig(n_pes=int(np.clip(np.round(2 ** rng.uniform(0, 6)), 1, 64)), fifo_depth=int(rng.integers(1, 17)),
                      broadcast_latency=int(rng.integers(0, 3)), empty_column_cycles=int(rng.integers(0, 2)),
                      acc_bits=int(rng.choice([18, 32])), regfile_entries=int(rng.choice([4, 16, 64])),
                      line_bits=int(rng.choice([32, 64])), length_register=int(rng.integers(0, 2)),
                      pipeline_latency=PIPELINE_LATENCIES[index % len(PIPELINE_LATENCIES)], **SMALL_SRAMS)


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


def draw_groups(layers: int, seed: int = 0, per_config: int = 10) -> list[tuple[ArchConfig, list[LayerCase]]]:
    """The campaign's random configs, each with its group of test cases, drawn in order from ``seed``."""
    rng = np.random.default_rng(seed)
    groups: list[tuple[ArchConfig, list[LayerCase]]] = []
    drawn = 0
    while drawn < layers:
        config = random_config(rng, len(groups))
        cases = []
        for index in range(min(per_config, layers - drawn)):
            layer, inputs = random_layer(rng, config)
            cases.append(prepare_case(f"layer {drawn + index}", layer, inputs, config))
        groups.append((config, cases))
        drawn += len(cases)
    return groups


def run_campaign(layers: int, build_dir: Path, seed: int = 0, per_config: int = 10,
                 progress: Callable[[int], None] | None = None, simulator: str = "icarus", workers: int = 1) -> dict:
    """Run ``layers`` random layers, ``per_config`` per random config, under ``simulator`` (icarus or
    verilator), one config group per process on ``workers`` processes; totals and any mismatches.
    The layers drawn and the totals do not depend on ``workers``."""
    totals = {"layers": 0, "configs": 0, "batches": 0, "clock_cycles": 0, "compute_cycles": 0, "mismatches": 0,
              "simulator": simulator, "seed": seed, "workers": workers, "problems": []}
    started = time.perf_counter()
    groups = draw_groups(layers, seed, per_config)
    folders = [Path(build_dir) / f"config{index}" for index in range(len(groups))]
    # forkserver: the layers were simulated on numba's threads, and forking a threaded process can deadlock
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) if workers > 1 else nullcontext() as pool:
        mapper = pool.map if pool is not None else map
        runs = mapper(run_cases, [config for config, _ in groups], [cases for _, cases in groups], folders,
                      [False] * len(groups), [simulator] * len(groups))
        for (config, cases), results in zip(groups, runs):
            totals["configs"] += 1
            totals["layers"] += len(cases)
            totals["batches"] += len(results["cases"])
            totals["clock_cycles"] += results["clock_cycles"]
            totals["compute_cycles"] += results["compute_cycles"]
            totals["mismatches"] += results["mismatches"]
            totals["problems"] += [{"config": config.to_dict(), **case} for case in results["cases"] if case["problems"]][:10]
            if progress is not None:
                progress(len(cases))
    totals["wall_s"] = time.perf_counter() - started
    return totals

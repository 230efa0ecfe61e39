"""Benchmark sweeps over the nine EIE layers: latency, FIFO depth, PE count, energy, speed."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable

import numpy as np

from accel.arch.benchmarks import (
    BENCHMARK_LAYERS,
    BenchmarkLayer,
    structured_layer,
    synthetic_inputs,
    synthetic_layer,
    work_matched_layer,
)
from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.explore.sweep import Executor, run_sweep
from accel.explore.sweep_spec import SweepSpec, parse_spec
from accel.sim.fast import simulate_layer
from accel.sim.network import run_layer
from accel.sim.results import LayerResult

OVERHEAD_SEEDS = 5
"""Synthetic layers (seeds ``seed .. seed + 4``) whose overhead over perfect balance is averaged."""
FIFO_DEPTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PE_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _layers(specs: Iterable[BenchmarkLayer], seed: int) -> list[tuple[BenchmarkLayer, QuantizedLayer]]:
    return [(spec, synthetic_layer(spec, seed=seed)) for spec in specs]


def latency_rows(config: ArchConfig, table: EnergyTable, seed: int = 0, progress=None) -> list[dict]:
    """Simulated latency and energy of each benchmark layer beside the paper's Table IV."""
    rows = []
    for spec, layer in _layers(BENCHMARK_LAYERS, seed):
        inputs = synthetic_inputs(spec, config, seed)
        run = run_layer(layer, inputs, config, table)
        matched = work_matched_layer(spec, config, seed)
        matched_us = simulate_layer(build_layer_image(matched, config), inputs).latency_us
        structured = simulate_layer(build_layer_image(structured_layer(spec, seed), config), inputs)
        eie, dense = run.energies[0], run.energies[-1]
        balanced_us = run.result.counters["multiplies"] / config.n_pes * config.cycle_ns / 1e3
        overheads = [_overhead(run.result, config)] + [
            _overhead(simulate_layer(build_layer_image(synthetic_layer(spec, seed=other), config),
                                     synthetic_inputs(spec, config, other)), config)
            for other in range(seed + 1, seed + OVERHEAD_SEEDS)]
        rows.append({
            "layer": spec.name, "inputs": spec.inputs, "outputs": spec.outputs,
            "weight_density": spec.weight_density, "act_density": spec.act_density,
            "cycles": run.result.cycles, "simulated_us": run.result.latency_us,
            "paper_theoretical_us": spec.eie_theoretical_us, "paper_actual_us": spec.eie_actual_us,
            "difference_pct": 100 * (run.result.latency_us / spec.eie_actual_us - 1),
            "balanced_us": balanced_us,
            "overhead": float(np.mean(overheads)), "overhead_min": min(overheads), "overhead_max": max(overheads),
            "overhead_seeds": OVERHEAD_SEEDS,
            "paper_overhead": spec.eie_actual_us / spec.eie_theoretical_us,
            "work_matched_us": matched_us,
            "work_matched_difference_pct": 100 * (matched_us / spec.eie_actual_us - 1),
            "work_matched_density": float(np.count_nonzero(matched.codes) / matched.codes.size),
            "structured_us": structured.latency_us,
            "structured_difference_pct": 100 * (structured.latency_us / spec.eie_actual_us - 1),
            "structured_efficiency": structured.efficiency,
            "efficiency": run.result.efficiency, "utilisation": run.result.utilisation,
            "padding_pct": 100 * run.padding_entries / max(1, run.stored_entries),
            "fits_on_chip": not run.capacity_problems, "eie_uJ": eie.total_pj / 1e6, "eie_pJ_per_op": eie.pj_per_op,
            "compressed_dram_uJ": run.energies[1].total_pj / 1e6, "dense_dram_uJ": dense.total_pj / 1e6,
            "components_pJ": eie.components, "dense_components_pJ": dense.components,
            "gop_per_s": eie.operations / (run.result.latency_us * 1e3),
            "power_per_pe_mW": eie.total_pj / (run.result.latency_us * 1e3) / config.n_pes,
            "pJ_per_peak_op": eie.total_pj / (run.result.latency_us * 1e-6) / (config.n_pes * config.clock_mhz * 1e6 * 2),
        })
        if progress is not None:
            progress.update(1)
    return rows


def _overhead(result: LayerResult, config: ArchConfig) -> float:
    """Simulated cycles over perfect balance (issued entries / PEs), the same as latency / ``balanced_us``."""
    return result.cycles / (result.counters["multiplies"] / config.n_pes)


def fifo_spec(config: ArchConfig, seed: int = 0, depths: Iterable[int] = FIFO_DEPTHS) -> SweepSpec:
    """The FIFO sweep as a sweep spec: every benchmark layer at every depth, the rest of ``config`` fixed."""
    return _bench_spec(config, seed, "fifo_depth", depths, ["efficiency", "cycles", "stall_cycles"])


def pe_spec(config: ArchConfig, seed: int = 0, counts: Iterable[int] = PE_COUNTS) -> SweepSpec:
    """The PE-count sweep as a sweep spec: every benchmark layer at every PE count."""
    return _bench_spec(config, seed, "n_pes", counts, ["cycles", "efficiency", "utilisation"])


def _bench_spec(config: ArchConfig, seed: int, axis: str, values: Iterable[int], metrics: list[str]) -> SweepSpec:
    base = {name: value for name, value in config.to_dict().items() if name != axis}
    return parse_spec({"metrics": metrics, "seed": seed, "base": base,
                       "axes": {"workload": [spec.name for spec in BENCHMARK_LAYERS], axis: list(values)}},
                      where=f"the {axis} sweep")


def fifo_sweep(config: ArchConfig, seed: int = 0, depths: Iterable[int] = FIFO_DEPTHS,
               executor: Executor | None = None, progress: bool = True) -> list[dict]:
    """Load-balance efficiency of each layer for each FIFO depth."""
    rows = _bench_rows(fifo_spec(config, seed, depths), executor, progress)
    return [{"layer": r["workload"], "fifo_depth": r["fifo_depth"], "efficiency": r["efficiency"], "cycles": r["cycles"],
             "stall_cycles": r["stall_cycles"]} for r in rows]


def pe_sweep(config: ArchConfig, seed: int = 0, counts: Iterable[int] = PE_COUNTS,
             executor: Executor | None = None, progress: bool = True) -> list[dict]:
    """Cycles of each layer for each PE count, and the speedup over the first count."""
    rows = _bench_rows(pe_spec(config, seed, counts), executor, progress)
    first = {r["workload"]: r["cycles"] for r in reversed(rows)}
    return [{"layer": r["workload"], "n_pes": r["n_pes"], "cycles": r["cycles"], "speedup": first[r["workload"]] / r["cycles"],
             "efficiency": r["efficiency"], "utilisation": r["utilisation"]} for r in rows]


def _bench_rows(spec: SweepSpec, executor: Executor | None, progress: bool) -> list[dict]:
    outcome = run_sweep(spec, executor, progress=progress)
    failed = [row for row in outcome.rows if row["status"] != "ok"]
    if failed:
        raise UserError(f"{len(failed)} benchmark points failed, the first: {failed[0]['error']}")
    return outcome.rows


def simulator_speed(config: ArchConfig, name: str = "Alex-6", seed: int = 0, repeats: int = 7) -> dict:
    """Wall time of the fast simulator on one layer, end to end, and of torch CSR matrix-vector products of it.

    End to end is building the PE memory images plus simulating them; each is the median of
    ``repeats`` runs after one untimed run (which loads the compiled loops). Both sides start from the
    layer's non-zeros: the layer finds them once (timed apart as ``nonzeros_s``), as torch builds its
    CSR tensor once (``torch_to_csr_s``) before its products are timed. Both run with their
    default threads (the image build shares its rows and PEs among numba's threads) and with one
    thread each; the load average is recorded because the machine may be shared.
    """
    import numba
    import torch

    from accel.arch.benchmarks import benchmark_layer
    from accel.explore.baselines import time_matvec

    spec = benchmark_layer(name)
    layer = synthetic_layer(spec, seed=seed)
    inputs = synthetic_inputs(spec, config, seed)
    start = time.perf_counter()
    layer.sparse_codes()
    nonzeros_s = time.perf_counter() - start
    numba_threads, torch_threads = numba.get_num_threads(), torch.get_num_threads()
    ours = _end_to_end(layer, inputs, config, repeats)
    weights, values = layer.dense_weights(), inputs / (1 << config.act_frac)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        torch.as_tensor(weights, dtype=torch.float32).to_sparse_csr()
    torch_to_csr_s = time.perf_counter() - start
    default = time_matvec(weights, values)
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    try:
        ours_single = _end_to_end(layer, inputs, config, repeats)
        single = time_matvec(weights, values)
    finally:
        numba.set_num_threads(numba_threads)
        torch.set_num_threads(torch_threads)
    return {"layer": name, "n_pes": config.n_pes, "nonzeros_s": nonzeros_s, "image_build_s": ours["build_s"],
            "simulate_s": ours["simulate_s"], "end_to_end_s": ours["end_to_end_s"], "cycles": ours["cycles"],
            "simulated_cycles_per_s": ours["cycles"] / ours["simulate_s"], "numba_threads": numba_threads,
            "torch_csr_matvec_us": default.sparse_us, "torch_to_csr_s": torch_to_csr_s, "torch_threads": torch_threads,
            "torch_dense_matvec_us": default.dense_us,
            "end_to_end_over_torch_csr": ours["end_to_end_s"] * 1e6 / default.sparse_us,
            "end_to_end_1_thread_s": ours_single["end_to_end_s"], "image_build_1_thread_s": ours_single["build_s"],
            "simulate_1_thread_s": ours_single["simulate_s"], "torch_csr_matvec_1_thread_us": single.sparse_us,
            "end_to_end_over_torch_csr_1_thread": ours_single["end_to_end_s"] * 1e6 / single.sparse_us,
            "repeats": repeats, "load_average_1min": os.getloadavg()[0], "cpu_cores": os.cpu_count()}


def _end_to_end(layer: QuantizedLayer, inputs: np.ndarray, config: ArchConfig, repeats: int) -> dict:
    """Median seconds of building the images, simulating them, and both (one untimed run first)."""
    simulate_layer(build_layer_image(layer, config), inputs)
    builds, simulations, totals = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        image = build_layer_image(layer, config)
        built = time.perf_counter()
        result = simulate_layer(image, inputs)
        done = time.perf_counter()
        builds.append(built - start)
        simulations.append(done - built)
        totals.append(done - start)
    return {"build_s": float(np.median(builds)), "simulate_s": float(np.median(simulations)),
            "end_to_end_s": float(np.median(totals)), "cycles": result.cycles}

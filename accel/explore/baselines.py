"""Measured baselines: batch-1 dense and sparse matrix-vector products with torch.

The EIE paper compares against MKL/cuBLAS/cuSPARSE on a Core i7 and a Titan X. Here the same
layer shapes run as ``torch`` dense (``W @ x``) and CSR sparse products on this machine's CPU,
and on a CUDA GPU when one is present. Times are medians over repeated runs.
"""

from __future__ import annotations

import os
import platform
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from accel.arch.benchmarks import BENCHMARK_LAYERS, synthetic_input_values, synthetic_layer
from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import build_layer_image
from accel.arch.progress import progress
from accel.sim import simulate_layer


@dataclass
class BaselineTiming:
    """Median wall time of one batch-1 matrix-vector product, in microseconds."""

    device: str
    dense_us: float
    sparse_us: float
    threads: int
    repeats: int

    def to_dict(self) -> dict:
        return asdict(self)


def median_time_us(run, repeats: int, synchronize=lambda: None) -> float:
    """Median of ``repeats`` timed calls after a short warm-up."""
    for _ in range(3):
        run()
    synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        synchronize()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples) * 1e6)


def time_matvec(weights: np.ndarray, inputs: np.ndarray, device: str = "cpu", repeats: int = 20) -> BaselineTiming:
    """Time ``weights @ inputs`` dense and as CSR sparse (float32, batch 1) on ``device``."""
    dense = torch.as_tensor(weights, dtype=torch.float32, device=device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        sparse = dense.to_sparse_csr()
    vector = torch.as_tensor(inputs, dtype=torch.float32, device=device).reshape(-1, 1)
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        expected = dense @ vector
        if not torch.allclose(sparse @ vector, expected, rtol=1e-4, atol=1e-4):
            raise RuntimeError("torch CSR and dense products disagree")  # pragma: no cover
        dense_us = median_time_us(lambda: dense @ vector, repeats, synchronize)
        sparse_us = median_time_us(lambda: sparse @ vector, repeats, synchronize)
    return BaselineTiming(device=describe_device(device), dense_us=dense_us, sparse_us=sparse_us,
                          threads=torch.get_num_threads(), repeats=repeats)


def describe_device(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return f"{platform.processor() or platform.machine()} CPU"


def available_devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def measure_baselines(repeats: int) -> list[dict]:
    """Torch dense and CSR times of the nine benchmark layers beside the paper's and the simulated EIE's."""
    config = ArchConfig()
    rows = []
    for spec in progress(BENCHMARK_LAYERS, description="timing torch", unit="layer"):
        layer = synthetic_layer(spec)
        values = synthetic_input_values(spec)
        row = {"layer": spec.name, "device": ""}
        for device in available_devices():
            timing = time_matvec(layer.dense_weights(), values, device, repeats)
            row[f"{device}_dense_us"], row[f"{device}_sparse_us"] = timing.dense_us, timing.sparse_us
            row["device"] = (row["device"] + "; " if row["device"] else "") + timing.device + f" ({timing.threads} threads)"
        result = simulate_layer(build_layer_image(layer, config), quantize_activations(values, config))
        row.update({"load_average_1min": round(os.getloadavg()[0], 2), "eie_simulated_us": result.latency_us, "paper_cpu_dense_us": spec.cpu_dense_us,
                    "paper_cpu_sparse_us": spec.cpu_sparse_us, "paper_gpu_dense_us": spec.gpu_dense_us,
                    "paper_gpu_sparse_us": spec.gpu_sparse_us, "paper_eie_actual_us": spec.eie_actual_us})
        rows.append(row)
    return rows

"""Measured baselines: batch-1 dense and sparse matrix-vector products with torch.

The EIE paper compares against MKL/cuBLAS/cuSPARSE on a Core i7 and a Titan X. Here the same
layer shapes run as ``torch`` dense (``W @ x``) and CSR sparse products on this machine's CPU,
and on a CUDA GPU when one is present. Times are medians over repeated runs.
"""

from __future__ import annotations

import platform
import time
import warnings
from pathlib import Path
from dataclasses import asdict, dataclass

import numpy as np
import torch


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

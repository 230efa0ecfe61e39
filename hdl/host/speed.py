"""RTL simulation speed: clock cycles per second of the generated Verilog under Icarus.

Two rates: the whole cocotb testbench (loading memories and reading outputs cost a Python call
per cycle) and compute mode alone, where Icarus runs free until ``done``. The machine's load
average is recorded beside them: other jobs on the same cores slow Icarus down.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.cases import prepare_case
from accel.hdl.host.cosim import run_cases


def measure_rtl_speed(work: Path, pe_counts: tuple[int, ...] = (4, 16), seed: int = 0) -> list[dict]:
    """Run one seeded 10%-dense 256x512 layer (full inputs) per PE count and time the testbench."""
    rows = []
    rng = np.random.default_rng(seed)
    codes = (rng.random((256, 512)) < 0.1) * rng.integers(1, 16, (256, 512))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], name="random 256x512, 10% dense")
    for n_pes in pe_counts:
        config = ArchConfig(n_pes=n_pes, fifo_depth=8, spmat_sram_bytes=8192, ptr_sram_bytes=2048, regfile_entries=64)
        inputs = quantize_activations(rng.random(512), config)
        results = run_cases(config, [prepare_case(layer.name, layer, inputs, config)], work / f"{n_pes}pe")
        rows.append({"PEs": n_pes, "layer": layer.name, "clock cycles (load + compute + read-out)": results["clock_cycles"],
                     "testbench s": round(results["testbench_s"], 2),
                     "testbench cycles/s": round(results["clock_cycles"] / results["testbench_s"]),
                     "compute cycles": results["compute_cycles"], "compute s": round(results["compute_s"], 3),
                     "compute cycles/s (Icarus alone)": round(results["compute_cycles"] / results["compute_s"]),
                     "load average": round(os.getloadavg()[0], 1), "CPUs": os.cpu_count()})
    return rows

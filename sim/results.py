"""Simulation results: activity counters and cycles per batch and per layer (no energy here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.counters import Counter
from accel.arch.errors import UserError
from accel.arch.images import BatchImage, LayerImage

COUNTER_NAMES = tuple(counter.value for counter in Counter)
"""The activity counters of accel/arch/TIMING.md, in table order (``accel.arch.counters``)."""


def empty_counters() -> dict[str, int]:
    return {name: 0 for name in COUNTER_NAMES}


def activation_sram_counts(image: LayerImage, batch: BatchImage) -> dict[str, int]:
    """Activation SRAM reads and writes of one batch (accel/TIMING.md, "Activity counted per batch").

    Inputs beyond the source register files (``rows_per_batch`` of them) are read from the activation
    SRAM as the leading non-zero detection examines them; the outputs of every batch but the layer's
    last are written to it (the next batch reuses the destination register files).
    """
    last = batch.row_start + batch.n_rows >= image.rows
    return {"act_sram_reads": max(0, image.cols - image.config.rows_per_batch),
            "act_sram_writes": 0 if last else batch.n_rows}


@dataclass
class BatchResult:
    """Cycles and activity of one batch of output rows."""

    row_start: int
    n_rows: int
    cycles: int
    t_issue: int
    stall_cycles: int
    busy: np.ndarray
    """Cycles each PE was occupied by a column, out of ``t_issue``."""
    counters: dict[str, int]

    @property
    def efficiency(self) -> float:
        """Load-balance efficiency: 1 - bubbles / total over the issue phase."""
        if self.t_issue == 0:
            return 1.0
        return float(self.busy.sum()) / (self.busy.size * self.t_issue)

    @property
    def utilisation(self) -> float:
        """Arithmetic-unit utilisation: issued entries / (PEs x T_issue); an empty column's cycle counts as busy
        in the efficiency but issues nothing."""
        if self.t_issue == 0:
            return 1.0
        return self.counters["multiplies"] / (self.busy.size * self.t_issue)

    def to_dict(self) -> dict:
        return {"row_start": self.row_start, "n_rows": self.n_rows, "cycles": self.cycles, "t_issue": self.t_issue,
                "stall_cycles": self.stall_cycles, "efficiency": self.efficiency, "utilisation": self.utilisation,
                "busy_per_pe": self.busy.tolist(), "counters": dict(self.counters)}


@dataclass
class LayerResult:
    """Outputs (fixed point), cycles and activity of one layer."""

    name: str
    config: ArchConfig
    outputs: np.ndarray
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def cycles(self) -> int:
        return sum(batch.cycles for batch in self.batches)

    @property
    def counters(self) -> dict[str, int]:
        total = empty_counters()
        for batch in self.batches:
            for name, value in batch.counters.items():
                total[name] += value
        return total

    @property
    def efficiency(self) -> float:
        issue = sum(batch.t_issue for batch in self.batches)
        busy = sum(float(batch.busy.sum()) for batch in self.batches)
        return 1.0 if issue == 0 else busy / (self.config.n_pes * issue)

    @property
    def utilisation(self) -> float:
        """Issued entries / (PEs x T_issue) over all batches (see ``BatchResult.utilisation``)."""
        issue = sum(batch.t_issue for batch in self.batches)
        return 1.0 if issue == 0 else self.counters["multiplies"] / (self.config.n_pes * issue)

    @property
    def stall_cycles(self) -> int:
        return sum(batch.stall_cycles for batch in self.batches)

    @property
    def latency_us(self) -> float:
        return self.cycles * self.config.cycle_ns / 1e3

    def to_dict(self) -> dict:
        return {"name": self.name, "cycles": self.cycles, "latency_us": self.latency_us, "efficiency": self.efficiency,
                "utilisation": self.utilisation, "stall_cycles": self.stall_cycles, "counters": self.counters,
                "batches": [batch.to_dict() for batch in self.batches]}


BatchSimulator = Callable[[LayerImage, BatchImage, np.ndarray], tuple[BatchResult, np.ndarray]]


def simulate_batches(image: LayerImage, inputs_fixed: np.ndarray, simulate_batch: BatchSimulator) -> LayerResult:
    """Run ``simulate_batch`` on every batch of ``image`` and gather outputs and results."""
    inputs = np.asarray(inputs_fixed, dtype=np.int64)
    if inputs.shape != (image.cols,):
        raise UserError(f"layer {image.name!r} takes {image.cols} inputs, got an input vector of shape {inputs.shape}")
    outputs = np.zeros(image.rows, dtype=np.int64)
    result = LayerResult(name=image.name, config=image.config, outputs=outputs)
    for batch in image.batches:
        batch_result, batch_outputs = simulate_batch(image, batch, inputs)
        result.batches.append(batch_result)
        outputs[batch.row_start: batch.row_start + batch.n_rows] = batch_outputs
    return result

"""Test cases: one layer on one input vector, with the simulator's answers batch by batch.

``prepare_case`` lays the layer out, runs the simulator on it and keeps what every host drives (the
load-port writes, the inputs, the batch's write-back rows) and what every host checks (outputs and the
quantities of ``accel.arch.counters.COMPARED``). Amaranth tests, cocotb, the UART link and the written
Verilog testbench all take these objects; they cross into cocotb's process as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.counters import Timing
from accel.arch.images import LayerImage, build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.scoreboard import compared_values
from accel.hdl.protocol.loading import LoadWrite, batch_writes
from accel.hdl.protocol.ports import LoadTarget
from accel.sim import simulate_layer


@dataclass(frozen=True)
class BatchCase:
    """One batch: how to load and run it, and what the simulator gave for it."""

    writes: tuple[LoadWrite, ...]
    rows: int
    """Write-back rows (local rows of the fullest PE): the ``rows`` port."""
    row_start: int
    """The batch's first row in the layer."""
    pe_rows: tuple[int, ...]
    """Rows each PE holds (its outputs to read back)."""
    expected_outputs: tuple[int, ...]
    """The simulator's outputs in the layer's row order."""
    expected: dict[str, int | list[int]]
    """The simulator's value of each quantity of ``COMPARED``, by name."""

    @property
    def expected_cycles(self) -> int:
        return int(self.expected[Timing.CYCLES.value])

    def to_json(self) -> dict:
        return {"writes": [[write.target.value, -1 if write.pe is None else write.pe, write.addr, write.data]
                           for write in self.writes],
                "rows": self.rows, "row_start": self.row_start, "pe_rows": list(self.pe_rows),
                "expected_outputs": list(self.expected_outputs), "expected": self.expected}

    @classmethod
    def from_json(cls, data: dict) -> BatchCase:
        writes = tuple(LoadWrite(LoadTarget(target), None if pe < 0 else pe, addr, int(value))
                       for target, pe, addr, value in data["writes"])
        return cls(writes, data["rows"], data["row_start"], tuple(data["pe_rows"]), tuple(data["expected_outputs"]),
                   dict(data["expected"]))


@dataclass(frozen=True)
class LayerCase:
    """A layer and its input vector (fixed point) as the array runs it, batch by batch."""

    name: str
    n_pes: int
    relu: bool
    inputs: tuple[int, ...]
    batches: tuple[BatchCase, ...]

    @property
    def expected_outputs(self) -> list[int]:
        """The simulator's outputs of the whole layer, in row order."""
        return [value for batch in self.batches for value in batch.expected_outputs]

    def to_json(self) -> dict:
        return {"name": self.name, "n_pes": self.n_pes, "relu": self.relu, "inputs": list(self.inputs),
                "batches": [batch.to_json() for batch in self.batches]}

    @classmethod
    def from_json(cls, data: dict) -> LayerCase:
        return cls(data["name"], data["n_pes"], bool(data["relu"]), tuple(data["inputs"]),
                   tuple(BatchCase.from_json(batch) for batch in data["batches"]))


def prepare_case(name: str, layer: QuantizedLayer, inputs_fixed: np.ndarray, config: ArchConfig,
                 image: LayerImage | None = None) -> LayerCase:
    """``layer`` on ``inputs_fixed`` as a case (``image``: the layer already laid out for ``config``)."""
    image = image or build_layer_image(layer, config)
    expected = simulate_layer(image, inputs_fixed)
    batches = tuple(
        BatchCase(tuple(batch_writes(image, batch)), batch.writeback_cycles, batch.row_start,
                  tuple(pe.n_rows for pe in batch.pes),
                  tuple(int(v) for v in expected.outputs[batch.row_start: batch.row_start + batch.n_rows]),
                  compared_values(result))
        for batch, result in zip(image.batches, expected.batches))
    return LayerCase(name, config.n_pes, bool(layer.relu), tuple(int(v) for v in inputs_fixed), batches)

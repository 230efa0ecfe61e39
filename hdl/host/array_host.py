"""The one host of the array: run test cases over any link and hold every batch against the simulator.

A batch is always the same four steps (the design folder's README and accel/arch/TIMING.md): load the
PE memories, write the input vector, start and wait for ``done``, read the outputs (and, where the link
can, the activity counters) back. A ``Link`` carries the steps to the array: ``PortLink`` sets and reads
the top-level ports (Amaranth's simulator, cocotb under Icarus or Verilator), ``UartLink`` speaks the
bridge's byte protocol (a board's serial port, the UART line in Amaranth's simulator, the pins of a
board netlist). ``ArrayHost`` plays cases over a link and checks them with the one scoreboard.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.hdl.host.cases import BatchCase, LayerCase, prepare_case
from accel.hdl.host.scoreboard import batch_problems
from accel.hdl.protocol.contents import batch_contents, contents_digest
from accel.hdl.protocol.loading import LoadWrite


class Link(Protocol):
    """How a host reaches the array: the steps of a batch."""

    async def connect(self) -> None:
        """Check the array at the other end is the one the host expects (nothing to check on ports)."""
        ...

    async def load(self, writes: Sequence[LoadWrite]) -> None: ...

    async def write_inputs(self, inputs: Sequence[int]) -> None: ...

    async def compute(self, rows: int, relu: bool, limit: int) -> int:
        """Start a batch of ``rows`` write-back rows; its cycle count once ``done`` rises (within ``limit``
        cycles where the link can count them)."""
        ...

    async def read_out(self, pe_rows: Sequence[int]) -> tuple[list[int], dict[str, Any]]:
        """The batch's outputs in row order and the activity counters the link can read (by name)."""
        ...


@dataclass
class BatchSeen:
    """What one batch gave: cycle count, outputs in row order and activity counters."""

    cycles: int
    outputs: list[int]
    counters: dict[str, Any] = field(default_factory=dict)
    compute_s: float = 0.0
    """Wall time from ``start`` to ``done`` (the simulator's speed on compute mode)."""


@dataclass
class LayerCheck:
    """One layer run on the array beside the simulator's answers for the same inputs."""

    name: str
    outputs: np.ndarray
    cycles: list[int]
    expected_cycles: list[int]
    problems: list[str]
    booted: bool = False
    """The array booted holding the first batch, so it was not loaded."""


class ArrayHost:
    """Plays cases on the array behind ``link`` and checks every batch against the simulator."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def run_batch(self, case: LayerCase, batch: BatchCase, load: bool = True) -> BatchSeen:
        """One batch of ``case``; ``load=False`` skips the load-port writes (a design that boots holding it)."""
        if load:
            await self.link.load(batch.writes)
        await self.link.write_inputs(case.inputs)
        began = time.perf_counter()
        cycles = await self.link.compute(batch.rows, case.relu, 100 * (batch.expected_cycles + 100))
        compute_s = time.perf_counter() - began
        outputs, counters = await self.link.read_out(batch.pe_rows)
        return BatchSeen(cycles, outputs, counters, compute_s)

    @staticmethod
    def problems(case: LayerCase, batch: BatchCase, seen: BatchSeen) -> list[str]:
        """Where ``seen`` differs from the simulator's answers for ``batch`` (``accel.hdl.host.scoreboard``)."""
        return batch_problems(batch.row_start, case.n_pes, batch.expected_outputs, seen.outputs, batch.expected,
                              {"cycles": seen.cycles, **seen.counters})

    async def run_case(self, case: LayerCase, booted: bool = False) -> tuple[list[BatchSeen], list[str]]:
        """Every batch of ``case`` (with ``booted`` the first is not loaded) and what differs from the simulator."""
        seen, problems = [], []
        for index, batch in enumerate(case.batches):
            seen.append(await self.run_batch(case, batch, load=not (booted and index == 0)))
            problems += self.problems(case, batch, seen[-1])
        return seen, problems

    async def run_layers(self, layers: Sequence[QuantizedLayer], inputs_fixed: np.ndarray, config: ArchConfig,
                         boots_with: str | None = None) -> list[LayerCheck]:
        """Connect, then run ``layers`` one after the other (each on the array's outputs of the one before),
        each checked against the simulator on the same inputs. When ``boots_with`` is the digest
        (``accel.hdl.protocol.contents.contents_digest``) of the first layer's first batch, the array boots
        holding it, and that batch is not loaded."""
        await self.link.connect()
        checks, activations = [], np.asarray(inputs_fixed, dtype=np.int64)
        for index, layer in enumerate(layers):
            image = build_layer_image(layer, config)
            booted = index == 0 and boots_with == contents_digest(batch_contents(image, image.batches[0]))
            case = prepare_case(layer.name, layer, activations, config, image)
            seen, problems = await self.run_case(case, booted)
            outputs = np.array([value for batch in seen for value in batch.outputs], dtype=np.int64)
            checks.append(LayerCheck(layer.name, outputs, [batch.cycles for batch in seen],
                                     [batch.expected_cycles for batch in case.batches], problems, booted))
            activations = outputs
        return checks

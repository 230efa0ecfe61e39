"""Initial contents of a PE's memories: a design built with them boots holding a layer.

Without contents every memory starts at zero and the host fills it through the load port. With
them, the Verilog declares the initial value of each memory (block RAM initialisation in synthesis,
``initial`` blocks in simulation), so the design computes the layer's first batch straight after
configuration, with no load-port writes; later batches, and re-runs after the accumulators have
been used, are loaded through the load port as usual.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.images import BatchImage, LayerImage


@dataclass(frozen=True)
class PEContents:
    """What one PE's memories hold at configuration (fixed-point words, see accel/arch/TIMING.md)."""

    spmat: tuple[int, ...]
    """Sparse-matrix lines (packed entries), unsigned."""
    ptr_even: tuple[int, ...]
    """Even pointer bank ``p_(2i)``."""
    ptr_odd: tuple[int, ...]
    """Odd pointer bank ``p_(2i+1)``."""
    acc: tuple[int, ...]
    """Accumulator initial values (the rows' bias), signed."""
    codebook: tuple[int, ...]
    """Codebook values, signed (the same in every PE)."""


def batch_contents(image: LayerImage, batch: BatchImage) -> list[PEContents]:
    """Every PE's contents for ``batch`` of ``image`` (the first batch is what a design boots with)."""
    config: ArchConfig = image.config
    problems = image.capacity_problems([batch])
    if problems:
        raise UserError(f"layer {image.name!r} does not fit the RTL's memories: {'; '.join(problems)}")
    codebook = tuple(int(value) for value in image.codebook)
    return [PEContents(spmat=tuple(int(word) for word in pe.lines(config)),
                       ptr_even=tuple(int(value) for value in pe.even_bank()),
                       ptr_odd=tuple(int(value) for value in pe.odd_bank()),
                       acc=tuple(int(value) for value in pe.bias), codebook=codebook)
            for pe in batch.pes]


def contents_digest(contents: Sequence[PEContents]) -> str:
    """SHA-256 of every PE's contents: the same digest means a design boots holding the same batch."""
    return hashlib.sha256(json.dumps([asdict(pe) for pe in contents]).encode()).hexdigest()

"""Relative-index sparse storage (Deep Compression, section 2): entries with b-bit gaps and fillers.

Non-zero codes of a flattened layer are stored in order as (code, relative index), the index
counting the zeros since the previous entry. A gap longer than ``2**b - 1`` is bridged by filler
entries (code 0, index ``2**b - 1``), each advancing the position by ``2**b``.
"""

from __future__ import annotations

import numpy as np

from accel.arch.errors import UserError


def encode_relative(codes: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(entry codes, relative indices) of the flattened ``codes``; fillers carry code 0."""
    flat = np.asarray(codes).ravel()
    step = 1 << index_bits
    positions = np.flatnonzero(flat)
    gap = positions - np.r_[-1, positions[:-1]] - 1
    fillers = gap // step
    per_entry = fillers + 1
    owner = np.repeat(np.arange(positions.size), per_entry)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(per_entry) - per_entry, per_entry)
    real = offset == fillers[owner]
    entry_codes = np.where(real, flat[positions][owner], 0).astype(np.int64)
    relative = np.where(real, (gap - fillers * step)[owner], step - 1).astype(np.int64)
    return entry_codes, relative


def decode_relative(entry_codes: np.ndarray, relative: np.ndarray, size: int) -> np.ndarray:
    """The flattened code array of ``size`` elements that ``encode_relative`` produced."""
    positions = np.cumsum(np.asarray(relative, dtype=np.int64) + 1) - 1
    if positions.size and positions[-1] >= size:
        raise UserError(f"corrupt sparse layer: an entry lands at position {positions[-1]} of {size}")
    flat = np.zeros(size, dtype=np.int64)
    flat[positions] = entry_codes
    return flat

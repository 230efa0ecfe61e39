"""The layout loop of ``accel.arch.images`` compiled by numba (imported only where a layer is laid out)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def layout(row_begin: np.ndarray, columns: np.ndarray, codes: np.ndarray, cols: int, n_pes: int, index_bits: int,
            code_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Every PE's entries, one after another, and its ``cols + 1`` pointers.

    The non-zeros come row by row (CSR); each PE walks its own rows in order, so every column sees
    its non-zeros by rising local row and knows the gap since the previous one. A first walk sizes
    the columns, a second places the entries. PEs are shared among threads; each writes only its own
    part of every array, so the result does not depend on the thread count.
    """
    gaps = np.empty(columns.size, dtype=np.int32)
    pointers = np.zeros((n_pes, cols + 1), dtype=np.int64)
    for pe in prange(n_pes):
        _pe_sizes(pe, n_pes, columns, row_begin, index_bits, gaps, pointers)
    offsets = np.zeros(n_pes + 1, dtype=np.int64)
    for pe in range(n_pes):
        offsets[pe + 1] = offsets[pe] + pointers[pe, cols]
    entries = np.empty(offsets[n_pes], dtype=np.int32)  # an entry is code_bits + index_bits <= 16 bits wide
    for pe in prange(n_pes):
        _pe_entries(pe, n_pes, codes, columns, gaps, row_begin, pointers, offsets[pe], index_bits, code_bits, entries)
    return entries, pointers


@njit(cache=True)
def _pe_sizes(pe: int, n_pes: int, columns: np.ndarray, row_begin: np.ndarray, index_bits: int, gaps: np.ndarray,
              pointers: np.ndarray) -> None:
    """PE ``pe``'s pointers, and the gap (zeros skipped) before each of its non-zeros."""
    rows, cols = row_begin.size - 1, pointers.shape[1] - 1
    last = np.full(cols, -1, dtype=np.int32)
    counts = np.zeros(cols, dtype=np.int32)
    for local, row in enumerate(range(pe, rows, n_pes)):
        for index in range(row_begin[row], row_begin[row + 1]):
            col = columns[index]
            gap = local - last[col] - 1  # a padding entry stands for 2**index_bits of the zeros skipped
            gaps[index] = gap
            counts[col] += (gap >> index_bits) + 1
            last[col] = local
    total = 0
    for col in range(cols):
        pointers[pe, col] = total
        total += counts[col]
    pointers[pe, cols] = total


@njit(cache=True)
def _pe_entries(pe: int, n_pes: int, codes: np.ndarray, columns: np.ndarray, gaps: np.ndarray, row_begin: np.ndarray,
                pointers: np.ndarray, offset: int, index_bits: int, code_bits: int, entries: np.ndarray) -> None:
    """PE ``pe``'s entries (padding, then the entry) at ``offset`` on, column by column."""
    rows, cols = row_begin.size - 1, pointers.shape[1] - 1
    max_index = (1 << index_bits) - 1
    padding = max_index << code_bits
    at_col = (pointers[pe, :cols] + offset).astype(np.int32)
    for row in range(pe, rows, n_pes):
        for index in range(row_begin[row], row_begin[row + 1]):
            col = columns[index]
            gap = gaps[index]
            at = at_col[col]
            paddings = gap >> index_bits
            entries[at] = padding  # overwritten by the entry when none precedes it: fewer unpredictable branches
            for extra in range(1, paddings):
                entries[at + extra] = padding
            at += paddings
            entries[at] = codes[index] | ((gap & max_index) << code_bits)
            at_col[col] = at + 1

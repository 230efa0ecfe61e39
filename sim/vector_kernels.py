"""The fast simulator's loops (sim/fast.py) in numpy, whole arrays at a time: no numba to import.

Each gives exactly what the compiled loops (sim/compiled_kernels.py) give, or None where its shortcut
would not be exact, and the compiled loops run instead:

- ``schedule`` solves the recurrences of sim/fast.py as a fixed point. With the broadcast cycles
  ``c`` fixed, every PE's finish cycles are a running maximum over prefix sums of its costs; the
  credit rule then gives new broadcast cycles, never earlier. From ``c_k = k`` the rounds rise to the
  least solution, which is the only one (``c_k`` depends on columns ``k - D`` and before), so the
  first round that changes nothing ends it exactly. Not with dropped columns (their leave cycles are
  not in queue order), nor past ``MAX_ROUNDS`` rounds.
- ``accumulate`` adds each row's products in any order: when no partial sum can leave the
  accumulator's range (the bias plus all positive products at most the top, plus all negative ones at
  least the bottom), saturating in broadcast order changes nothing. Otherwise None.
- ``activity`` is always exact.
"""

from __future__ import annotations

import numpy as np

MAX_ROUNDS = 48
"""Rounds of the fixed point tried before the compiled loop takes over (Alex-7 needs 10, NT-We 99)."""
EXACT_FLOAT_SUM = 1 << 52
"""Integer sums below this are exact in float64 (``np.bincount`` adds in float)."""


def schedule(cost: np.ndarray, depth: int, latency: int, visible: int) -> tuple[np.ndarray, int, int] | None:
    """Finish cycles (pes x K), the last cycle a column occupied a PE, and the stall cycles; None past
    ``MAX_ROUNDS`` rounds or with a dropped (zero-cost) column."""
    n_pes, k_total = cost.shape
    if k_total == 0:
        return np.empty((n_pes, 0), dtype=np.int64), -1, 0
    if not cost.all():
        return None
    order = np.arange(k_total, dtype=np.int64)
    done = np.cumsum(cost, axis=1)
    before = done - cost
    broadcast = order
    for _ in range(MAX_ROUNDS):
        arrive = broadcast + latency + visible
        finish = done + np.maximum.accumulate(arrive[None, :] - before, axis=1)
        # Credit rule: broadcast k waits until every queue has freed the slot of broadcast k - depth.
        earliest = np.zeros(k_total, dtype=np.int64)
        if k_total > depth:
            earliest[depth:] = 1 + latency + (finish - cost)[:, :k_total - depth].max(axis=0)
        following = order + np.maximum.accumulate(earliest - order)
        if np.array_equal(following, broadcast):
            return finish, int(finish[:, -1].max()), int(broadcast[-1] - (k_total - 1))
        broadcast = following
    return None


def accumulate(entries: np.ndarray, offsets: np.ndarray, starts: np.ndarray, counts: np.ndarray,
               activations: np.ndarray, codebook: np.ndarray, accumulators: np.ndarray, code_bits: int,
               weight_frac: int, low: int, high: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each (PE, broadcast) column's products added to its rows (``accumulators``, in place); the local
    rows of each column's first and last entry. None, leaving ``accumulators`` alone, where a partial sum
    could saturate."""
    n_pes, k_total = starts.shape
    lengths = counts.ravel()
    total = int(lengths.sum())
    column_end = np.cumsum(lengths)
    column_begin = column_end - lengths
    # Every issued entry's address, PE by PE and column by column in broadcast order.
    first_address = (offsets[:n_pes, None] + starts).ravel()
    address = np.arange(total, dtype=np.int64) + np.repeat(first_address - column_begin, lengths)
    words = entries[address].astype(np.int64)
    # An entry's row: its column's first row (that entry's gap) plus the gaps and steps since then.
    steps = np.cumsum((words >> code_bits) + 1)
    filled = lengths > 0
    base = np.zeros(n_pes * k_total, dtype=np.int64)
    base[filled] = steps[column_begin[filled]] - (words[column_begin[filled]] >> code_bits)
    rows = steps - np.repeat(base, lengths)
    first_row = np.zeros(n_pes * k_total, dtype=np.int64)
    last_row = np.zeros(n_pes * k_total, dtype=np.int64)
    first_row[filled] = rows[column_begin[filled]]
    last_row[filled] = rows[column_end[filled] - 1]
    half = (1 << (weight_frac - 1)) if weight_frac > 0 else 0
    products = (np.repeat(np.broadcast_to(activations, (n_pes, k_total)).ravel(), lengths)
                * codebook[words & ((1 << code_bits) - 1)] + half) >> weight_frac
    if total and int(np.abs(products).max()) * total >= EXACT_FLOAT_SUM:
        return None
    slots = accumulators.shape[1]
    targets = np.repeat(np.arange(n_pes, dtype=np.int64), counts.sum(axis=1)) * slots + rows
    size = accumulators.size
    rising = np.bincount(targets, weights=np.maximum(products, 0), minlength=size).astype(np.int64)
    falling = np.bincount(targets, weights=np.minimum(products, 0), minlength=size).astype(np.int64)
    start = accumulators.ravel()
    if (start + rising > high).any() or (start + falling < low).any():
        return None
    accumulators += (rising + falling).reshape(accumulators.shape)
    return first_row.reshape(n_pes, k_total), last_row.reshape(n_pes, k_total)


def activity(starts: np.ndarray, counts: np.ndarray, finish: np.ndarray, first_row: np.ndarray, last_row: np.ndarray,
             per_line: int) -> tuple[int, int]:
    """Sparse-matrix lines read and bypasses (the rules of ``compiled_kernels.activity``)."""
    pe, k = np.nonzero(counts)  # each PE's non-empty columns in broadcast order
    count, start = counts[pe, k], starts[pe, k]
    first_line, last_line = start // per_line, (start + count - 1) // per_line
    follows = pe[1:] == pe[:-1]  # the same PE's previous non-empty column is the one before
    reused = follows & (first_line[1:] == last_line[:-1])
    ended = finish[pe, k]
    bypassed = follows & (ended[1:] - count[1:] == ended[:-1]) & (last_row[pe, k][:-1] == first_row[pe, k][1:])
    return int((last_line - first_line + 1).sum() - reused.sum()), int(bypassed.sum())

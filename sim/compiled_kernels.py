"""The fast simulator's loops (sim/fast.py) compiled by numba: for a process that simulates much.

Importing numba and loading these cached loops costs about 0.4 s of CPU, so a process's first few
batches run the same rules in numpy (sim/vector_kernels.py) and these take over after them, or at
once where a numpy shortcut is not exact. Both give the same results; the tests hold them equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numba import get_num_threads, njit, prange, set_num_threads

NEVER = np.iinfo(np.int64).min // 2
"""A leave cycle older than any real one: the queue slots not used yet."""
PARALLEL_ENTRIES = 1 << 20
"""A batch issuing fewer entries runs its per-PE loops on one thread: starting and joining threads costs
more than they save (a 256x784 layer: 0.5 ms on one thread, 24 ms on two of a busy 2-core machine; Alex-7
3.5 ms on one, 6.6 ms on two). The results do not depend on the thread count."""


@contextmanager
def threads_for(entries: int) -> Iterator[None]:
    """One numba thread for a batch below ``PARALLEL_ENTRIES`` entries, the configured count otherwise."""
    previous = get_num_threads()
    if entries < PARALLEL_ENTRIES:
        set_num_threads(1)
    try:
        yield
    finally:
        set_num_threads(previous)


@njit(cache=True)
def schedule(cost: np.ndarray, dropped: np.ndarray, depth: int, latency: int, visible: int) -> tuple[np.ndarray, int, int]:
    """Finish cycles ``f`` (pes x K; a dropped column keeps the previous one's), the last cycle in
    which a column occupied a PE or one was dropped, and the broadcast stall cycles.

    Each PE keeps its queue's ``depth`` latest leave cycles. Without dropped columns the leave cycles
    of a PE never decrease, so the oldest is the one ``depth`` broadcasts back (a ring); a dropped
    column may leave before a column queued ahead of it, so then the smallest is searched.
    """
    n_pes, k_total = cost.shape
    finish = np.empty((n_pes, k_total), dtype=np.int64)
    latest = np.full((depth, n_pes), NEVER, dtype=np.int64)
    previous_finish = np.full(n_pes, -1, dtype=np.int64)
    any_dropped = dropped.any()
    broadcast = -1
    last_cycle = -1
    for k in range(k_total):
        ring = k % depth
        full_until = NEVER  # the cycle until which some PE's queue is full
        for pe in range(n_pes):
            if any_dropped:
                oldest = latest[0, pe]
                for slot in range(1, depth):
                    oldest = min(oldest, latest[slot, pe])
            else:
                oldest = latest[ring, pe]
            full_until = max(full_until, oldest)
        broadcast = max(broadcast + 1, full_until + 1 + latency)
        push = broadcast + latency
        for pe in range(n_pes):
            if dropped[pe, k]:
                leave = push + visible
                last_cycle = max(last_cycle, leave)
            else:
                leave = max(previous_finish[pe], push + visible)
                previous_finish[pe] = leave + cost[pe, k]
            finish[pe, k] = previous_finish[pe]
            slot = ring
            if any_dropped:
                for other in range(depth):
                    if latest[other, pe] < latest[slot, pe]:
                        slot = other
            latest[slot, pe] = max(latest[slot, pe], leave)
    if k_total:
        last_cycle = max(last_cycle, finish[:, k_total - 1].max())
    stall = broadcast - (k_total - 1) if k_total else 0
    return finish, last_cycle, stall


@njit(cache=True, parallel=True)
def accumulate(entries: np.ndarray, offsets: np.ndarray, starts: np.ndarray, counts: np.ndarray,
                activations: np.ndarray, codebook: np.ndarray, accumulators: np.ndarray, code_bits: int,
                weight_frac: int, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Each PE's columns in broadcast order: each entry's product (``scaled_product``) added to its row
    with saturation (``saturating_add``); returns the local rows of each (broadcast, PE) column's first
    and last entry. PEs are shared among threads; each keeps its own order, so saturation is exact."""
    n_pes, k_total = starts.shape
    first_row = np.zeros((n_pes, k_total), dtype=np.int64)
    last_row = np.zeros((n_pes, k_total), dtype=np.int64)
    mask = (1 << code_bits) - 1
    half = (1 << (weight_frac - 1)) if weight_frac > 0 else 0
    for pe in prange(n_pes):
        for k in range(k_total):
            begin = offsets[pe] + starts[pe, k]
            end = begin + counts[pe, k]
            if begin == end:
                continue
            activation = activations[k]
            row = -1
            first_row[pe, k] = entries[begin] >> code_bits
            for address in range(begin, end):  # padding (code 0, weight 0) adds 0: no branch needed
                entry = entries[address]
                row += (entry >> code_bits) + 1
                product = (activation * codebook[entry & mask] + half) >> weight_frac
                accumulators[pe, row] = min(max(accumulators[pe, row] + product, low), high)
            last_row[pe, k] = row
    return first_row, last_row


@njit(cache=True, parallel=True)
def activity(starts: np.ndarray, counts: np.ndarray, finish: np.ndarray, first_row: np.ndarray, last_row: np.ndarray,
              per_line: int) -> tuple[int, int]:
    """Sparse-matrix lines read and bypasses, PE by PE (one thread each) over its non-empty columns.

    Each non-empty column spans some lines; the first is free if the PE just read it. A bypass is an
    entry whose row equals the row the same PE updated in the previous cycle: rows rise within a
    column, so only the first entry of a column popped on the last cycle of the previous non-empty
    one can (an empty column between them takes a cycle unless the pointer stage drops it).
    """
    n_pes, k_total = starts.shape
    line_reads = np.zeros(n_pes, dtype=np.int64)
    bypasses = np.zeros(n_pes, dtype=np.int64)
    for pe in prange(n_pes):
        before = -1  # the PE's previous non-empty column (broadcast index)
        for k in range(k_total):
            count = counts[pe, k]
            if count == 0:
                continue
            first, last = starts[pe, k] // per_line, (starts[pe, k] + count - 1) // per_line
            line_reads[pe] += last - first + 1
            if before >= 0:
                if first == (starts[pe, before] + counts[pe, before] - 1) // per_line:
                    line_reads[pe] -= 1
                if finish[pe, k] - count == finish[pe, before] and last_row[pe, before] == first_row[pe, k]:
                    bypasses[pe] += 1
            before = k
    return line_reads.sum(), bypasses.sum()

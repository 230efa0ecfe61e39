"""Fast simulator: the rules of accel/arch/TIMING.md as recurrences over broadcasts, vectorised over PEs.

With ``c_k`` the broadcast cycle of the k-th non-zero input, ``s_pk`` the cycle PE p pops it,
``f_pk`` the last cycle its column occupies PE p (cost ``n_pk``, or ``empty_column_cycles`` when
``n_pk = 0``), ``B`` the broadcast latency, ``V`` the cycles from a push until a pop is possible and
``l_pk`` the cycle the activation leaves PE p's queue (``s_pk``, or ``c_k + B + V`` for an empty
column the pointer stage drops):

    c_k  = max(c_(k-1) + 1, 1 + B + max_p (D-th latest l_pi, i < k))   (credit rule, D = fifo_depth)
    s_pk = max(c_k + B + V, f_p(k'))                                  (k' the PE's previous popped column)
    f_pk = s_pk + cost_pk

The schedule and the outputs (each PE adds its entries' products in broadcast order with
saturation) are loops compiled by numba. Agreement with sim/reference.py is tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numba import get_num_threads, njit, prange, set_num_threads

from accel.arch.fixed_point import write_back
from accel.arch.images import BatchImage, LayerImage
from sim.results import BatchResult, LayerResult, activation_sram_counts, empty_counters, simulate_batches

NEVER = np.iinfo(np.int64).min // 2
"""A leave cycle older than any real one: the queue slots not used yet."""
PARALLEL_ENTRIES = 1 << 20
"""A batch issuing fewer entries runs its per-PE loops on one thread: starting and joining threads costs
more than they save (a 256x784 layer: 0.5 ms on one thread, 24 ms on two of a busy 2-core machine; Alex-7
3.5 ms on one, 6.6 ms on two). The results do not depend on the thread count."""


def simulate_layer(image: LayerImage, inputs_fixed: np.ndarray) -> LayerResult:
    """Simulate every batch of ``image`` on the fixed-point input vector."""
    return simulate_batches(image, inputs_fixed, simulate_batch)


def simulate_batch(image: LayerImage, batch: BatchImage, inputs: np.ndarray) -> tuple[BatchResult, np.ndarray]:
    config = image.config
    columns = np.flatnonzero(inputs)
    starts = batch.pointers[:, columns]  # (pes, K): each PE's columns in broadcast order, one row per PE
    counts = batch.pointers[:, columns + 1] - starts
    cost = np.maximum(counts, config.empty_column_cycles)
    finish, last_cycle, stall = _schedule(cost, cost == 0, config.fifo_depth, config.broadcast_latency,
                                          config.pointer_stage_cycles)
    t_issue = last_cycle + 1 if columns.size else 0
    accumulators = np.zeros((config.n_pes, max(pe.n_rows for pe in batch.pes)), dtype=np.int64)
    for pe, pe_image in enumerate(batch.pes):
        accumulators[pe, :pe_image.n_rows] = pe_image.bias
    low, high = config.acc_range
    with _threads_for(int(counts.sum())):
        first_row, last_row = _accumulate(batch.entries, batch.entry_offsets, starts, counts,
                                          inputs[columns].astype(np.int64), image.codebook.astype(np.int64),
                                          accumulators, config.code_bits, config.weight_frac, low, high)
        line_reads, bypasses = _activity(starts, counts, finish, first_row, last_row, config.entries_per_line)
    sums = np.empty(batch.n_rows, dtype=np.int64)
    for pe, pe_image in enumerate(batch.pes):
        sums[pe::config.n_pes] = accumulators[pe, :pe_image.n_rows]
    counters = _counters(image, batch, columns.size, int(counts.sum()), line_reads, bypasses)
    cycles = t_issue + config.pipeline_latency + batch.writeback_cycles
    busy = cost.sum(axis=1) if columns.size else np.zeros(config.n_pes, dtype=np.int64)
    result = BatchResult(row_start=batch.row_start, n_rows=batch.n_rows, cycles=cycles, t_issue=t_issue,
                         stall_cycles=stall, busy=busy.astype(np.int64), counters=counters)
    return result, write_back(sums, image.relu, config)


@contextmanager
def _threads_for(entries: int) -> Iterator[None]:
    """One numba thread for a batch below ``PARALLEL_ENTRIES`` entries, the configured count otherwise."""
    previous = get_num_threads()
    if entries < PARALLEL_ENTRIES:
        set_num_threads(1)
    try:
        yield
    finally:
        set_num_threads(previous)


@njit(cache=True)
def _schedule(cost: np.ndarray, dropped: np.ndarray, depth: int, latency: int, visible: int) -> tuple[np.ndarray, int, int]:
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
def _accumulate(entries: np.ndarray, offsets: np.ndarray, starts: np.ndarray, counts: np.ndarray,
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
def _activity(starts: np.ndarray, counts: np.ndarray, finish: np.ndarray, first_row: np.ndarray, last_row: np.ndarray,
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


def _counters(image: LayerImage, batch: BatchImage, broadcasts: int, entries: int, line_reads: int,
              bypasses: int) -> dict[str, int]:
    n_pes = image.config.n_pes
    counters = empty_counters()
    counters.update(broadcasts=broadcasts, lnzd_reads=image.cols, fifo_pushes=broadcasts * n_pes,
                    fifo_pops=broadcasts * n_pes, ptr_reads=broadcasts * n_pes, writebacks=batch.n_rows,
                    spmat_line_reads=int(line_reads), bypasses=int(bypasses), **activation_sram_counts(image, batch))
    for name in ("codebook_reads", "multiplies", "adds", "acc_reads", "acc_writes"):
        counters[name] = entries
    return counters

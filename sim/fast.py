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

import numpy as np
from numba import njit

from accel.arch.fixed_point import write_back
from accel.arch.images import BatchImage, LayerImage
from sim.results import BatchResult, LayerResult, activation_sram_counts, empty_counters, simulate_batches

NEVER = np.iinfo(np.int64).min // 2
"""A leave cycle older than any real one: the queue slots not used yet."""


def simulate_layer(image: LayerImage, inputs_fixed: np.ndarray) -> LayerResult:
    """Simulate every batch of ``image`` on the fixed-point input vector."""
    return simulate_batches(image, inputs_fixed, simulate_batch)


def simulate_batch(image: LayerImage, batch: BatchImage, inputs: np.ndarray) -> tuple[BatchResult, np.ndarray]:
    config = image.config
    columns = np.flatnonzero(inputs)
    pointers = np.stack([pe.pointers for pe in batch.pes])          # (pes, cols + 1)
    starts, ends = pointers[:, columns], pointers[:, columns + 1]   # (pes, K)
    counts = ends - starts
    cost = np.maximum(counts, config.empty_column_cycles)
    dropped = cost == 0
    finish, last_cycle, stall = _schedule(cost, dropped, config.fifo_depth, config.broadcast_latency,
                                          config.pointer_stage_cycles)
    t_issue = last_cycle + 1 if columns.size else 0
    outputs, first_row, last_row = _outputs(image, batch, inputs, columns)
    counters = _count(image, batch, starts, ends, finish, first_row, last_row)
    cycles = t_issue + config.pipeline_latency + batch.writeback_cycles
    busy = cost.sum(axis=1) if columns.size else np.zeros(config.n_pes, dtype=np.int64)
    result = BatchResult(row_start=batch.row_start, n_rows=batch.n_rows, cycles=cycles, t_issue=t_issue,
                         stall_cycles=stall, busy=busy.astype(np.int64), counters=counters)
    return result, outputs


@njit(cache=True)
def _schedule(cost: np.ndarray, dropped: np.ndarray, depth: int, latency: int, visible: int) -> tuple[np.ndarray, int, int]:
    """Finish cycles ``f`` (pes x K; a dropped column keeps the previous one's), the last cycle in
    which a column occupied a PE or one was dropped, and the broadcast stall cycles."""
    n_pes, k_total = cost.shape
    finish = np.empty((n_pes, k_total), dtype=np.int64)
    latest = np.full((n_pes, depth), NEVER, dtype=np.int64)  # the D latest leave cycles of each PE's queue
    previous_finish = np.full(n_pes, -1, dtype=np.int64)
    broadcast = -1
    last_cycle = -1
    for k in range(k_total):
        full_until = NEVER  # the cycle until which some PE's queue is full
        for pe in range(n_pes):
            full_until = max(full_until, latest[pe].min())
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
            oldest = latest[pe].argmin()
            latest[pe, oldest] = max(latest[pe, oldest], leave)
    if k_total:
        last_cycle = max(last_cycle, finish[:, k_total - 1].max())
    stall = broadcast - (k_total - 1) if k_total else 0
    return finish, last_cycle, stall


def _count(image: LayerImage, batch: BatchImage, starts: np.ndarray, ends: np.ndarray, finish: np.ndarray,
           first_row: np.ndarray, last_row: np.ndarray) -> dict[str, int]:
    config = image.config
    n_pes, k_total = starts.shape
    counts = ends - starts
    entries = int(counts.sum())
    counters = empty_counters()
    counters.update(broadcasts=k_total, lnzd_reads=image.cols, fifo_pushes=k_total * n_pes, fifo_pops=k_total * n_pes,
                    ptr_reads=k_total * n_pes, writebacks=batch.n_rows, **activation_sram_counts(image, batch))
    for name in ("codebook_reads", "multiplies", "adds", "acc_reads", "acc_writes"):
        counters[name] = entries
    counters["spmat_line_reads"] = _line_reads(starts, ends, config.entries_per_line)
    counters["bypasses"] = _bypasses(counts, finish, first_row, last_row)
    return counters


def _line_reads(starts: np.ndarray, ends: np.ndarray, per_line: int) -> int:
    """Lines read: each non-empty column spans some lines; the first is free if the PE just read it."""
    total = 0
    for start, end in zip(starts, ends):
        full = end > start
        first, last = start[full] // per_line, (end[full] - 1) // per_line
        spans = last - first + 1
        repeated = int(np.count_nonzero(first[1:] == last[:-1]))
        total += int(spans.sum()) - repeated
    return total


def _bypasses(counts: np.ndarray, finish: np.ndarray, first_row: np.ndarray, last_row: np.ndarray) -> int:
    """Entries whose row equals the row the same PE updated in the previous cycle.

    Rows rise within a column, so this only happens between the last entry of one non-empty column
    and the first entry of the next non-empty one, when the second is popped on the last cycle of
    the first (an empty column between them takes a cycle unless the pointer stage drops it).
    """
    total = 0
    for pe in range(counts.shape[0]):
        full = np.flatnonzero(counts[pe] > 0)
        if full.size < 2:
            continue
        count, ends = counts[pe, full], finish[pe, full]
        adjacent = ends[1:] - count[1:] == ends[:-1]
        total += int(np.count_nonzero(adjacent & (last_row[pe, full[:-1]] == first_row[pe, full[1:]])))
    return total


def _outputs(image: LayerImage, batch: BatchImage, inputs: np.ndarray,
             columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs of the batch, and the local rows of the first and last entry of each (PE, broadcast column)."""
    config = image.config
    n_pes = config.n_pes
    low, high = config.acc_range
    accumulators = np.zeros(batch.n_rows, dtype=np.int64)
    first_row = np.zeros((n_pes, columns.size), dtype=np.int64)
    last_row = np.zeros((n_pes, columns.size), dtype=np.int64)
    activations = inputs[columns].astype(np.int64)
    codebook = image.codebook.astype(np.int64)
    for pe, image_pe in enumerate(batch.pes):
        accumulator = image_pe.bias.astype(np.int64)
        _accumulate(image_pe.entries, image_pe.pointers, columns, activations, codebook, accumulator, first_row[pe],
                    last_row[pe], config.code_bits, config.weight_frac, low, high)
        accumulators[pe::n_pes] = accumulator
    return write_back(accumulators, image.relu, config), first_row, last_row


@njit(cache=True)
def _accumulate(entries: np.ndarray, pointers: np.ndarray, columns: np.ndarray, activations: np.ndarray,
                codebook: np.ndarray, accumulator: np.ndarray, first_row: np.ndarray, last_row: np.ndarray,
                code_bits: int, weight_frac: int, low: int, high: int) -> None:
    """One PE's columns in broadcast order: each entry's product (``scaled_product``) added to its row with
    saturation (``saturating_add``), and the row of each column's first and last entry."""
    mask = (1 << code_bits) - 1
    half = (1 << (weight_frac - 1)) if weight_frac > 0 else 0
    for k in range(columns.size):
        begin, end = pointers[columns[k]], pointers[columns[k] + 1]
        row = -1
        for address in range(begin, end):
            entry = entries[address]
            row += (entry >> code_bits) + 1
            if address == begin:
                first_row[k] = row
            code = entry & mask
            if code != 0:
                product = activations[k] * codebook[code]
                if weight_frac > 0:
                    product = (product + half) >> weight_frac
                accumulator[row] = min(max(accumulator[row] + product, low), high)
        last_row[k] = row



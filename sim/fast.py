"""Fast simulator: the rules of accel/arch/TIMING.md as recurrences over broadcasts, vectorised over PEs.

With ``c_k`` the broadcast cycle of the k-th non-zero input, ``s_pk`` the cycle PE p pops it and
``f_pk`` the last cycle its column occupies PE p (cost ``max(n_pk, 1)``):

    c_k  = max(c_(k-1) + 1, 1 + max_p s_p(k-D))        (FIFO-full rule, D = fifo_depth)
    s_pk = max(c_k + 1, f_p(k-1))                       (pop when visible and the PE is on its last cycle)
    f_pk = s_pk + max(n_pk, 1)

Outputs: each PE adds its entries' products in broadcast order with saturation, in a loop compiled
by numba. Agreement with sim/reference.py is tested.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accel.arch.fixed_point import write_back
from accel.arch.images import BatchImage, LayerImage
from sim.results import BatchResult, LayerResult, empty_counters, simulate_batches


def simulate_layer(image: LayerImage, inputs_fixed: np.ndarray) -> LayerResult:
    """Simulate every batch of ``image`` on the fixed-point input vector."""
    return simulate_batches(image, inputs_fixed, simulate_batch)


def simulate_batch(image: LayerImage, batch: BatchImage, inputs: np.ndarray) -> tuple[BatchResult, np.ndarray]:
    config = image.config
    columns = np.flatnonzero(inputs)
    pointers = np.stack([pe.pointers for pe in batch.pes])          # (pes, cols + 1)
    starts, ends = pointers[:, columns], pointers[:, columns + 1]   # (pes, K)
    counts = ends - starts
    finish, stall = _schedule(np.maximum(counts, 1), config.fifo_depth)
    t_issue = int(finish[:, -1].max()) + 1 if columns.size else 0
    outputs, first_row, last_row = _outputs(image, batch, inputs, columns)
    counters = _count(image, batch, starts, ends, finish, first_row, last_row)
    cycles = t_issue + config.pipeline_latency + batch.writeback_cycles
    busy = np.maximum(counts, 1).sum(axis=1) if columns.size else np.zeros(config.n_pes, dtype=np.int64)
    result = BatchResult(row_start=batch.row_start, n_rows=batch.n_rows, cycles=cycles, t_issue=t_issue,
                         stall_cycles=stall, busy=busy.astype(np.int64), counters=counters)
    return result, outputs


@njit(cache=True)
def _schedule(cost: np.ndarray, depth: int) -> tuple[np.ndarray, int]:
    """Finish cycles ``f`` (pes x K) of every column and the broadcast stall cycles."""
    n_pes, k_total = cost.shape
    pops = np.empty((n_pes, k_total), dtype=np.int64)
    finish = np.empty((n_pes, k_total), dtype=np.int64)
    previous_finish = np.full(n_pes, -1, dtype=np.int64)
    broadcast = -1
    cost_t = cost.T.copy()
    for k in range(k_total):
        broadcast += 1
        if k >= depth:
            broadcast = max(broadcast, int(pops[:, k - depth].max()) + 1)
        pop = np.maximum(previous_finish, broadcast + 1)
        pops[:, k] = pop
        previous_finish = pop + cost_t[k]
        finish[:, k] = previous_finish
    stall = broadcast - (k_total - 1) if k_total else 0
    return finish, stall


def _count(image: LayerImage, batch: BatchImage, starts: np.ndarray, ends: np.ndarray, finish: np.ndarray,
           first_row: np.ndarray, last_row: np.ndarray) -> dict[str, int]:
    config = image.config
    n_pes, k_total = starts.shape
    counts = ends - starts
    entries = int(counts.sum())
    counters = empty_counters()
    counters.update(broadcasts=k_total, lnzd_reads=image.cols, fifo_pushes=k_total * n_pes, fifo_pops=k_total * n_pes,
                    ptr_reads=k_total * n_pes, writebacks=batch.n_rows)
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

    Rows rise within a column, so this only happens between the last entry of one column and
    the first entry of the next, when the next column is popped on the last cycle of the first.
    """
    both = (counts[:, :-1] > 0) & (counts[:, 1:] > 0)
    adjacent = both & (finish[:, 1:] - counts[:, 1:] == finish[:, :-1])
    return int(np.count_nonzero(adjacent & (last_row[:, :-1] == first_row[:, 1:])))


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



"""Fast simulator: the rules of accel/arch/TIMING.md as recurrences over broadcasts, vectorised over PEs.

With ``c_k`` the broadcast cycle of the k-th non-zero input, ``s_pk`` the cycle PE p pops it,
``f_pk`` the last cycle its column occupies PE p (cost ``n_pk``, or ``empty_column_cycles`` when
``n_pk = 0``), ``B`` the broadcast latency, ``V`` the cycles from a push until a pop is possible and
``l_pk`` the cycle the activation leaves PE p's queue (``s_pk``, or ``c_k + B + V`` for an empty
column the pointer stage drops):

    c_k  = max(c_(k-1) + 1, 1 + B + max_p (D-th latest l_pi, i < k))   (credit rule, D = fifo_depth)
    s_pk = max(c_k + B + V, f_p(k'))                                  (k' the PE's previous popped column)
    f_pk = s_pk + cost_pk

Outputs come from exact integer sums; rows whose running sum would leave the accumulator range
are replayed in broadcast order with saturation. Agreement with sim/reference.py is tested.
"""

from __future__ import annotations

import numpy as np

from accel.arch.fixed_point import saturating_add, scaled_product, write_back
from accel.arch.images import BatchImage, LayerImage
from sim.results import BatchResult, LayerResult, activation_sram_counts, empty_counters, simulate_batches


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
    counters = _count(image, batch, columns, starts, ends, finish)
    cycles = t_issue + config.pipeline_latency + batch.writeback_cycles
    busy = cost.sum(axis=1) if columns.size else np.zeros(config.n_pes, dtype=np.int64)
    result = BatchResult(row_start=batch.row_start, n_rows=batch.n_rows, cycles=cycles, t_issue=t_issue,
                         stall_cycles=stall, busy=busy.astype(np.int64), counters=counters)
    return result, _outputs(image, batch, inputs, columns)


def _schedule(cost: np.ndarray, dropped: np.ndarray, depth: int, latency: int, visible: int) -> tuple[np.ndarray, int, int]:
    """Finish cycles ``f`` (pes x K; a dropped column keeps the previous one's), the last cycle in
    which a column occupied a PE or one was dropped, and the broadcast stall cycles."""
    n_pes, k_total = cost.shape
    finish = np.empty((n_pes, k_total), dtype=np.int64)
    latest = np.full((n_pes, depth), np.iinfo(np.int64).min // 2, dtype=np.int64)  # the D latest leave cycles
    rows = np.arange(n_pes)
    previous_finish = np.full(n_pes, -1, dtype=np.int64)
    broadcast = -1
    last_cycle = -1
    cost_t, dropped_t = cost.T.copy(), dropped.T.copy()
    for k in range(k_total):
        broadcast = max(broadcast + 1, int(latest.min(axis=1).max()) + 1 + latency)
        push = broadcast + latency
        pop = np.maximum(previous_finish, push + visible)
        leave = np.where(dropped_t[k], push + visible, pop)
        previous_finish = np.where(dropped_t[k], previous_finish, pop + cost_t[k])
        finish[:, k] = previous_finish
        oldest = latest.argmin(axis=1)
        latest[rows, oldest] = np.maximum(latest[rows, oldest], leave)
        if dropped_t[k].any():
            last_cycle = max(last_cycle, push + visible)
    if k_total:
        last_cycle = max(last_cycle, int(finish[:, -1].max()))
    stall = broadcast - (k_total - 1) if k_total else 0
    return finish, last_cycle, stall


def _count(image: LayerImage, batch: BatchImage, columns: np.ndarray, starts: np.ndarray, ends: np.ndarray,
           finish: np.ndarray) -> dict[str, int]:
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
    counters["bypasses"] = _bypasses(image, batch, columns, counts, finish)
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


def _bypasses(image: LayerImage, batch: BatchImage, columns: np.ndarray, counts: np.ndarray, finish: np.ndarray) -> int:
    """Entries whose row equals the row the same PE updated in the previous cycle.

    Rows rise within a column, so this only happens between the last entry of one non-empty column
    and the first entry of the next non-empty one, when the second is popped on the last cycle of
    the first (an empty column between them takes a cycle unless the pointer stage drops it).
    """
    config = image.config
    total = 0
    for pe, image_pe in enumerate(batch.pes):
        full = np.flatnonzero(counts[pe] > 0)
        if full.size < 2:
            continue
        count, ends = counts[pe, full], finish[pe, full]
        adjacent = ends[1:] - count[1:] == ends[:-1]
        if not adjacent.any():
            continue
        rows = np.cumsum(image_pe.relative_indices(config).astype(np.int64) + 1)  # row + 1 + offset per column
        pointers = image_pe.pointers
        index = np.flatnonzero(adjacent)
        first_col, second_col = columns[full[index]], columns[full[index + 1]]
        last_row = _row_at(rows, pointers, first_col, pointers[first_col + 1] - 1)
        first_row = _row_at(rows, pointers, second_col, pointers[second_col])
        total += int(np.count_nonzero(last_row == first_row))
    return total


def _row_at(prefix: np.ndarray, pointers: np.ndarray, column: np.ndarray, address: np.ndarray) -> np.ndarray:
    """Local row of the entry at ``address`` of ``column``, from prefix sums of ``rel + 1``."""
    start = pointers[column]
    before = np.where(start > 0, prefix[np.maximum(start - 1, 0)], 0)
    return prefix[address] - before - 1


def _outputs(image: LayerImage, batch: BatchImage, inputs: np.ndarray, columns: np.ndarray) -> np.ndarray:
    config = image.config
    n_pes = config.n_pes
    outputs = np.zeros(batch.n_rows, dtype=np.int64)
    low, high = config.acc_range
    for pe, image_pe in enumerate(batch.pes):
        pointers = image_pe.pointers
        lengths = pointers[columns + 1] - pointers[columns]
        addresses = _ranges(pointers[columns], lengths)
        activation = np.repeat(inputs[columns], lengths)
        column_of = np.repeat(np.arange(columns.size), lengths)
        rel = image_pe.relative_indices(config)[addresses].astype(np.int64) + 1
        starts_at = np.repeat(np.cumsum(lengths) - lengths, lengths)
        prefix = np.cumsum(rel)
        rows = prefix - np.where(starts_at > 0, prefix[np.maximum(starts_at - 1, 0)], 0) - 1
        products = scaled_product(activation, image.codebook[image_pe.codes(config)[addresses]], config)
        accumulator = image_pe.bias.astype(np.int64).copy()
        order = np.lexsort((column_of, rows))
        sorted_rows, sorted_products = rows[order], products[order]
        running = _segment_cumsum(sorted_products, sorted_rows) + accumulator[sorted_rows]
        overflow = np.unique(sorted_rows[(running < low) | (running > high)])
        np.add.at(accumulator, rows, products)
        for row in overflow:  # replay rows that saturate, in broadcast order
            value = int(image_pe.bias[row])
            for product in sorted_products[sorted_rows == row]:
                value = int(saturating_add(value, product, config))
            accumulator[row] = value
        outputs[pe::n_pes] = write_back(accumulator, image.relu, config)
    return outputs


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each start and length."""
    total = int(lengths.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + offsets


def _segment_cumsum(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting wherever the (sorted) ``keys`` change."""
    total = np.cumsum(values)
    if values.size == 0:
        return total
    new_segment = np.ones(values.size, dtype=bool)
    new_segment[1:] = keys[1:] != keys[:-1]
    segment_start = np.maximum.accumulate(np.where(new_segment, np.arange(values.size), 0))
    before = np.where(segment_start > 0, total[np.maximum(segment_start - 1, 0)], 0)
    return total - before

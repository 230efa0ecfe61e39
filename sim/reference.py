"""Plain per-cycle reference simulator: every rule of accel/arch/TIMING.md, one cycle at a time.

Slow and obvious on purpose; the fast simulator (sim/fast.py) must agree with it exactly.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from accel.arch.fixed_point import saturating_add, scaled_product, write_back
from accel.arch.images import BatchImage, LayerImage
from accel.sim.results import BatchResult, LayerResult, empty_counters, simulate_batches


@dataclass
class _Queued:
    """An activation broadcast to a PE (in flight or in its queue): poppable from cycle ``visible``;
    ``drop`` is the cycle the pointer stage drops it (an empty column with ``empty_column_cycles = 0``),
    else None."""

    column: int
    activation: int
    visible: int
    drop: int | None


@dataclass
class _Column:
    activation: int
    address: int
    end: int
    row: int = -1


def simulate_layer(image: LayerImage, inputs_fixed: np.ndarray) -> LayerResult:
    """Simulate every batch of ``image`` on the fixed-point input vector, cycle by cycle."""
    return simulate_batches(image, inputs_fixed, simulate_batch)


def simulate_batch(image: LayerImage, batch: BatchImage, inputs: np.ndarray) -> tuple[BatchResult, np.ndarray]:
    config = image.config
    n_pes, depth = config.n_pes, config.fifo_depth
    queue = [(int(j), int(inputs[j])) for j in np.flatnonzero(inputs)]
    queues: list[list[_Queued]] = [[] for _ in range(n_pes)]
    columns: list[_Column | None] = [None] * n_pes
    busy_until = [-1] * n_pes
    busy = np.zeros(n_pes, dtype=np.int64)
    last_line = [-1] * n_pes
    last_issue = [(-2, -1)] * n_pes  # (cycle, row) of each PE's previous issued entry
    accumulators = [pe.bias.astype(np.int64).copy() for pe in batch.pes]
    codes = [pe.codes(config) for pe in batch.pes]
    rels = [pe.relative_indices(config) for pe in batch.pes]
    counters = empty_counters()
    counters["lnzd_reads"] = image.cols
    stall = 0
    sent = 0
    cycle = 0
    last_drop = -1
    left: list[list[int]] = [[] for _ in range(n_pes)]  # cycles in which activations left each queue
    latency = config.broadcast_latency
    while sent < len(queue) or any(queues) or max(busy_until) >= cycle:
        # Credits: broadcasts so far minus departures the central unit has seen (latency cycles late).
        seen = [sent - bisect_left(times, cycle - latency) for times in left]
        for pe in range(n_pes):
            column = columns[pe]
            if column is not None and column.address < column.end:
                _issue(pe, column, cycle, codes[pe], rels[pe], accumulators[pe], image, last_line, last_issue, counters)
            popped = [entry for entry in queues[pe] if entry.drop is None]
            if busy_until[pe] <= cycle and popped and popped[0].visible <= cycle:
                entry = popped[0]
                queues[pe].remove(entry)
                start, end = int(batch.pes[pe].pointers[entry.column]), int(batch.pes[pe].pointers[entry.column + 1])
                columns[pe] = _Column(entry.activation, start, end)
                cost = max(end - start, config.empty_column_cycles)
                busy_until[pe] = cycle + cost
                busy[pe] += cost
                counters["fifo_pops"] += 1
                left[pe].append(cycle)
            for entry in [entry for entry in queues[pe] if entry.drop == cycle]:
                queues[pe].remove(entry)
                counters["fifo_pops"] += 1
                left[pe].append(cycle)
                last_drop = cycle
        if sent < len(queue):
            if max(seen) < depth:
                j, activation = queue[sent]
                push = cycle + latency
                for pe, entries in enumerate(queues):
                    pointers = batch.pes[pe].pointers
                    empty = pointers[j + 1] == pointers[j] and config.empty_column_cycles == 0
                    ready = push + config.pointer_stage_cycles
                    entries.append(_Queued(j, activation, ready, ready if empty else None))
                sent += 1
                counters["broadcasts"] += 1
                counters["fifo_pushes"] += n_pes
                counters["ptr_reads"] += n_pes
            else:
                stall += 1
        cycle += 1
    t_issue = max(max(busy_until), last_drop) + 1 if queue else 0
    outputs = np.zeros(batch.n_rows, dtype=np.int64)
    for pe, accumulator in enumerate(accumulators):
        outputs[pe::n_pes] = write_back(accumulator, image.relu, config)
    counters["writebacks"] = batch.n_rows
    last_batch = batch.row_start + batch.n_rows >= image.rows
    for j in range(image.cols):  # the LNZD reads inputs beyond the source register files from the activation SRAM
        if j >= config.rows_per_batch:
            counters["act_sram_reads"] += 1
    if not last_batch:
        counters["act_sram_writes"] += batch.n_rows  # the next batch reuses the destination register files
    cycles = t_issue + config.pipeline_latency + batch.writeback_cycles
    return BatchResult(row_start=batch.row_start, n_rows=batch.n_rows, cycles=cycles, t_issue=t_issue,
                       stall_cycles=stall, busy=busy, counters=counters), outputs


def _issue(pe: int, column: _Column, cycle: int, codes: np.ndarray, rels: np.ndarray, accumulator: np.ndarray,
           image: LayerImage, last_line: list[int], last_issue: list[tuple[int, int]], counters: dict[str, int]) -> None:
    """Issue the entry at ``column.address``: read its line if needed, multiply and accumulate."""
    config = image.config
    address = column.address
    line = address // config.entries_per_line
    if line != last_line[pe]:
        last_line[pe] = line
        counters["spmat_line_reads"] += 1
    column.row += int(rels[address]) + 1
    weight = image.codebook[int(codes[address])]
    accumulator[column.row] = saturating_add(accumulator[column.row], scaled_product(column.activation, weight, config), config)
    if last_issue[pe] == (cycle - 1, column.row):
        counters["bypasses"] += 1
    last_issue[pe] = (cycle, column.row)
    for name in ("codebook_reads", "multiplies", "adds", "acc_reads", "acc_writes"):
        counters[name] += 1
    column.address += 1

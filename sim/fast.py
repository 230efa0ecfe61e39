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
saturation) are three loops, written twice: in numpy (sim/vector_kernels.py), which a process's first
``VECTOR_BATCHES`` batches use, and compiled by numba (sim/compiled_kernels.py), which take over after
them or wherever a numpy shortcut would not be exact. A command that simulates one layer then never
imports numba. Agreement of both with sim/reference.py is tested.
"""

from __future__ import annotations

import itertools

import numpy as np

from accel.arch.fixed_point import write_back
from accel.arch.images import BatchImage, LayerImage
from accel.sim import vector_kernels
from accel.sim.results import BatchResult, LayerResult, activation_sram_counts, empty_counters, simulate_batches

VECTOR_BATCHES = 8
"""Batches a process runs on the numpy loops before the compiled ones take over: numba's import and
cached loops cost about 0.4 s of CPU once, then run a small batch some 20 times faster."""
_batches_started = itertools.count()


def simulate_layer(image: LayerImage, inputs_fixed: np.ndarray) -> LayerResult:
    """Simulate every batch of ``image`` on the fixed-point input vector."""
    return simulate_batches(image, inputs_fixed, simulate_batch)


def simulate_batch(image: LayerImage, batch: BatchImage, inputs: np.ndarray) -> tuple[BatchResult, np.ndarray]:
    config = image.config
    columns = np.flatnonzero(inputs)
    starts = batch.pointers[:, columns]  # (pes, K): each PE's columns in broadcast order, one row per PE
    counts = batch.pointers[:, columns + 1] - starts
    cost = np.maximum(counts, config.empty_column_cycles)
    vector = next(_batches_started) < VECTOR_BATCHES
    timing = (config.fifo_depth, config.broadcast_latency, config.pointer_stage_cycles)
    scheduled = vector_kernels.schedule(cost, *timing) if vector else None
    if scheduled is None:
        scheduled = _compiled().schedule(cost, cost == 0, *timing)
    finish, last_cycle, stall = scheduled
    t_issue = last_cycle + 1 if columns.size else 0
    accumulators = np.zeros((config.n_pes, max(pe.n_rows for pe in batch.pes)), dtype=np.int64)
    for pe, pe_image in enumerate(batch.pes):
        accumulators[pe, :pe_image.n_rows] = pe_image.bias
    low, high = config.acc_range
    arguments = (batch.entries, batch.entry_offsets, starts, counts, inputs[columns].astype(np.int64),
                 image.codebook.astype(np.int64), accumulators, config.code_bits, config.weight_frac, low, high)
    rows = vector_kernels.accumulate(*arguments) if vector else None
    if rows is None:
        compiled = _compiled()
        with compiled.threads_for(int(counts.sum())):
            first_row, last_row = compiled.accumulate(*arguments)
            line_reads, bypasses = compiled.activity(starts, counts, finish, first_row, last_row, config.entries_per_line)
    else:
        first_row, last_row = rows
        line_reads, bypasses = vector_kernels.activity(starts, counts, finish, first_row, last_row, config.entries_per_line)
    sums = np.empty(batch.n_rows, dtype=np.int64)
    for pe, pe_image in enumerate(batch.pes):
        sums[pe::config.n_pes] = accumulators[pe, :pe_image.n_rows]
    counters = _counters(image, batch, columns.size, int(counts.sum()), line_reads, bypasses)
    cycles = t_issue + config.pipeline_latency + batch.writeback_cycles
    busy = cost.sum(axis=1) if columns.size else np.zeros(config.n_pes, dtype=np.int64)
    result = BatchResult(row_start=batch.row_start, n_rows=batch.n_rows, cycles=cycles, t_issue=t_issue,
                         stall_cycles=stall, busy=busy.astype(np.int64), counters=counters)
    return result, write_back(sums, image.relu, config)


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


def _compiled():
    """The compiled loops, imported (with numba) on first use."""
    from accel.sim import compiled_kernels
    return compiled_kernels

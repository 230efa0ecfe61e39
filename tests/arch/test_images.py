"""PE memory images: layout rules of accel/arch/images.py against a dense reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.arch.config import ArchConfig
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer

CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def layer_from_codes(codes: np.ndarray) -> QuantizedLayer:
    return QuantizedLayer(codes=codes, codebook=CODEBOOK)


def single_pe_column(rows: list[int], codes: list[int], height: int = 40):
    matrix = np.zeros((height, 1), dtype=np.int64)
    matrix[rows, 0] = codes
    image = build_layer_image(layer_from_codes(matrix), ArchConfig(n_pes=1))
    pe = image.batches[0].pes[0]
    return pe.codes(image.config).tolist(), pe.relative_indices(image.config).tolist(), image


def test_paper_worked_example():
    codes, rel, _ = single_pe_column([2, 3, 22], [1, 2, 3])
    assert codes == [1, 2, 0, 3]
    assert rel == [2, 0, 15, 2]


@pytest.mark.parametrize("gap, paddings", [(14, 0), (15, 0), (16, 1), (31, 1), (32, 2), (47, 2), (48, 3)])
def test_padding_at_exact_gap_boundaries(gap, paddings):
    codes, rel, _ = single_pe_column([gap], [5], height=64)
    assert codes == [0] * paddings + [5]
    assert rel == [15] * paddings + [gap - 16 * paddings]


def test_rows_interleave_over_pes_and_pointer_banks():
    codes = np.zeros((8, 3), dtype=np.int64)
    codes[5, 0] = 7   # PE 1, local row 1
    codes[1, 2] = 9   # PE 1, local row 0
    image = build_layer_image(layer_from_codes(codes), ArchConfig(n_pes=4))
    pe1 = image.batches[0].pes[1]
    assert pe1.pointers.tolist() == [0, 1, 1, 2]
    assert pe1.codes(image.config).tolist() == [7, 9]
    assert pe1.relative_indices(image.config).tolist() == [1, 0]
    assert pe1.even_bank().tolist() == [0, 1] and pe1.odd_bank().tolist() == [1, 2]
    assert all(pe.n_rows == 2 for pe in image.batches[0].pes)


def test_line_packing_puts_first_entry_in_low_bits():
    codes = np.zeros((9, 1), dtype=np.int64)
    codes[:, 0] = np.arange(1, 10) % 16
    image = build_layer_image(layer_from_codes(codes), ArchConfig(n_pes=1))
    lines = image.batches[0].pes[0].lines(image.config)
    assert len(lines) == 2
    assert lines[0] == int.from_bytes(bytes(range(1, 9)), "little")
    assert lines[1] == 9


def test_batches_split_rows_by_register_file_size():
    codes = np.ones((21, 2), dtype=np.int64)
    image = build_layer_image(layer_from_codes(codes), ArchConfig(n_pes=2, regfile_entries=4))
    assert [(b.row_start, b.n_rows) for b in image.batches] == [(0, 8), (8, 8), (16, 5)]
    assert image.batches[2].writeback_cycles == 3


def test_capacity_problems_name_the_memory():
    codes = np.ones((64, 64), dtype=np.int64)
    image = build_layer_image(layer_from_codes(codes), ArchConfig(n_pes=1, spmat_sram_bytes=1024))
    assert any("sparse-matrix SRAM" in problem for problem in image.capacity_problems())
    assert build_layer_image(layer_from_codes(codes), ArchConfig(n_pes=4)).capacity_problems() == []


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 90), cols=st.integers(1, 12), n_pes=st.integers(1, 9),
       density=st.floats(0, 1), regfile=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_images_decode_to_the_dense_codes(rows, cols, n_pes, density, regfile, seed):
    rng = np.random.default_rng(seed)
    codes = (rng.random((rows, cols)) < density) * rng.integers(1, 16, (rows, cols))
    image = build_layer_image(layer_from_codes(codes), ArchConfig(n_pes=n_pes, regfile_entries=regfile))
    assert np.array_equal(image.dense_codes(), codes)
    real = sum(int(np.count_nonzero(pe.codes(image.config))) for b in image.batches for pe in b.pes)
    assert real == np.count_nonzero(codes)
    for batch in image.batches:
        for pe in batch.pes:
            assert pe.pointers[0] == 0 and pe.pointers[-1] == pe.entries.size
            assert np.all(np.diff(pe.pointers) >= 0)


def test_layout_and_fast_simulation_do_not_depend_on_the_thread_count(monkeypatch):
    import numba

    from accel.sim import compiled_kernels, fast
    from accel.sim.fast import simulate_layer

    monkeypatch.setattr(compiled_kernels, "PARALLEL_ENTRIES", 0)  # a small layer on every thread, not only large ones
    monkeypatch.setattr(fast, "VECTOR_BATCHES", 0)  # the compiled loops, whose threads are the question

    rng = np.random.default_rng(1)
    codes = (rng.random((700, 333)) < 0.1) * rng.integers(1, 16, (700, 333))
    inputs = rng.integers(-32000, 32000, 333) * (rng.random(333) < 0.5)
    config = ArchConfig(n_pes=16, regfile_entries=64, acc_bits=16)  # narrow accumulators: saturation order matters
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = build_layer_image(layer_from_codes(codes), config)
        single_run = simulate_layer(single, inputs)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        shared = build_layer_image(layer_from_codes(codes), config)
        shared_run = simulate_layer(shared, inputs)
    finally:
        numba.set_num_threads(threads)
    for one, many in zip(single.batches, shared.batches):
        assert np.array_equal(one.entries, many.entries) and np.array_equal(one.pointers, many.pointers)
    assert np.array_equal(single_run.outputs, shared_run.outputs) and single_run.cycles == shared_run.cycles
    assert single_run.counters == shared_run.counters


@pytest.mark.parametrize("rows, cols, density", [(10, 128, 0.4), (300, 784, 0.08), (40, 7, 1.0)])
def test_memories_sized_to_a_layer_hold_it_and_no_less_would(rows, cols, density):
    from accel.arch.images import memories_for

    rng = np.random.default_rng(rows)
    codes = (rng.random((rows, cols)) < density) * rng.integers(1, 16, (rows, cols))
    layer = layer_from_codes(codes)
    sized = memories_for(build_layer_image(layer, ArchConfig(n_pes=4, regfile_entries=16)))
    image = build_layer_image(layer, sized)
    assert all(not image.capacity_problems([batch]) for batch in image.batches)
    for smaller in ({"spmat_sram_bytes": sized.spmat_sram_bytes // 2}, {"ptr_sram_bytes": sized.ptr_sram_bytes // 2}):
        if min(smaller.values()) >= 1:
            tight = build_layer_image(layer, sized.replace(**smaller))
            assert any(tight.capacity_problems([batch]) for batch in tight.batches)

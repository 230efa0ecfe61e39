"""The simulators against the timing rules (hand-worked cases), each other, and the numpy model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.sim import fast, reference
from accel.sim.numpy_model import fixed_point_forward

CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def run_both(layer, inputs, config):
    image = build_layer_image(layer, config)
    slow, quick = reference.simulate_layer(image, inputs), fast.simulate_layer(image, inputs)
    assert np.array_equal(slow.outputs, quick.outputs)
    assert slow.to_dict() == quick.to_dict()
    return slow


def test_one_pe_fifo_depth_one_by_hand():
    # Columns cost 2, 1 (empty) and 1 cycles; a push in t can be popped from t + 2. Broadcasts at 0,
    # 3, 6 (the queue is full at 1, 2, 4, 5); pops at 2, 5, 8; the last column occupies cycle 9, so
    # T_issue = 10 and 10 + 8 + 4 rows = 22.
    codes = np.zeros((4, 3), dtype=np.int64)
    codes[0, 0], codes[1, 0], codes[2, 2] = 1, 2, 3
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256, 256]), ArchConfig(n_pes=1, fifo_depth=1, broadcast_latency=0))
    batch = result.batches[0]
    assert (batch.t_issue, batch.stall_cycles, batch.cycles) == (10, 4, 22)
    assert batch.busy.tolist() == [4]
    assert result.counters["spmat_line_reads"] == 1 and result.counters["ptr_reads"] == 3


def test_registered_broadcast_by_hand():
    # The first layer with broadcast_latency=1: a broadcast in t reaches the PE in t + 1, and the
    # central unit sees a pop in s only from s + 2 on. Broadcasts at 0, 5, 10; pushes at 1, 6, 11;
    # pops at 3, 8, 13; the last column occupies cycle 14: T_issue 15, 8 stall cycles.
    codes = np.zeros((4, 3), dtype=np.int64)
    codes[0, 0], codes[1, 0], codes[2, 2] = 1, 2, 3
    config = ArchConfig(n_pes=1, fifo_depth=1, broadcast_latency=1)
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256, 256]), config)
    batch = result.batches[0]
    assert (batch.t_issue, batch.stall_cycles, batch.cycles, batch.busy.tolist()) == (15, 8, 15 + 8 + 4, [4])


def test_dropped_empty_column_by_hand():
    # The same layer with empty_column_cycles=0: a column can be popped three cycles after its push,
    # and the empty one is dropped then. Broadcasts at 0, 4 (dropped at 7) and 8; pops at 3 and 11;
    # the last column occupies cycle 12, so T_issue = 13 with 6 stall cycles.
    codes = np.zeros((4, 3), dtype=np.int64)
    codes[0, 0], codes[1, 0], codes[2, 2] = 1, 2, 3
    config = ArchConfig(n_pes=1, fifo_depth=1, empty_column_cycles=0, broadcast_latency=0)
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256, 256]), config)
    batch = result.batches[0]
    assert (batch.t_issue, batch.stall_cycles, batch.busy.tolist()) == (13, 6, [3])


def test_registered_length_by_hand():
    # The same layer with length_register=1: popped three cycles after its push like a dropped column,
    # but the empty column is popped (at 7) and costs its cycle (8). Broadcasts at 0, 4 and 8; pops at
    # 3, 7 and 11; the last column occupies cycle 12, so T_issue = 13 with 6 stall cycles, 4 busy.
    codes = np.zeros((4, 3), dtype=np.int64)
    codes[0, 0], codes[1, 0], codes[2, 2] = 1, 2, 3
    config = ArchConfig(n_pes=1, fifo_depth=1, length_register=1, broadcast_latency=0)
    assert config.pointer_stage_cycles == 3
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256, 256]), config)
    batch = result.batches[0]
    assert (batch.t_issue, batch.stall_cycles, batch.busy.tolist()) == (13, 6, [4])


def test_two_pes_fifo_depth_one_by_hand():
    # PE 0 (global rows 0, 2, 4) has columns of 3, 0, 1 entries; PE 1 (rows 1, 3, 5) of 1, 2, 0.
    # Broadcasts at 0, 3, 6 (stalls at 1, 2, 4, 5); PE 0 pops at 2, 5, 8, PE 1 at 2, 5, 8;
    # both finish at 9, so T_issue = 10 and the batch takes 10 + 8 + 3 rows = 21 cycles.
    codes = np.zeros((6, 3), dtype=np.int64)
    codes[[0, 2, 4], 0] = 1
    codes[4, 2] = 2
    codes[1, 0] = 3
    codes[[3, 5], 1] = 4
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 512, 768]), ArchConfig(n_pes=2, fifo_depth=1, broadcast_latency=0))
    batch = result.batches[0]
    assert (batch.t_issue, batch.stall_cycles, batch.cycles) == (10, 4, 21)
    assert batch.busy.tolist() == [5, 4] and batch.efficiency == pytest.approx(9 / 20)
    assert result.counters == {"broadcasts": 3, "lnzd_reads": 3, "fifo_pushes": 6, "fifo_pops": 6, "ptr_reads": 6,
                               "spmat_line_reads": 2, "codebook_reads": 7, "multiplies": 7, "adds": 7, "acc_reads": 7,
                               "acc_writes": 7, "bypasses": 0, "writebacks": 6,
                               "act_sram_reads": 0, "act_sram_writes": 0}


def test_line_reads_skip_the_line_just_read():
    # Two entries per line: column 0 spans addresses 0..4 (lines 0, 1, 2), column 1 address 5 (line 2 again).
    codes = np.zeros((6, 2), dtype=np.int64)
    codes[:5, 0] = 1
    codes[5, 1] = 2
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256]), ArchConfig(n_pes=1, line_bits=16))
    assert result.counters["spmat_line_reads"] == 3


def test_batches_run_one_after_the_other():
    # One local row per PE: rows 0-1 form batch 0, row 2 batch 1; each batch broadcasts both inputs.
    codes = np.ones((3, 2), dtype=np.int64)
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256]),
                      ArchConfig(n_pes=2, regfile_entries=1, broadcast_latency=0))
    assert [(b.row_start, b.n_rows) for b in result.batches] == [(0, 2), (2, 1)]
    # Each batch: pops at 2 and 3, last occupied cycle 4: T_issue 5, + 8 drain + 1 write-back.
    assert [b.cycles for b in result.batches] == [14, 14] and result.cycles == 28
    assert result.counters["broadcasts"] == 4 and result.counters["lnzd_reads"] == 4


def test_activation_sram_accesses_are_counted_by_both_simulators():
    # 2 PEs x 2 register-file entries hold 4 of the 10 inputs; 5 rows make two batches (4 + 1).
    # Each batch reads the 6 other inputs from the activation SRAM; only the first batch's 4 outputs spill.
    result = run_both(QuantizedLayer(codes=np.ones((5, 10), dtype=np.int64), codebook=CODEBOOK), np.full(10, 256),
                      ArchConfig(n_pes=2, regfile_entries=2))
    assert [b.counters["act_sram_reads"] for b in result.batches] == [6, 6]
    assert [b.counters["act_sram_writes"] for b in result.batches] == [4, 0]


def test_saturation_order_matters():
    # 64 + 64 saturates at 127.996 (16-bit accumulator), then -64: 63.996, not the unsaturated 64.
    config = ArchConfig(n_pes=1, acc_bits=16)
    codebook = np.r_[0.0, np.linspace(-4, 4, 15)]  # code 1 = -4.0, code 15 = +4.0
    layer = QuantizedLayer(codes=np.array([[15, 15, 1]]), codebook=codebook, relu=False)
    inputs = quantize_activations(np.full(3, 16.0), config)
    result = run_both(layer, inputs, config)
    assert result.outputs.tolist() == [32767 - 16384]
    assert fixed_point_forward(layer, inputs, config).tolist() == [32767 - 16384]


def test_deep_fifo_never_stalls_and_zero_inputs_are_skipped():
    codes = np.ones((2, 6), dtype=np.int64)
    inputs = np.array([256, 0, 256, 0, 0, 256])
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), inputs, ArchConfig(n_pes=2, fifo_depth=8, broadcast_latency=0))
    batch = result.batches[0]
    # Pops at 2, 3, 4 (each column one entry per PE); last occupied cycle 5.
    assert (batch.t_issue, batch.stall_cycles, result.counters["broadcasts"]) == (6, 0, 3)
    assert batch.cycles == 6 + 8 + 1


def test_all_zero_inputs_take_only_drain_and_write_back():
    layer = QuantizedLayer(codes=np.ones((10, 4), dtype=np.int64), codebook=CODEBOOK, bias=np.full(10, -0.5))
    result = run_both(layer, np.zeros(4, dtype=np.int64), ArchConfig(n_pes=4, broadcast_latency=0))
    assert result.cycles == 0 + 8 + 3
    assert result.outputs.tolist() == [0] * 10  # ReLU of the negative bias


def test_bypass_counted_when_a_row_is_hit_in_adjacent_cycles():
    codes = np.zeros((3, 2), dtype=np.int64)
    codes[2, 0] = codes[2, 1] = 5
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256, 256]), ArchConfig(n_pes=1, fifo_depth=4))
    assert result.counters["bypasses"] == 1


def test_saturation_matches_numpy_model():
    config = ArchConfig(n_pes=2, acc_bits=18)
    codes = np.full((4, 30), 15, dtype=np.int64)
    codes[1] = 1  # most negative centroid
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-7.9, 7.9, 15)], relu=False)
    inputs = quantize_activations(np.full(30, 100.0), config)
    result = run_both(layer, inputs, config)
    assert np.array_equal(result.outputs, fixed_point_forward(layer, inputs, config))
    assert result.outputs.max() == 32767 and result.outputs.min() == -32768


@settings(max_examples=150, deadline=None)
@given(rows=st.integers(1, 100), cols=st.integers(1, 30), density=st.floats(0, 1), act_density=st.floats(0, 1),
       n_pes=st.integers(1, 256), depth=st.integers(1, 256), regfile=st.sampled_from([1, 3, 64]),
       acc_bits=st.sampled_from([16, 32]), line_bits=st.sampled_from([8, 16, 64]), latency=st.sampled_from([0, 4]),
       empty=st.sampled_from([0, 1]), register=st.sampled_from([0, 1]), broadcast=st.sampled_from([0, 1, 2]), relu=st.booleans(), scale=st.sampled_from([1.0, 50.0]), seed=st.integers(0, 2**20))
def test_reference_and_fast_agree_and_match_numpy(rows, cols, density, act_density, n_pes, depth, regfile, acc_bits,
                                                  line_bits, latency, empty, register, broadcast, relu, scale, seed):
    rng = np.random.default_rng(seed)
    codes = (rng.random((rows, cols)) < density) * rng.integers(1, 16, (rows, cols))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-4, 4, 15)], bias=rng.standard_normal(rows) * scale, relu=relu)
    config = ArchConfig(n_pes=n_pes, fifo_depth=depth, regfile_entries=regfile, acc_bits=acc_bits, line_bits=line_bits,
                        pipeline_latency=latency, empty_column_cycles=empty, length_register=register,
                        broadcast_latency=broadcast)
    inputs = quantize_activations(rng.standard_normal(cols) * scale * (rng.random(cols) < act_density), config)
    result = run_both(layer, inputs, config)
    assert np.array_equal(result.outputs, fixed_point_forward(layer, inputs, config))
    assert all(type(value) is int for value in result.counters.values())


def test_padding_chains_cost_cycles():
    codes = np.zeros((64, 1), dtype=np.int64)
    codes[63, 0] = 3  # 63 zeros: three padding entries, then the weight
    result = run_both(QuantizedLayer(codes=codes, codebook=CODEBOOK), np.array([256]), ArchConfig(n_pes=1, broadcast_latency=0))
    assert result.counters["multiplies"] == 4
    assert result.batches[0].t_issue == 3 + 4  # popped at 2, entries at 3..6


def test_fixed_point_result_is_close_to_float():
    rng = np.random.default_rng(3)
    codes = (rng.random((64, 200)) < 0.2) * rng.integers(1, 16, (64, 200))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-0.5, 0.5, 15)], relu=False)
    config = ArchConfig(n_pes=8)
    values = rng.random(200)
    inputs = quantize_activations(values, config)
    outputs = fast.simulate_layer(build_layer_image(layer, config), inputs).outputs / 256
    assert np.max(np.abs(outputs - layer.forward(values))) < 0.05


def test_wrong_input_length_is_a_clear_error():
    from accel.arch.errors import UserError
    image = build_layer_image(QuantizedLayer(codes=np.ones((2, 3), dtype=int), codebook=CODEBOOK), ArchConfig(n_pes=1))
    with pytest.raises(UserError, match="takes 3 inputs"):
        fast.simulate_layer(image, np.ones(4, dtype=np.int64))


def test_medium_synthetic_layer_multi_batch():
    from accel.arch.benchmarks import BenchmarkLayer, synthetic_inputs, synthetic_layer
    spec = BenchmarkLayer("medium", 400, 300, 0.1, 0.4, 0, 0, 0, 0, 1.0, 1.0)
    config = ArchConfig(n_pes=16, fifo_depth=4, regfile_entries=8)
    layer = synthetic_layer(spec, seed=4)
    inputs = synthetic_inputs(spec, config, seed=4)
    result = run_both(layer, inputs, config)
    assert len(result.batches) == 3 and result.stall_cycles > 0 and 0.5 < result.efficiency < 1
    assert np.array_equal(result.outputs, fixed_point_forward(layer, inputs, config))

"""The numpy loops agree with the compiled ones and the reference simulator, and decline where they must."""

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer
from accel.sim import compiled_kernels, fast, reference, vector_kernels


def _run(image, inputs, monkeypatch, vector: bool):
    monkeypatch.setattr(fast, "VECTOR_BATCHES", 10 ** 9 if vector else 0)
    return fast.simulate_layer(image, inputs)


@pytest.mark.parametrize("seed", range(16))
def test_numpy_and_compiled_loops_give_the_reference_results(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 300), int(rng.choice([6, 9, 200]))  # some with fewer columns than queue slots
    density = rng.choice([0.02, 0.1, 0.5])
    codes = (rng.random((rows, cols)) < density) * rng.integers(1, 16, (rows, cols))
    inputs = rng.integers(-2000, 2000, cols) * (rng.random(cols) < rng.choice([0.1, 0.5, 1.0]))
    config = ArchConfig(n_pes=int(rng.choice([1, 4, 16, 64])), fifo_depth=int(rng.choice([1, 2, 8])),
                        broadcast_latency=int(rng.integers(0, 3)), regfile_entries=64, empty_column_cycles=int(rng.integers(2)),
                        acc_bits=int(rng.choice([16, 32])), length_register=int(rng.integers(2)))
    layer = QuantizedLayer(codes=codes, codebook=np.r_[0.0, np.linspace(-1, 1, 15)], relu=bool(rng.integers(2)))
    image = build_layer_image(layer, config)
    expected = reference.simulate_layer(image, inputs).to_dict()
    assert _run(image, inputs, monkeypatch, vector=True).to_dict() == expected
    assert _run(image, inputs, monkeypatch, vector=False).to_dict() == expected


def test_dropped_columns_and_possible_saturation_go_to_the_compiled_loops(monkeypatch):
    cost = np.array([[1, 0, 2]])
    assert vector_kernels.schedule(cost, 2, 1, 2) is None
    entries = np.array([1, 1], dtype=np.int32)  # two entries of code 1 on rows 0 and 1
    accumulators = np.array([[100, 0]], dtype=np.int64)
    arguments = (entries, np.array([0, 2]), np.array([[0]]), np.array([[2]]), np.array([64]), np.array([0, 256]),
                 accumulators, 4, 8, -128, 127)
    assert vector_kernels.accumulate(*arguments) is None  # 100 + 64 could pass 127
    assert accumulators.tolist() == [[100, 0]]  # left alone for the compiled loop
    first_row, last_row = compiled_kernels.accumulate(*arguments)
    assert accumulators.tolist() == [[127, 64]]


def test_the_schedule_falls_back_past_its_rounds_and_is_exact_within_them(monkeypatch):
    """PEs slow in turn and one-entry queues: the stalls move from PE to PE, a round at a time."""
    rng = np.random.default_rng(5)
    cost = rng.integers(1, 9, (4, 300))
    expected = compiled_kernels.schedule(cost, cost == 0, 1, 1, 2)
    monkeypatch.setattr(vector_kernels, "MAX_ROUNDS", 1)
    assert vector_kernels.schedule(cost, 1, 1, 2) is None
    monkeypatch.setattr(vector_kernels, "MAX_ROUNDS", 10 ** 4)
    finish, last, stall = vector_kernels.schedule(cost, 1, 1, 2)
    assert np.array_equal(finish, expected[0]) and (last, stall) == expected[1:] and stall > 0


@pytest.mark.parametrize("columns", [1, 5, 7, 8, 9])
def test_fewer_broadcasts_than_queue_slots(columns):
    cost = np.arange(1, 2 * columns + 1).reshape(2, columns)
    finish, last, stall = vector_kernels.schedule(cost, 8, 1, 2)
    expected = compiled_kernels.schedule(cost, cost == 0, 8, 1, 2)
    assert np.array_equal(finish, expected[0]) and (last, stall) == expected[1:]

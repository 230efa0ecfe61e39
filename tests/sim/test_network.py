"""Chained layers: each layer's fixed-point outputs are the next layer's inputs; cycles add up."""

import numpy as np
import pytest

from accel.arch.config import ArchConfig
from accel.arch.energy import EnergyTable
from accel.arch.errors import UserError
from accel.arch.fixed_point import quantize_activations
from accel.arch.layer import QuantizedLayer
from accel.sim.network import network_totals, run_network
from accel.sim.numpy_model import fixed_point_forward

CODEBOOK = np.r_[0.0, np.linspace(-1, 1, 15)]


def _layer(rows, cols, seed, name):
    rng = np.random.default_rng(seed)
    codes = (rng.random((rows, cols)) < 0.3) * rng.integers(1, 16, (rows, cols))
    return QuantizedLayer(codes=codes, codebook=CODEBOOK, bias=rng.standard_normal(rows) * 0.1, name=name)


def test_chain_feeds_outputs_forward_and_sums_cycles():
    config = ArchConfig(n_pes=4, regfile_entries=8)
    layers = [_layer(50, 30, 0, "a"), _layer(20, 50, 1, "b"), _layer(5, 20, 2, "c")]
    values = np.random.default_rng(9).random(30)
    runs = run_network(layers, values, config, EnergyTable.load(), check=True)
    expected = quantize_activations(values, config)
    for layer, run in zip(layers, runs):
        expected = fixed_point_forward(layer, expected, config)
        assert np.array_equal(run.result.outputs, expected)
        assert run.check["numpy_model_bit_exact"] and run.check["max_abs_error"] < 0.05
    total = network_totals(runs)
    assert total["cycles"] == sum(run.result.cycles for run in runs)
    assert total["latency_us"] == pytest.approx(total["cycles"] / 800)
    assert total["energy"]["EIE (SRAM)"]["total_pJ"] == pytest.approx(sum(run.eie.total_pj for run in runs))


def test_mismatched_chain_is_refused():
    with pytest.raises(UserError, match="has 50 outputs but 'b' takes 40"):
        run_network([_layer(50, 30, 0, "a"), _layer(20, 40, 1, "b")], np.ones(30), ArchConfig(), EnergyTable.load())
    with pytest.raises(UserError, match="takes 30 inputs"):
        run_network([_layer(50, 30, 0, "a")], np.ones(31), ArchConfig(), EnergyTable.load())

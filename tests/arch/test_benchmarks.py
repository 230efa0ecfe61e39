"""The nine EIE benchmark layers and the seeded synthetic generator."""

import numpy as np
import pytest

from accel.arch.benchmarks import (
    BENCHMARK_LAYERS,
    BenchmarkLayer,
    benchmark_layer,
    synthetic_input_values,
    synthetic_inputs,
    synthetic_layer,
    work_matched_layer,
)
from accel.arch.config import ArchConfig
from accel.arch.errors import UserError
from accel.arch.images import build_layer_image
from accel.arch.layer import QuantizedLayer

SMALL = BenchmarkLayer("small", 300, 200, 0.1, 0.3, 0, 0, 0, 0, 1.0, 1.0)


def test_table_values_from_the_paper():
    assert [spec.name for spec in BENCHMARK_LAYERS] == ["Alex-6", "Alex-7", "Alex-8", "VGG-6", "VGG-7", "VGG-8",
                                                        "NT-We", "NT-Wd", "NT-LSTM"]
    alex6 = benchmark_layer("alex-6")
    assert (alex6.inputs, alex6.outputs, alex6.weight_density, alex6.act_density) == (9216, 4096, 0.09, 0.351)
    assert (alex6.eie_theoretical_us, alex6.eie_actual_us, alex6.cpu_dense_us) == (28.1, 30.3, 7516.2)
    assert benchmark_layer("NT-We").eie_actual_us == 8.0
    with pytest.raises(UserError, match="choose one of Alex-6"):
        benchmark_layer("Alex-9")


def test_synthetic_layer_has_the_exact_density_and_uniform_codes():
    layer = synthetic_layer(SMALL, seed=3)
    assert layer.codes.shape == (200, 300) and layer.nnz == round(0.1 * 300 * 200)
    counts = np.bincount(layer.codes[layer.codes > 0], minlength=16)
    assert counts[0] == 0 and np.all(counts[1:] > 0.5 * layer.nnz / 15)
    assert layer.codebook[0] == 0 and np.allclose(layer.codebook[1:], -layer.codebook[:0:-1])  # symmetric
    assert layer.relu and "synthetic" in layer.notes["weights"]


def test_generator_is_deterministic_per_seed():
    assert np.array_equal(synthetic_layer(SMALL, seed=1).codes, synthetic_layer(SMALL, seed=1).codes)
    assert not np.array_equal(synthetic_layer(SMALL, seed=1).codes, synthetic_layer(SMALL, seed=2).codes)
    assert np.array_equal(synthetic_input_values(SMALL, 5), synthetic_input_values(SMALL, 5))


@pytest.mark.parametrize("spec", [spec for spec in BENCHMARK_LAYERS if spec.inputs <= 4096])
def test_inputs_stay_non_zero_in_fixed_point(spec):
    values = synthetic_input_values(spec, seed=0)
    inputs = synthetic_inputs(spec, ArchConfig(), seed=0)
    assert np.count_nonzero(values) == np.count_nonzero(inputs) == round(spec.act_density * spec.inputs)
    assert values.min() >= 0


@pytest.mark.parametrize("theoretical_us", [0.3, 0.6])
def test_work_matched_layer_issues_the_papers_theoretical_work(theoretical_us):
    config = ArchConfig(n_pes=8, clock_mhz=100.0)
    spec = BenchmarkLayer("small", 300, 200, 0.1, 0.3, 0, 0, 0, 0, theoretical_us, 1.0)
    layer = work_matched_layer(spec, config, seed=5)
    target = theoretical_us * config.clock_mhz * config.n_pes  # 240 or 480 entries
    active = synthetic_input_values(spec, seed=5) != 0
    issued = build_layer_image(QuantizedLayer(codes=layer.codes[:, active], codebook=layer.codebook), config).total_entries
    assert target <= issued <= target + 3
    assert np.count_nonzero(layer.codes) == round(0.1 * 300 * 200)  # the layer's density is kept
    assert np.array_equal(layer.codes, work_matched_layer(spec, config, seed=5).codes)


def test_work_matched_layer_with_every_input_active_moves_the_density():
    config = ArchConfig(n_pes=8, clock_mhz=100.0)
    spec = BenchmarkLayer("dense-acts", 100, 80, 0.1, 1.0, 0, 0, 0, 0, 1.2, 1.0)
    layer = work_matched_layer(spec, config)
    assert np.count_nonzero(layer.codes) >= 960 > round(0.1 * 100 * 80)
    impossible = BenchmarkLayer("too-much", 100, 80, 0.1, 1.0, 0, 0, 0, 0, 100.0, 1.0)
    with pytest.raises(UserError, match="less than the paper's theoretical work"):
        work_matched_layer(impossible, config)

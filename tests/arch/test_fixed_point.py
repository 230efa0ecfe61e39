"""The fixed-point rules of accel/arch/TIMING.md (Arithmetic) at their edges: exact halves and extremes."""

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import quantize_activations, quantize_bias, quantize_codebook, scaled_product

CONFIG = ArchConfig()


def test_exact_halves_round_up_not_to_even():
    # k + 0.5 steps: half-up gives k + 1 for every k (to-even would give 2 for 2.5 and -2 for -1.5).
    halves = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5])
    expected = [1, 2, 3, 4, 0, -1, -2, -3]
    assert quantize_activations(halves / (1 << CONFIG.act_frac), CONFIG).tolist() == expected
    assert quantize_codebook(halves / (1 << CONFIG.weight_frac), CONFIG).tolist() == expected
    assert quantize_bias(halves / (1 << CONFIG.act_frac), CONFIG).tolist() == expected


def test_product_rounding_halves_up_and_extremes_are_exact():
    half = 1 << (CONFIG.weight_frac - 1)
    # (3 * half) / 2^frac = 1.5 -> 2; (5 * half) -> 2.5 -> 3; negative halves round up too.
    assert scaled_product(np.array([3, 5, -3, -5]), np.array([half] * 4), CONFIG).tolist() == [2, 3, -1, -2]
    low, high = CONFIG.act_range
    wlow, whigh = CONFIG.weight_range
    products = scaled_product(np.array([low, low, high]), np.array([wlow, whigh, whigh]), CONFIG)
    assert products.tolist() == [(low * wlow + half) >> CONFIG.weight_frac, (low * whigh + half) >> CONFIG.weight_frac,
                                 (high * whigh + half) >> CONFIG.weight_frac]
    assert products[0] == 1 << (CONFIG.act_bits + CONFIG.weight_bits - 2 - CONFIG.weight_frac)  # 2^30 / 2^12

"""The accelerator's fixed-point number formats (rules in ``accel/arch/TIMING.md``, section Arithmetic)."""

from __future__ import annotations

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.errors import UserError


def to_fixed(values: np.ndarray, frac_bits: int, value_range: tuple[int, int]) -> np.ndarray:
    """Round to nearest (halves up) at ``frac_bits`` fractional bits, then saturate."""
    scaled = np.floor(np.asarray(values, dtype=np.float64) * (1 << frac_bits) + 0.5)
    if np.isnan(scaled).any():
        raise UserError("a value to convert to fixed point is NaN; check the inputs, codebook and bias for NaN")
    return np.clip(scaled, *value_range).astype(np.int64)


def quantize_activations(values: np.ndarray, config: ArchConfig) -> np.ndarray:
    """Float activations -> signed ``act_bits`` integers with ``act_frac`` fractional bits."""
    return to_fixed(values, config.act_frac, config.act_range)


def quantize_codebook(values: np.ndarray, config: ArchConfig) -> np.ndarray:
    """Float codebook -> signed ``weight_bits`` integers with ``weight_frac`` fractional bits."""
    return to_fixed(values, config.weight_frac, config.weight_range)


def quantize_bias(values: np.ndarray, config: ArchConfig) -> np.ndarray:
    """Float biases -> accumulator format (``act_frac`` fractional bits, ``acc_bits`` wide)."""
    return to_fixed(values, config.act_frac, config.acc_range)


def scaled_product(activation: np.ndarray, weight: np.ndarray, config: ArchConfig) -> np.ndarray:
    """Product of activation and codebook value, shifted back to activation format (halves up)."""
    product = np.asarray(activation, dtype=np.int64) * np.asarray(weight, dtype=np.int64)
    if config.weight_frac == 0:
        return product
    return (product + (1 << (config.weight_frac - 1))) >> config.weight_frac


def saturating_add(accumulator: np.ndarray, addend: np.ndarray, config: ArchConfig) -> np.ndarray:
    return np.clip(np.asarray(accumulator, dtype=np.int64) + addend, *config.acc_range)


def write_back(accumulator: np.ndarray, relu: bool, config: ArchConfig) -> np.ndarray:
    """Accumulator -> output activation: optional ReLU, then saturation to ``act_bits``."""
    values = np.asarray(accumulator, dtype=np.int64)
    if relu:
        values = np.maximum(values, 0)
    return np.clip(values, *config.act_range)


def from_fixed(values: np.ndarray, frac_bits: int) -> np.ndarray:
    return np.asarray(values, dtype=np.float64) / (1 << frac_bits)

"""Independent numpy model of the accelerator's fixed-point arithmetic, from the dense code matrix.

It knows nothing of PEs, images or cycles: it applies the arithmetic rules of accel/TIMING.md
column by column. The simulators must match it bit for bit.
"""

from __future__ import annotations

import numpy as np

from accel.config import ArchConfig
from accel.fixed_point import quantize_bias, quantize_codebook, saturating_add, scaled_product, write_back
from accel.layer import QuantizedLayer


def fixed_point_forward(layer: QuantizedLayer, inputs_fixed: np.ndarray, config: ArchConfig) -> np.ndarray:
    """Outputs in activation fixed point, accumulated in broadcast order with saturation."""
    codebook = quantize_codebook(layer.codebook, config)
    bias = np.zeros(layer.rows) if layer.bias is None else layer.bias
    accumulator = quantize_bias(bias, config)
    inputs = np.asarray(inputs_fixed, dtype=np.int64)
    for column in np.flatnonzero(inputs):
        rows = np.flatnonzero(layer.codes[:, column])
        products = scaled_product(inputs[column], codebook[layer.codes[rows, column]], config)
        accumulator[rows] = saturating_add(accumulator[rows], products, config)
    return write_back(accumulator, layer.relu, config)

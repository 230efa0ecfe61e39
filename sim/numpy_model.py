"""Independent numpy model of the accelerator's fixed-point arithmetic, from the dense code matrix.

It knows nothing of PEs, images or cycles: it applies the arithmetic rules of accel/arch/TIMING.md
column by column. The simulators must match it bit for bit. ``float_error`` measures how far
the fixed-point outputs are from the float layer (``QuantizedLayer.forward``).
"""

from __future__ import annotations

import numpy as np

from accel.arch.config import ArchConfig
from accel.arch.fixed_point import from_fixed, quantize_bias, quantize_codebook, saturating_add, scaled_product, write_back
from accel.arch.layer import QuantizedLayer


def fixed_point_forward(layer: QuantizedLayer, inputs_fixed: np.ndarray, config: ArchConfig) -> np.ndarray:
    """Outputs in activation fixed point, accumulated in broadcast order with saturation."""
    codebook = quantize_codebook(layer.codebook, config)
    bias = np.zeros(layer.rows) if layer.bias is None else layer.bias
    accumulator = quantize_bias(bias, config)
    inputs = np.asarray(inputs_fixed, dtype=np.int64)
    columns = np.flatnonzero(inputs)
    by_column = np.ascontiguousarray(layer.codes[:, columns].T)  # the non-zero inputs' columns, each one row
    for column, codes in zip(columns, by_column):
        rows = np.flatnonzero(codes)
        products = scaled_product(inputs[column], codebook[codes[rows]], config)
        accumulator[rows] = saturating_add(accumulator[rows], products, config)
    return write_back(accumulator, layer.relu, config)


def float_error(layer: QuantizedLayer, inputs_fixed: np.ndarray, outputs_fixed: np.ndarray,
                config: ArchConfig) -> dict[str, float]:
    """Fixed-point outputs against the float layer on the same inputs (max and RMS error, in output units)."""
    sparse = layer.sparse_codes()
    rows = np.repeat(np.arange(layer.rows), np.diff(sparse.row_begin))
    products = layer.codebook[sparse.codes] * from_fixed(np.asarray(inputs_fixed), config.act_frac)[sparse.columns]
    expected = np.bincount(rows, weights=products, minlength=layer.rows)
    if layer.bias is not None:
        expected = expected + layer.bias
    if layer.relu:
        expected = np.maximum(expected, 0.0)
    error = from_fixed(outputs_fixed, config.act_frac) - expected
    return {"max_abs_error": float(np.max(np.abs(error))), "rms_error": float(np.sqrt(np.mean(error ** 2))),
            "max_abs_float_output": float(np.max(np.abs(expected)))}

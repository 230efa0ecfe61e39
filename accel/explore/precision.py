"""Arithmetic precision vs accuracy and multiplier energy for a compressed network's FC layers.

Formats: 32-bit float, and k-bit fixed point (k = 32, 16, 8) for weights (the codebook values)
and activations alike. Integer bits are fixed from the *training* set before the test set is
seen: the weights' from the largest codebook magnitude, the activations' from the largest
activation of the float network over the training images (inputs and every layer's output), one
sign bit each; the rest are fractional bits. Products are exact and accumulated exactly (an
accumulator wide enough for any sum); each layer's output is rounded half up and saturated to
the activation format. Sums are taken in float64, exact for 8 and 16 bits; at 32 bits float64
keeps 53 of the up to 64 product bits, far below the 32-bit format's own rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accel.arch.energy import EnergyTable
from accel.arch.layer import QuantizedLayer

FIXED_WIDTHS = (32, 16, 8)


@dataclass(frozen=True)
class FixedFormat:
    bits: int
    frac: int

    def quantize(self, values: np.ndarray) -> np.ndarray:
        scale = 2.0 ** self.frac
        low, high = -(2.0 ** (self.bits - 1)), 2.0 ** (self.bits - 1) - 1
        return np.clip(np.floor(np.asarray(values, dtype=np.float64) * scale + 0.5), low, high) / scale


def integer_bits(largest: float) -> int:
    """Bits left of the binary point (sign included) to hold +-``largest``."""
    return 1 + max(0, math.ceil(math.log2(largest + 1e-12))) if largest > 0 else 1


def float_forward(layers: list[QuantizedLayer], images: np.ndarray, record: list[float] | None = None) -> np.ndarray:
    """The network in float32; ``record`` collects the largest activation magnitude at each layer's input and output."""
    x = images.astype(np.float32)
    for layer in layers:
        if record is not None:
            record.append(float(np.abs(x).max()))
        weights = layer.dense_weights().astype(np.float32)
        x = x @ weights.T + (0 if layer.bias is None else layer.bias.astype(np.float32))
        if layer.relu:
            x = np.maximum(x, 0)
    if record is not None:
        record.append(float(np.abs(x).max()))
    return x


def fixed_forward(layers: list[QuantizedLayer], images: np.ndarray, act: FixedFormat, weight: FixedFormat) -> np.ndarray:
    x = act.quantize(images)
    for layer in layers:
        weights = weight.quantize(layer.codebook)[layer.codes]
        bias = 0 if layer.bias is None else act.quantize(layer.bias)
        x = x @ weights.T + bias
        if layer.relu:
            x = np.maximum(x, 0)
        x = act.quantize(x)
    return x


def precision_study(layers: list[QuantizedLayer], train_images: np.ndarray, test_images: np.ndarray,
                    test_labels: np.ndarray, table: EnergyTable) -> list[dict]:
    """Test accuracy and the energy of one multiply for float32 and each fixed-point width."""
    largest: list[float] = []
    float_forward(layers, train_images, record=largest)
    act_int = integer_bits(max(largest))
    weight_int = integer_bits(max(float(np.abs(layer.codebook).max()) for layer in layers))
    labels = np.asarray(test_labels)
    accuracy = lambda logits: float(100 * np.mean(np.argmax(logits, axis=1) == labels))  # noqa: E731
    rows = [{"format": "32-bit float", "bits": 32, "act_frac": "", "weight_frac": "",
             "accuracy_pct": accuracy(float_forward(layers, test_images)),
             "multiply_pJ": table.actions["float_mult_32"], "multiply_source": "float_mult_32"}]
    for bits in FIXED_WIDTHS:
        act, weight = FixedFormat(bits, bits - act_int), FixedFormat(bits, bits - weight_int)
        rows.append({"format": f"{bits}-bit fixed", "bits": bits, "act_frac": act.frac, "weight_frac": weight.frac,
                     "accuracy_pct": accuracy(fixed_forward(layers, test_images, act, weight)),
                     "multiply_pJ": table.int_mult(bits), "multiply_source": "int_mult rule (quadratic in width)"})
    base = rows[0]["accuracy_pct"]
    for row in rows:
        row["accuracy_loss_points"] = base - row["accuracy_pct"]
        row["activation_integer_bits"], row["weight_integer_bits"] = act_int, weight_int
    return rows


def lenet_precision(model_path: str | Path, data_dir: str | Path, table: EnergyTable) -> list[dict]:
    """The precision study on a compressed model file and an IDX data set (Fashion-MNIST by default)."""
    from accel.models.datasets import load_idx_dataset
    from accel.models.export import layers_from_compressed_file

    layers = layers_from_compressed_file(model_path)
    data = load_idx_dataset(data_dir)
    flat = lambda images: images.reshape(len(images), -1).numpy()  # noqa: E731
    return precision_study(layers, flat(data.train_images), flat(data.test_images), data.test_labels.numpy(), table)
